// Zero-copy conversions between model Arrays and numpy arrays.
#pragma once

#include <pybind11/numpy.h>

#include "binding.h"
#include "stpipe/models/array.h"

namespace stpipe::python {

/// A numpy view of the Array's buffer (no copy); the view keeps the buffer alive.
py::array to_numpy(const models::Array& a);

/// An Array sharing a numpy array's buffer when it is C-contiguous, aligned, writeable and in
/// native byte order (no copy; the Array keeps the numpy array alive); otherwise a contiguous
/// copy. Throws py::type_error for dtypes models do not hold.
models::Array from_numpy(py::array arr);

}  // namespace stpipe::python
