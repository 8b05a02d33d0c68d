// register_detector1_steps: the calibration steps and the Detector1/Image2/Guider pipelines.
#include "stpipe/pipelines/detector1.h"
#include "stpipe/pipelines/guider.h"
#include "stpipe/pipelines/image2.h"
#include "stpipe/pipelines/registry.h"
#include "stpipe/steps/dark_current_step.h"
#include "stpipe/steps/dq_init_step.h"
#include "stpipe/steps/flat_field_step.h"
#include "stpipe/steps/guider_cds_step.h"
#include "stpipe/steps/ipc_step.h"
#include "stpipe/steps/jump_step.h"
#include "stpipe/steps/lastframe_step.h"
#include "stpipe/steps/linearity_step.h"
#include "stpipe/steps/ramp_fit_step.h"
#include "stpipe/steps/reset_step.h"
#include "stpipe/steps/saturation_step.h"
#include "stpipe/steps/superbias_step.h"

namespace stpipe {

void register_detector1_steps(StepRegistry& registry) {
  registry.add<DQInitStep>();
  registry.add<SaturationStep>();
  registry.add<IPCStep>();
  registry.add<SuperBiasStep>();
  registry.add<ResetStep>();
  registry.add<LastFrameStep>();
  registry.add<LinearityStep>();
  registry.add<DarkCurrentStep>();
  registry.add<JumpStep>();
  registry.add<RampFitStep>();
  registry.add<FlatFieldStep>();
  registry.add<GuiderCdsStep>();
  registry.add<Detector1Pipeline>();
  registry.add<Image2Pipeline>();
  registry.add<GuiderPipeline>();
}

}  // namespace stpipe
