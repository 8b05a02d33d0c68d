// Binding of stpipe/models/array.h: model arrays cross to numpy as views of the same buffer, and
// numpy arrays are adopted without copying.
#include "stpipe/models/array.h"

#include "models/numpy_array.h"

namespace stpipe::python {

namespace {

py::dtype numpy_dtype(models::DType t) {
  if (t == models::DType::kBool8) return py::dtype("bool");
  return py::dtype(std::string(models::dtype_name(t)));
}

std::optional<models::DType> model_dtype(const py::dtype& d) {
  if (d.kind() == 'b') return models::DType::kBool8;
  std::string name = py::str(d.attr("name"));
  return models::dtype_from_name(name);
}

}  // namespace

py::array to_numpy(const models::Array& a) {
  if (a.empty()) return py::array();
  std::vector<py::ssize_t> shape(a.shape().begin(), a.shape().end());
  // The capsule owns a copy of the shared buffer pointer: the view keeps the memory alive.
  auto* keep = new std::shared_ptr<void>(a.buffer());
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<void>*>(p); });
  return py::array(numpy_dtype(a.dtype()), shape, {}, const_cast<void*>(a.raw()), base);
}

models::Array from_numpy(py::array arr) {
  auto dt = model_dtype(arr.dtype());
  if (!dt) {
    throw py::type_error("Model arrays cannot hold dtype '" + std::string(py::str(arr.dtype())) +
                         "'");
  }
  bool native = arr.dtype().attr("isnative").cast<bool>();
  int flags = py::detail::array_proxy(arr.ptr())->flags;
  bool usable = native && (flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) &&
                (flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_) &&
                (flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_);
  if (!usable) {
    arr = py::module_::import("numpy").attr("ascontiguousarray")(
        arr, arr.dtype().attr("newbyteorder")("="));
  }
  std::vector<std::int64_t> shape(arr.shape(), arr.shape() + arr.ndim());
  PyObject* owner = arr.ptr();
  Py_INCREF(owner);
  return models::Array::adopt(*dt, std::move(shape), arr.mutable_data(), [owner](void*) {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    Py_DECREF(owner);
  });
}

void wrap_array(py::module_& m) {
  m.def(
      "_roundtrip_array", [](py::array a) { return to_numpy(from_numpy(std::move(a))); },
      "numpy -> model Array -> numpy (tests: the result shares the input's memory).");
}

}  // namespace stpipe::python
