// Registration of the Detector1/Image2/Guider steps and pipelines.
#pragma once

#include "stpipe/core/step_registry.h"

namespace stpipe {

/// Adds the JWST calibration steps (DQInitStep ... FlatFieldStep, GuiderCdsStep) and
/// Detector1Pipeline, Image2Pipeline, GuiderPipeline. Throws ConfigError on duplicates.
void register_detector1_steps(StepRegistry& registry);

}  // namespace stpipe
