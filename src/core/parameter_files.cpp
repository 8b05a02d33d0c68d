// Parameter files (.cfg ConfigObj; .asdf/.yaml step_config), --save-parameters and describe.
#include <fstream>
#include <functional>
#include <sstream>

#include "core/step_config_io.h"
#include "stpipe/config/configobj.h"
#include "stpipe/core/step.h"
#include "stpipe/util/atomic_file.h"

namespace stpipe {

namespace fs = std::filesystem;

namespace {

bool is_yaml_like(const fs::path& p) {
  auto e = p.extension().string();
  return e == ".asdf" || e == ".yaml" || e == ".yml";
}

}  // namespace

config::Tree load_config_file(const fs::path& path) {
  if (!fs::exists(path)) throw ConfigError("Config file " + path.string() + " not found.");
  if (is_yaml_like(path)) return load_step_config_yaml(path);
  config::ParseOptions opts;
  opts.source = path.string();
  opts.interpolation = true;  // stpipe reads parameter files with ConfigObj's interpolation on
  return config::read_configobj_file(path, opts);
}

namespace {
/// get_pars with each sub-step's class under "__class__" (for step_config files).
config::Tree pars_with_classes(const Step& s) {
  config::Tree pars = s.get_pars();
  if (const auto* p = dynamic_cast<const Pipeline*>(&s)) {
    for (const auto& [n, sub] : p->steps()) {
      config::Tree t = pars_with_classes(*sub);
      t["__class__"] = sub->class_name();
      pars["steps"][n] = t;
    }
  }
  return pars;
}
}  // namespace

void Step::save_parameters(const fs::path& path) const {
  config::Tree pars = get_pars();
  if (is_yaml_like(path)) {
    write_step_config_yaml(path, class_name(), name_, pars_with_classes(*this));
  } else {
    // ConfigObj has no None: a value written as None would read back as the string "None", so
    // None values are left out (they are the spec defaults of every standard parameter).
    std::function<config::Tree(const config::Tree&)> drop_none = [&](const config::Tree& in) {
      config::Tree out = config::Tree::object();
      for (auto it = in.begin(); it != in.end(); ++it) {
        if (it->is_null()) continue;
        out[it.key()] = it->is_object() ? drop_none(*it) : *it;
      }
      return out;
    };
    config::Tree t = config::Tree::object();
    t["name"] = name_;
    t["class"] = class_name();
    config::Tree body = drop_none(pars);
    for (auto it = body.begin(); it != body.end(); ++it) t[it.key()] = *it;
    write_text_atomically(path, config::write_configobj(t));
  }
  log().info("Step/Pipeline parameters saved to '{}'", path.string());
}

namespace {

void describe_section(const config::SpecSection& spec, const config::Tree& values,
                      const std::map<std::string, ParamSource>& sources, const std::string& prefix,
                      std::ostringstream& out) {
  for (const auto& e : spec.entries) {
    std::string key = prefix.empty() ? e.key : prefix + "." + e.key;
    if (e.section) {
      const config::Tree& sub = values.contains(e.key) ? values[e.key] : config::Tree::object();
      describe_section(*e.section, sub, sources, key, out);
      continue;
    }
    const auto& c = *e.check;
    out << "  --" << key << "  " << c.text;
    if (!c.help.empty()) out << "\n      " << c.help;
    out << "\n      [";
    if (c.has_default) {
      out << "default=" << format_value(c.default_value);
    } else {
      out << "required";
    }
    if (values.contains(e.key)) out << ", value=" << format_value(values[e.key]);
    std::string skey = key;
    for (auto& ch : skey) {
      if (ch == '.') ch = '/';
    }
    auto it = sources.find(skey);
    out << ", source=" << source_name(it == sources.end() ? ParamSource::kDefault : it->second)
        << "]\n";
  }
}

void collect_sources(const Step& s, const std::string& prefix,
                     std::map<std::string, ParamSource>& out) {
  const config::Tree pars = s.get_pars();
  for (auto it = pars.begin(); it != pars.end(); ++it) {
    if (it.key() == "steps") continue;
    out[prefix + it.key()] = s.source_of(it.key());
  }
  if (const auto* p = dynamic_cast<const Pipeline*>(&s)) {
    for (const auto& [n, sub] : p->steps()) collect_sources(*sub, prefix + "steps/" + n + "/", out);
  }
}

}  // namespace

std::string describe_parameters(const Step& step) {
  std::ostringstream out;
  out << step.class_name();
  if (!step.doc().empty()) out << ": " << step.doc();
  out << "\n\nParameters (--name=value; sub-steps as --steps.NAME.param=value):\n";
  std::map<std::string, ParamSource> sources;
  collect_sources(step, "", sources);
  describe_section(step.merged_spec(), step.get_pars(), sources, "", out);
  return out.str();
}

}  // namespace stpipe
