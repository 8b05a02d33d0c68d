// register_builtin_steps: every step and pipeline built into stpipe-cpp.
#include "stpipe/core/core_steps.h"
#include "stpipe/core/crds_wiring.h"
#include "stpipe/core/model_product.h"
#include "stpipe/core/step_registry.h"
#include "stpipe/pipelines/registry.h"

namespace stpipe {

void register_builtin_steps(StepRegistry& registry) {
  install_model_opener();
  install_crds();
  register_core_steps(registry);
  register_detector1_steps(registry);
}

}  // namespace stpipe
