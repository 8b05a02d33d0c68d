// libstpipe_python_bridge.so: a plugin that lets strun (a C++ program without Python) run Python
// step classes by dotted name and `module.func` hooks. It embeds the interpreter, imports the
// stpipe_cpp package and installs its class and hook resolvers on the registry.
#include <dlfcn.h>
#include <pybind11/embed.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "stpipe/core/step_registry.h"
#include "stpipe/util/error.h"

namespace py = pybind11;

namespace {

/// The folder holding the stpipe_cpp package: $STPIPE_PYTHON_PATH, else <lib>/../python.
std::string package_dir() {
  if (const char* env = std::getenv("STPIPE_PYTHON_PATH"); env && *env) return env;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&package_dir), &info) && info.dli_fname) {
    auto dir = std::filesystem::path(info.dli_fname).parent_path().parent_path() / "python";
    std::error_code ec;
    if (std::filesystem::exists(dir / "stpipe_cpp", ec)) return dir.string();
  }
  return STPIPE_PYTHON_PACKAGE_DIR;
}

void start_interpreter() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (Py_IsInitialized()) return;
    // The bridge is loaded with RTLD_LOCAL: make libpython's symbols global so that extension
    // modules (numpy, stpipe_cpp._core) resolve against it.
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&Py_Initialize), &info) && info.dli_fname) {
      ::dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    }
    py::initialize_interpreter(/*init_signal_handlers=*/false);
    {
      py::module_ sys = py::module_::import("sys");
      sys.attr("path").attr("insert")(0, package_dir());
      // Modules named `module.Class` on the command line are found in the current directory.
      sys.attr("path").attr("insert")(0, "");
    }
    // The interpreter stays up for the life of the process; other threads take the GIL when
    // they call into Python.
    PyEval_SaveThread();
  });
}

}  // namespace

extern "C" void stpipe_register_steps(stpipe::StepRegistry& registry) {
  start_interpreter();
  py::gil_scoped_acquire gil;
  try {
    py::module_ core = py::module_::import("stpipe_cpp._core");
    // Under strun the C++ handlers own the log output.
    core.attr("_set_python_logging")(false);
    core.attr("_install_resolvers")(reinterpret_cast<std::uintptr_t>(&registry));
    py::module_::import("stpipe_cpp");
  } catch (py::error_already_set& e) {
    throw stpipe::ConfigError(std::string("Python bridge: cannot import stpipe_cpp: ") + e.what());
  }
}
