// stpipe parameter files in ASDF: reading (1.0.0 and legacy 0.1.0 layouts), validating, writing.
#include "stpipe/asdf/step_config.h"

#include <chrono>
#include <ctime>

#include "stpipe/asdf/asdf_file.h"
#include "stpipe/util/error.h"

namespace stpipe::asdf {
namespace {

void validate_node(const Json& c, const std::string& origin, const std::string& where) {
  auto fail = [&](const std::string& what) {
    throw ConfigError(origin + ": " + (where.empty() ? "" : where + ": ") + what);
  };
  if (!c.is_object()) fail("a step config must be a mapping");
  if (!c.contains("class")) fail("'class' is missing");
  if (!c["class"].is_string()) fail("'class' must be a string, got " + to_text(c["class"]));
  if (c.contains("name") && !c["name"].is_string() && !c["name"].is_null())
    fail("'name' must be a string, got " + to_text(c["name"]));
  if (!c.contains("parameters")) fail("'parameters' is missing");
  if (!c["parameters"].is_object() || tag_of(c["parameters"]))
    fail("'parameters' must be a mapping, got " + to_text(c["parameters"], 100));
  if (c.contains("steps")) {
    if (!c["steps"].is_array()) fail("'steps' must be a list");
    for (std::size_t i = 0; i < c["steps"].size(); ++i)
      validate_node(c["steps"][i], origin,
                    where + (where.empty() ? "" : ".") + "steps[" + std::to_string(i) + "]");
  }
  if (c.contains("meta") && !c["meta"].is_object()) fail("'meta' must be a mapping");
}

// Legacy 0.1.0: parameters hold class/name/pars and steps as a mapping name -> parameters.
Json from_legacy(Json parameters, const Json& name, const std::string& origin,
                 const std::string& where) {
  if (!parameters.is_object())
    throw ConfigError(origin + ": " + where + ": parameters must be a mapping");
  Json out = Json::object();
  out["class"] = parameters.contains("class") ? parameters["class"] : Json(nullptr);
  out["name"] = name;
  Json steps = parameters.contains("steps") ? parameters["steps"] : Json::object();
  parameters.erase("class");
  parameters.erase("name");
  parameters.erase("steps");
  out["parameters"] = std::move(parameters);
  if (!steps.is_object()) throw ConfigError(origin + ": legacy 'steps' must be a mapping");
  if (!steps.empty()) {
    out["steps"] = Json::array();
    for (auto it = steps.begin(); it != steps.end(); ++it)
      out["steps"].push_back(from_legacy(it.value(), Json(it.key()), origin, "steps." + it.key()));
  }
  return out;
}

Json ordered(const Json& c) {
  Json out = Json::object();
  out["class"] = c["class"];
  out["name"] = c.contains("name") ? c["name"] : Json(nullptr);
  out["parameters"] = c["parameters"];
  if (c.contains("steps") && !c["steps"].empty()) {
    out["steps"] = Json::array();
    for (const auto& s : c["steps"]) out["steps"].push_back(ordered(s));
  }
  if (c.contains("meta")) out["meta"] = c["meta"];
  return out;
}

}  // namespace

void validate_step_config(const Json& config, const std::string& origin) {
  validate_node(config, origin, "");
}

Json step_config_from_tree(const Json& tree, const std::string& origin) {
  if (!tree.is_object()) throw ConfigError(origin + ": the ASDF tree is not a mapping");
  if (!tree.contains("class") && tree.contains("parameters") && tree["parameters"].is_object() &&
      tree["parameters"].contains("class")) {
    const Json& p = tree["parameters"];
    Json legacy =
        from_legacy(p, p.contains("name") ? p["name"] : Json(nullptr), origin, "parameters");
    if (!legacy["class"].is_string())
      throw ConfigError(origin + ": legacy parameters: 'class' must be a string");
    validate_node(legacy, origin, "");
    return ordered(legacy);
  }
  validate_node(tree, origin, "");
  return ordered(tree);
}

Json read_step_config(const std::filesystem::path& path) {
  AsdfFile f = AsdfFile::open(path);
  return step_config_from_tree(f.tree(), path.string());
}

Json step_config_metadata_template(std::string_view class_name) {
  const std::string s(kSpecifyPlaceholder);
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  Json meta = Json::object();
  meta["author"] = s;
  meta["date"] = date;
  meta["description"] = "Parameters for calibration step " + std::string(class_name);
  meta["instrument"] = Json{{"name", s}};
  meta["origin"] = s;
  meta["pedigree"] = s;
  meta["reftype"] = s;
  meta["telescope"] = s;
  meta["useafter"] = s;
  return meta;
}

void write_step_config(const std::filesystem::path& path, const Json& config,
                       const WriteOptions& options) {
  validate_step_config(config, path.string());
  AsdfWriter writer(options);
  writer.write(path, ordered(config));
}

}  // namespace stpipe::asdf
