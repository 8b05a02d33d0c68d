// Binding of stpipe/core/step_registry.h: every registered class listed generically, Python step
// classes registered as C++ factories, and the resolvers importing `module.Class` / `module.func`.
#include "stpipe/core/step_registry.h"

#include <cstdint>

#include "binding.h"
#include "core/py_step.h"
#include "stpipe/core/step.h"

namespace stpipe::python {

namespace {

/// A Python object shared by C++ copies of a factory; released with the GIL held.
std::shared_ptr<py::object> hold(py::object o) {
  return std::shared_ptr<py::object>(new py::object(std::move(o)), [](py::object* p) {
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      delete p;
    } else {
      p->release();
      delete p;
    }
  });
}

/// A factory calling `make()` (a Python callable returning an unconfigured instance of a Python
/// step class); the instance is owned by C++.
std::function<std::unique_ptr<Step>()> python_factory(py::object make) {
  auto held = hold(std::move(make));
  return [held]() -> std::unique_ptr<Step> {
    py::gil_scoped_acquire gil;
    py::object obj = (*held)();
    return take_ownership(std::move(obj));
  };
}

thread_local bool t_resolving = false;

void resolve_class(StepRegistry& registry, const std::string& name) {
  if (t_resolving || !Py_IsInitialized()) return;
  t_resolving = true;
  struct Reset {
    ~Reset() { t_resolving = false; }
  } reset;
  py::gil_scoped_acquire gil;
  py::object cls;
  try {
    cls = py::module_::import("stpipe_cpp").attr("_resolve_class")(name);
  } catch (py::error_already_set& e) {
    throw ConfigError("Cannot import Python step class '" + name + "': " + e.what());
  }
  if (cls.is_none()) return;
  // The class registered itself in the global registry when it was created; other
  // registries get it here.
  if (&registry != &StepRegistry::global()) {
    try {
      registry.add(python_factory(cls.attr("_new_unconfigured")));
    } catch (const ConfigError&) {
    }
  }
}

std::unique_ptr<Step> resolve_hook(const std::string& text) {
  if (!Py_IsInitialized()) return nullptr;
  py::gil_scoped_acquire gil;
  py::object obj;
  try {
    obj = py::module_::import("stpipe_cpp").attr("_resolve_hook")(text);
  } catch (py::error_already_set& e) {
    throw ConfigError("Cannot import Python hook '" + text + "': " + e.what());
  }
  if (obj.is_none()) return nullptr;
  if (py::isinstance<py::type>(obj)) {
    return take_ownership(obj(py::arg("_unconfigured") = true));
  }
  return std::make_unique<PyFunctionStep>(obj, text);
}

}  // namespace

void install_resolvers(StepRegistry& registry) {
  registry.set_class_resolver(resolve_class);
  set_hook_resolver(resolve_hook);
}

void wrap_step_registry(py::module_& m) {
  install_resolvers(StepRegistry::global());
  m.def(
      "registered_classes",
      []() {
        py::list out;
        for (const auto* info : StepRegistry::global().classes()) {
          py::dict d;
          d["name"] = info->name;
          d["aliases"] = info->aliases;
          d["doc"] = info->doc;
          d["is_pipeline"] = info->is_pipeline;
          out.append(d);
        }
        return out;
      },
      "Every class of the global registry: name, aliases, doc, is_pipeline.");
  m.def(
      "find_class",
      [](const std::string& name) -> py::object {
        const StepClassInfo* info;
        {
          py::gil_scoped_release release;
          info = StepRegistry::global().find(name);
        }
        if (!info) return py::none();
        return py::str(info->name);
      },
      py::arg("name"), "The registered class name for a name, alias or dotted name, or None.");
  m.def(
      "_register_python_class",
      [](py::object make) { StepRegistry::global().add(python_factory(make)); }, py::arg("make"),
      "Registers a Python step class in the global registry through `make()`, which returns an "
      "unconfigured instance (ConfigError on duplicate names).");
  m.def(
      "_install_resolvers",
      [](std::uintptr_t registry) {
        install_resolvers(*reinterpret_cast<StepRegistry*>(registry));
      },
      "Installs the class and hook resolvers on a registry given by address (the strun bridge).");
  m.def(
      "load_plugin", [](const std::string& path) { load_plugin(StepRegistry::global(), path); },
      py::arg("path"), "Loads a C++ plugin library into the global registry.");
}

}  // namespace stpipe::python
