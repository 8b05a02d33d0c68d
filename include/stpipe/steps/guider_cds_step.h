// GuiderCdsStep: the guider_cds Step wrapper (JWST class GuiderCdsStep, cal_step "guider_cds")
// around the guider_cds kernel.
#pragma once

#include <string>

#include "stpipe/core/step.h"
#include "stpipe/steps/guider_cds.h"

namespace stpipe {

/// Compute FGS count-rate images from CDS group differences
class GuiderCdsStep : public Step {
 public:
  std::string class_name() const override { return "GuiderCdsStep"; }
  std::vector<std::string> aliases() const override {
    return {"guider_cds", "jwst.guider_cds.GuiderCdsStep",
            "jwst.guider_cds.guider_cds_step.GuiderCdsStep"};
  }
  std::string doc() const override {
    return "Compute FGS count-rate images from CDS group differences";
  }
  std::vector<std::string> reference_file_types() const override { return {"gain", "readnoise"}; }
  /// jwst falls back to default gain and read noise when a reference cannot be retrieved.
  std::vector<std::string> defaulted_reference_file_types() const override {
    return {"gain", "readnoise"};
  }
  std::string cal_step_key() const override { return "guider_cds"; }
  std::string spec() const override { return ""; }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
