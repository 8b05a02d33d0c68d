// Resolution of parameter layers against a configspec.
#include "stpipe/core/parameters.h"

#include <optional>

#include "stpipe/util/error.h"

namespace stpipe {

const char* source_name(ParamSource source) {
  switch (source) {
    case ParamSource::kDefault:
      return "default";
    case ParamSource::kReferenceFile:
      return "reference file";
    case ParamSource::kStepConfigFile:
      return "step config file";
    case ParamSource::kConfigFile:
      return "config file";
    case ParamSource::kOverride:
      return "command line";
  }
  return "?";
}

namespace {

struct LayerView {
  const config::Tree* section;  // may be null
  const ConfigLayer* layer;
};

struct Resolver {
  std::vector<std::string> errors;
  std::optional<std::string> extra;
  ResolvedParams out;

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "/" + key;
  }

  void section(const config::SpecSection& spec, const std::vector<LayerView>& views,
               const std::string& path, config::Tree& into) {
    // Unknown keys: only the first is reported, as validate does.
    for (const auto& v : views) {
      if (!v.section) continue;
      for (auto it = v.section->begin(); it != v.section->end(); ++it) {
        if (!spec.find(it.key()) && !extra) {
          extra = "Extra value '" + it.key() + "' in " + (path.empty() ? "root" : path);
        }
      }
    }
    for (const auto& e : spec.entries) {
      std::string p = join(path, e.key);
      if (e.section) {
        std::vector<LayerView> sub;
        for (const auto& v : views) {
          const config::Tree* s = nullptr;
          if (v.section && v.section->contains(e.key)) {
            const auto& node = (*v.section)[e.key];
            if (node.is_object()) {
              s = &node;
            } else {
              errors.push_back("Config parameter '" + p + "': a section was expected, not a value");
            }
          }
          sub.push_back({s, v.layer});
        }
        config::Tree child = config::Tree::object();
        section(*e.section, sub, p, child);
        into[e.key] = std::move(child);
        continue;
      }
      const config::Check& check = *e.check;
      const LayerView* winner = nullptr;
      for (auto it = views.rbegin(); it != views.rend(); ++it) {
        if (it->section && it->section->contains(e.key)) {
          winner = &*it;
          break;
        }
      }
      if (!winner) {
        if (check.has_default) {
          into[e.key] = check.default_value;
          out.sources[p] = ParamSource::kDefault;
        } else {
          errors.push_back("Config parameter '" + p + "': missing");
        }
        continue;
      }
      const auto& raw = (*winner->section)[e.key];
      if (raw.is_object()) {
        errors.push_back("Config parameter '" + p + "': a value was expected, not a section");
        continue;
      }
      try {
        into[e.key] = config::check_value(check, raw, winner->layer->context);
        out.sources[p] = winner->layer->source;
      } catch (const config::CheckError& err) {
        errors.push_back("Config parameter '" + p + "': " + err.what());
      }
    }
  }
};

}  // namespace

ResolvedParams resolve_parameters(const config::SpecSection& spec,
                                  const std::vector<ConfigLayer>& layers) {
  Resolver r;
  std::vector<LayerView> views;
  for (const auto& l : layers) views.push_back({&l.tree, &l});
  r.section(spec, views, "", r.out.values);
  if (r.extra) r.errors.push_back(*r.extra);
  if (!r.errors.empty()) {
    std::string msg;
    for (std::size_t i = 0; i < r.errors.size(); ++i) msg += (i ? "\n" : "") + r.errors[i];
    throw ConfigError(msg);
  }
  return std::move(r.out);
}

std::string format_value(const nlohmann::json& value) {
  if (value.is_null()) return "None";
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string s = "[";
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (i) s += ", ";
      s += value[i].is_string() ? "'" + value[i].get<std::string>() + "'" : format_value(value[i]);
    }
    return s + "]";
  }
  return value.dump();
}

}  // namespace stpipe
