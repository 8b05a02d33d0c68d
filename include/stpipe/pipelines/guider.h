// GuiderPipeline (calwebb_guider): FGS guiding exposures -> count-rate products.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Linear: dq_init, guider_cds, flat_field; suffix "cal".
class GuiderPipeline : public Pipeline {
 public:
  std::string class_name() const override { return "GuiderPipeline"; }
  std::vector<std::string> aliases() const override {
    return {"calwebb_guider", "jwst.pipeline.GuiderPipeline",
            "jwst.pipeline.calwebb_guider.GuiderPipeline"};
  }
  std::string doc() const override {
    return "FGS guider calibration: dq_init, guider_cds, flat_field";
  }
  std::string spec() const override {
    return "suffix = string(default='cal')  # Default suffix of the final product\n";
  }
  std::vector<std::pair<std::string, std::string>> step_defs() const override {
    return {{"dq_init", "DQInitStep"},
            {"guider_cds", "GuiderCdsStep"},
            {"flat_field", "FlatFieldStep"}};
  }
};

}  // namespace stpipe
