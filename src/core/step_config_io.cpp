// stpipe step_config parameter files (.asdf through the ASDF library, .yaml as plain YAML).
#include "core/step_config_io.h"

#include "stpipe/asdf/step_config.h"
#include "stpipe/asdf/yaml.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe {

namespace fs = std::filesystem;

namespace {

/// step_config form {class, name, parameters, steps: [...]} -> ConfigObj-shaped tree.
config::Tree to_config_tree(const asdf::Json& sc) {
  config::Tree t = config::Tree::object();
  if (sc.contains("name")) t["name"] = sc["name"];
  if (sc.contains("class")) t["class"] = sc["class"];
  if (sc.contains("parameters")) {
    for (auto it = sc["parameters"].begin(); it != sc["parameters"].end(); ++it) t[it.key()] = *it;
  }
  if (sc.contains("steps") && sc["steps"].is_array()) {
    config::Tree steps = config::Tree::object();
    for (const auto& s : sc["steps"]) {
      config::Tree sub = to_config_tree(s);
      std::string n = sub.value("name", std::string());
      sub.erase("name");
      sub.erase("class");
      steps[n] = sub;
    }
    t["steps"] = steps;
  }
  return t;
}

/// get_pars tree -> step_config form; sub-steps keep their step_defs order.
asdf::Json to_step_config(const std::string& cls, const std::string& name,
                          const config::Tree& pars) {
  asdf::Json sc = asdf::Json::object();
  sc["class"] = cls;
  sc["name"] = name;
  asdf::Json params = asdf::Json::object();
  for (auto it = pars.begin(); it != pars.end(); ++it) {
    if (it.key() != "steps") params[it.key()] = *it;
  }
  sc["parameters"] = params;
  if (pars.contains("steps") && !pars["steps"].empty()) {
    asdf::Json steps = asdf::Json::array();
    for (auto it = pars["steps"].begin(); it != pars["steps"].end(); ++it) {
      // Sub-step classes are not known from the tree alone; callers pass "class" inside.
      std::string sub_cls = it->value("__class__", std::string());
      config::Tree sub = *it;
      sub.erase("__class__");
      steps.push_back(to_step_config(sub_cls, it.key(), sub));
    }
    sc["steps"] = steps;
  }
  return sc;
}

}  // namespace

config::Tree load_step_config_yaml(const fs::path& path) {
  asdf::Json sc;
  if (path.extension() == ".asdf") {
    sc = asdf::read_step_config(path);
  } else {
    auto doc = asdf::parse_yaml(read_text_file(path), path.string());
    sc = asdf::step_config_from_tree(doc.tree, path.string());
  }
  return to_config_tree(sc);
}

void write_step_config_yaml(const fs::path& path, const std::string& class_name,
                            const std::string& name, const config::Tree& pars) {
  asdf::Json sc = to_step_config(class_name, name, pars);
  if (path.extension() == ".asdf") {
    asdf::write_step_config(path, sc);
  } else {
    asdf::validate_step_config(sc, path.string());
    write_text_atomically(path, asdf::emit_yaml(sc));
  }
}

}  // namespace stpipe
