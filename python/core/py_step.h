// The Step/Pipeline trampoline for Python subclasses, and the ownership hand-over between a
// Python step object and the C++ code (registry factories, pipelines) that owns it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "binding.h"
#include "stpipe/core/step.h"
#include "stpipe/util/error.h"

namespace stpipe::python {

/// What a Python step class declares (read once per instance from class attributes).
struct PyClassInfo {
  std::string class_name;
  std::vector<std::string> aliases;
  std::string spec;
  std::vector<std::string> reftypes;
  std::string cal_step_key;
  std::string doc;
  std::vector<std::pair<std::string, std::string>> step_defs;
  bool is_linear = true;
};

/// Trampoline: a C++ Step (or Pipeline) whose description and process() come from Python.
/// While C++ owns the object (after take_ownership), `owner_self` keeps its Python object alive.
template <class Base>
class PyStepT : public Base {
 public:
  using Base::Base;
  ~PyStepT() override {
    if (owner_self.ptr() && Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      owner_self = py::object();
    } else {
      owner_self.release();
    }
  }

  std::string class_name() const override { return info.class_name; }
  std::vector<std::string> aliases() const override { return info.aliases; }
  std::string spec() const override { return info.spec; }
  std::vector<std::string> reference_file_types() const override { return info.reftypes; }
  std::string cal_step_key() const override { return info.cal_step_key; }
  std::string doc() const override { return info.doc; }

  Datum process(const Datum& input) override {
    {
      py::gil_scoped_acquire gil;
      py::function f = py::get_override(static_cast<const Base*>(this), "process");
      if (f) {
        try {
          return to_datum(f(from_datum(input)));
        } catch (py::error_already_set& e) {
          stash_python_error(e);
          throw;
        }
      }
    }
    if constexpr (std::is_base_of_v<Pipeline, Base>) {
      return Pipeline::process(input);
    } else {
      throw StepError("Python step class '" + info.class_name + "' does not define process()");
    }
  }

  /// Expose the protected Step members the binding reads.
  using Base::params_;

  PyClassInfo info;
  py::object owner_self;  ///< set while C++ owns this object
};

/// The Pipeline trampoline (step_defs and linearity from Python).
class PyPipeline : public PyStepT<Pipeline> {
 public:
  std::vector<std::pair<std::string, std::string>> step_defs() const override {
    return info.step_defs;
  }
  bool is_linear() const override { return info.is_linear; }
};

using PyStep = PyStepT<Step>;

/// Moves ownership of a Python step object to C++ (GIL held): the returned pointer owns the
/// C++ object, which keeps the Python object alive until C++ deletes it.
std::unique_ptr<Step> take_ownership(py::object obj);

/// A C++-owned step as a Python object: Python objects of Python classes get their ownership
/// back (same object, same attributes); other steps get a new Python owner.
py::object give_to_python(std::unique_ptr<Step> step);

/// A hook or step running a Python function `f(input) -> result or None` (stpipe's
/// FunctionWrapper).
class PyFunctionStep : public Step {
 public:
  explicit PyFunctionStep(py::object func, std::string qualname);
  ~PyFunctionStep() override;
  std::string class_name() const override { return "FunctionWrapper"; }
  std::string doc() const override { return "Run a Python function as a step (hooks)"; }
  Datum process(const Datum& input) override;

 private:
  py::object func_;
  std::string qualname_;
};

}  // namespace stpipe::python
