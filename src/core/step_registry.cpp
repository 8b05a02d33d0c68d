// StepRegistry and plugin loading.
#include "stpipe/core/step_registry.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>

#include "stpipe/core/step.h"
#include "stpipe/util/error.h"

namespace stpipe {

void StepRegistry::add(std::function<std::unique_ptr<Step>()> factory) {
  auto proto = factory();
  StepClassInfo info;
  info.name = proto->class_name();
  info.aliases = proto->aliases();
  info.doc = proto->doc();
  info.is_pipeline = proto->is_pipeline();
  info.factory = std::move(factory);
  if (info.name.empty()) throw ConfigError("A step class must have a name");
  if (lookup_.count(info.name)) {
    throw ConfigError("Step class '" + info.name + "' is already registered");
  }
  for (const auto& a : info.aliases) {
    if (lookup_.count(a)) {
      throw ConfigError("Alias '" + a + "' of step class '" + info.name + "' is already used by '" +
                        lookup_[a] + "'");
    }
  }
  lookup_[info.name] = info.name;
  for (const auto& a : info.aliases) lookup_[a] = info.name;
  classes_.emplace(info.name, std::move(info));
}

const StepClassInfo* StepRegistry::find(const std::string& name) const {
  if (const auto* info = find_registered(name)) return info;
  auto* self = const_cast<StepRegistry*>(this);
  if (!resolver_ && name.find('.') != std::string::npos && this == &StepRegistry::global()) {
    ensure_python_bridge(*self);
  }
  if (resolver_) {
    resolver_(*self, name);
    return find_registered(name);
  }
  return nullptr;
}

const StepClassInfo* StepRegistry::find_registered(const std::string& name) const {
  auto it = lookup_.find(name);
  if (it != lookup_.end()) return &classes_.at(it->second);
  // "pkg::alias" scoping and dotted Python names: match the last component.
  std::string last = name;
  if (auto p = last.rfind("::"); p != std::string::npos) last = last.substr(p + 2);
  if (auto p = last.rfind('.'); p != std::string::npos) last = last.substr(p + 1);
  if (last != name) {
    it = lookup_.find(last);
    if (it != lookup_.end()) return &classes_.at(it->second);
  }
  return nullptr;
}

const StepClassInfo& StepRegistry::get(const std::string& name) const {
  if (const auto* info = find(name)) return *info;
  throw ConfigError("'" + name + "' is not a path to a config file or a registered step class");
}

std::unique_ptr<Step> StepRegistry::create(const std::string& name) const {
  return get(name).factory();
}

std::vector<const StepClassInfo*> StepRegistry::classes() const {
  std::vector<const StepClassInfo*> out;
  for (const auto& [n, info] : classes_) out.push_back(&info);
  return out;
}

StepRegistry& StepRegistry::global() {
  static StepRegistry* registry = [] {
    auto* r = new StepRegistry();
    register_builtin_steps(*r);
    return r;
  }();
  return *registry;
}

void load_plugin(StepRegistry& registry, const std::string& path) {
  static std::recursive_mutex mutex;
  static std::set<std::pair<const StepRegistry*, std::string>> loaded;
  std::lock_guard lock(mutex);
  std::error_code ec;
  std::string key = std::filesystem::weakly_canonical(path, ec).string();
  if (loaded.count({&registry, key})) return;
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = ::dlerror();
    throw ConfigError("Cannot load plugin '" + path + "': " + (err ? err : "unknown error"));
  }
  using Fn = void (*)(StepRegistry&);
  auto fn = reinterpret_cast<Fn>(::dlsym(handle, "stpipe_register_steps"));
  if (!fn) {
    throw ConfigError("Plugin '" + path + "' does not export stpipe_register_steps");
  }
  fn(registry);
  loaded.insert({&registry, key});
}

bool ensure_python_bridge(StepRegistry& registry) {
  static std::mutex mutex;
  static bool tried = false, loaded = false;
  std::lock_guard lock(mutex);
  if (tried) return loaded;
  tried = true;
  if (const char* off = std::getenv("STPIPE_NO_PYTHON_BRIDGE"); off && *off) return false;
  Dl_info info{};
  if (!::dladdr(reinterpret_cast<void*>(&ensure_python_bridge), &info) || !info.dli_fname)
    return false;
  std::filesystem::path lib =
      std::filesystem::path(info.dli_fname).parent_path() / "libstpipe_python_bridge.so";
  std::error_code ec;
  if (!std::filesystem::exists(lib, ec)) return false;
  load_plugin(registry, lib.string());
  loaded = true;
  return true;
}

void load_plugins_from_env(StepRegistry& registry) {
  const char* env = std::getenv("STPIPE_PLUGIN_PATH");
  if (!env || !*env) return;
  std::stringstream ss(env);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir, ec)) {
      load_plugin(registry, dir);
      continue;
    }
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::string> libs;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".so") libs.push_back(e.path().string());
    }
    std::sort(libs.begin(), libs.end());
    for (const auto& l : libs) load_plugin(registry, l);
  }
}

}  // namespace stpipe
