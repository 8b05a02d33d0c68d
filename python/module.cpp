// The stpipe_cpp._core extension module: calls every wrap function, installs the Python bridges.
#include "binding.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "C++ core of stpipe_cpp: steps, pipelines, registry, products, models, logging";
  using namespace stpipe::python;
  wrap_error(m);
  wrap_logging(m);
  wrap_product(m);
  wrap_array(m);
  wrap_datamodel(m);
  wrap_step(m);
  wrap_step_registry(m);
}
