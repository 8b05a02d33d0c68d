// Shared declarations of the stpipe_cpp binding: one wrap function per bound header, and the
// conversions between Python objects and the core's Datum / config trees.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include "stpipe/core/product.h"
#include "stpipe/core/step_registry.h"

namespace stpipe::python {

namespace py = pybind11;

// ---- one wrap function per header ----
void wrap_error(py::module_& m);          // stpipe/util/error.h
void wrap_logging(py::module_& m);        // stpipe/log/logging.h
void wrap_product(py::module_& m);        // stpipe/core/product.h, json_product.h
void wrap_step(py::module_& m);           // stpipe/core/step.h
void wrap_step_registry(py::module_& m);  // stpipe/core/step_registry.h
void wrap_array(py::module_& m);          // stpipe/models/array.h
void wrap_datamodel(py::module_& m);      // stpipe/models/datamodel.h

// ---- conversions (GIL held) ----
/// A Python value (None, bool, int, float, str, list, tuple, dict, numpy scalar) as JSON.
/// Throws py::type_error for anything else.
nlohmann::ordered_json to_json(py::handle obj);
/// JSON as Python (dicts keep their order).
py::object from_json(const nlohmann::ordered_json& j);

/// A step argument: None, str / os.PathLike, a product (JsonProduct, DataModel), or a list.
Datum to_datum(py::handle obj);
/// A step result: None, str, the product's Python object (models as models), or a list.
py::object from_datum(const Datum& d);

/// Products of other kinds (data models) register a converter so to_datum / from_datum know them.
struct ProductConverter {
  /// Returns a product for obj, or nullptr if obj is not of this kind.
  ProductPtr (*to_product)(py::handle obj);
  /// Returns a Python object for p, or an empty object if p is not of this kind.
  py::object (*from_product)(const ProductPtr& p);
};
void add_product_converter(ProductConverter c);

/// Remembers a Python exception raised in a Python process() or hook while it travels through
/// C++ frames (as the StepError Step::run makes of it).
void stash_python_error(const py::error_already_set& e);
/// If `message` (a StepError's) carries the stashed Python exception, raises that exception
/// again in Python (original type and traceback) and returns true.
bool restore_python_error(const std::string& message);

/// Makes the C++ log level follow Python's `logging.getLogger("stpipe")` (cheap when unchanged).
void sync_log_level();

/// Installs the class and hook resolvers on `registry` (importing `module.Class` and
/// `module.func`).
void install_resolvers(StepRegistry& registry);

}  // namespace stpipe::python
