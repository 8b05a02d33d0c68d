// Binding of stpipe/util/error.h: each C++ error kind becomes a Python exception deriving from
// the matching builtin (ConfigError/ValidationError -> ValueError, IoError -> OSError,
// ReferenceFileError -> LookupError, StepError/Error -> RuntimeError), with the same message.
#include "stpipe/util/error.h"

#include <memory>

#include "binding.h"

namespace stpipe::python {

namespace {
// A plain pointer (GIL held when set or cleared): nothing Python is destroyed at thread exit,
// possibly after the interpreter is gone.
thread_local py::error_already_set* t_python_error = nullptr;
}  // namespace

void stash_python_error(const py::error_already_set& e) {
  delete t_python_error;
  t_python_error = new py::error_already_set(e);
}

bool restore_python_error(const std::string& message) {
  if (!t_python_error) return false;
  std::unique_ptr<py::error_already_set> e(t_python_error);
  t_python_error = nullptr;
  if (message.find(e->what()) == std::string::npos) return false;
  e->restore();
  return true;
}

void wrap_error(py::module_& m) {
  // Translators run newest first: register the root before its kinds.
  static auto& error = *new py::exception<Error>(m, "Error", PyExc_RuntimeError);
  static auto& config = *new py::exception<ConfigError>(m, "ConfigError", PyExc_ValueError);
  static auto& validation =
      *new py::exception<ValidationError>(m, "ValidationError", PyExc_ValueError);
  static auto& io = *new py::exception<IoError>(m, "IoError", PyExc_OSError);
  static auto& ref =
      *new py::exception<ReferenceFileError>(m, "ReferenceFileError", PyExc_LookupError);
  static auto& step = *new py::exception<StepError>(m, "StepError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StepError& e) {
      // An exception raised in Python code run by the step comes back as itself.
      if (!restore_python_error(e.what())) step(e.what());
    } catch (const ReferenceFileError& e) {
      ref(e.what());
    } catch (const IoError& e) {
      io(e.what());
    } catch (const ValidationError& e) {
      validation(e.what());
    } catch (const ConfigError& e) {
      config(e.what());
    } catch (const Error& e) {
      error(e.what());
    }
  });
  m.def(
      "_raise",
      [](const std::string& kind, const std::string& msg) {
        if (kind == "config") throw ConfigError(msg);
        if (kind == "validation") throw ValidationError(msg);
        if (kind == "io") throw IoError(msg);
        if (kind == "reference") throw ReferenceFileError(msg);
        if (kind == "step") throw StepError(msg);
        throw Error(msg);
      },
      "Throws a C++ error of a kind (tests of the exception mapping).");
}

}  // namespace stpipe::python
