// StepRegistry: the step and pipeline classes known by name, alias or Python dotted name.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stpipe {

class Step;

/// What the registry knows of a step class without instantiating it.
struct StepClassInfo {
  std::string name;                  ///< class name, e.g. "JumpStep"
  std::vector<std::string> aliases;  ///< e.g. "jump", "jwst.jump.JumpStep"
  std::string doc;                   ///< one-line description
  bool is_pipeline = false;
  std::function<std::unique_ptr<Step>()> factory;
};

/// Registered step classes. Duplicate names or aliases are an error (ConfigError).
class StepRegistry {
 public:
  /// Registers a class through its factory; reads name, aliases and doc from one instance.
  void add(std::function<std::unique_ptr<Step>()> factory);
  template <class S>
  void add() {
    add([] { return std::unique_ptr<Step>(new S()); });
  }
  /// The class for a name, alias or dotted name (matching is exact, then case-insensitive on the
  /// last dotted component), or nullptr.
  const StepClassInfo* find(const std::string& name) const;
  /// Like find, but throws ConfigError `'<x>' is not a path to a config file or a registered
  /// step class` when unknown.
  const StepClassInfo& get(const std::string& name) const;
  /// A new, unconfigured instance of a class.
  std::unique_ptr<Step> create(const std::string& name) const;
  /// Every class, sorted by name.
  std::vector<const StepClassInfo*> classes() const;

  /// A resolver asked for names not registered (e.g. the Python bridge importing
  /// `mymodule.MyStep`); it may add classes to the registry.
  using ClassResolver = std::function<void(StepRegistry&, const std::string& name)>;
  void set_class_resolver(ClassResolver resolver) { resolver_ = std::move(resolver); }

  /// The process-wide registry, with the built-in steps registered on first use.
  static StepRegistry& global();

 private:
  std::map<std::string, StepClassInfo> classes_;  // by name
  std::map<std::string, std::string> lookup_;     // name/alias -> name
  ClassResolver resolver_;
  const StepClassInfo* find_registered(const std::string& name) const;
};

/// Loads the Python bridge (libstpipe_python_bridge.so beside libstpipe.so) into the registry
/// if it exists and is not loaded yet; returns whether it is loaded. Used for dotted names that
/// are not registered (Python step classes) and `module.func` hooks.
bool ensure_python_bridge(StepRegistry& registry);

/// Registers the steps and pipelines built into stpipe-cpp (defined with the steps).
void register_builtin_steps(StepRegistry& registry);

/// Loads a plugin shared library and calls its `extern "C" void stpipe_register_steps(
/// stpipe::StepRegistry&)`. Throws ConfigError naming the library if it cannot be loaded or
/// lacks the function. Loading the same file twice is a no-op.
void load_plugin(StepRegistry& registry, const std::string& path);

/// Loads every *.so in the directories of STPIPE_PLUGIN_PATH (colon-separated).
void load_plugins_from_env(StepRegistry& registry);

}  // namespace stpipe

/// The symbol a plugin library exports.
#define STPIPE_PLUGIN_ENTRY extern "C" void stpipe_register_steps(::stpipe::StepRegistry& registry)
