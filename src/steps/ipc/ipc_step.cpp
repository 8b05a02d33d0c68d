// IPCStep::process: convolve every group with the IPC reference kernel (2-D or per-pixel 4-D).
#include "stpipe/steps/ipc_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/ipc.h"

namespace stpipe {

using namespace detector1;

Datum IPCStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  auto ref = open_reference(*this, "ipc", "IPCModel", {"data"});
  if (!ref->has_array("data")) {
    throw ReferenceFileError("IPC reference file '" + reference_path("ipc") + "' has no SCI array");
  }
  const auto& k = ref->array("data");
  std::vector<float> kernel;
  std::int64_t kh = 0, kw = 0;
  if (k.ndim() == 2) {
    kh = k.shape()[0];
    kw = k.shape()[1];
    auto c = k.cast(models::DType::kFloat32);
    kernel.assign(c.data<float>(), c.data<float>() + c.size());
  } else if (k.ndim() == 4) {
    kh = k.shape()[0];
    kw = k.shape()[1];
    auto cut = reference_array<float>(*ref, "data", *m);
    kernel.assign(cut.begin(), cut.end());
  } else {
    throw ReferenceFileError("IPC reference file '" + reference_path("ipc") +
                             "' kernel has shape " + k.shape_string() + ": expected 2-D or 4-D");
  }
  const auto w = science_window(*m);
  const auto borders =
      steps::ipc_reference_borders(is_miri(*m), w.xstart, w.ystart, shape.nx, shape.ny);
  steps::ipc_convolve(shape, span_of<float>(*m, "data"), kernel, kh, kw, borders);
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
