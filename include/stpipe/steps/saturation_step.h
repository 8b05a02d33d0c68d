// SaturationStep: the saturation Step wrapper (JWST class SaturationStep, cal_step "saturation")
// around the saturation kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Flag saturated groups (threshold, A-to-D floor, readout pattern)
class SaturationStep : public Step {
 public:
  std::string class_name() const override { return "SaturationStep"; }
  std::vector<std::string> aliases() const override {
    return {"saturation", "jwst.saturation.SaturationStep",
            "jwst.saturation.saturation_step.SaturationStep"};
  }
  std::string doc() const override {
    return "Flag saturated groups (threshold, A-to-D floor, readout pattern)";
  }
  std::vector<std::string> reference_file_types() const override {
    return {"saturation", "superbias"};
  }
  /// Without a superbias (N/A, e.g. MIRI) the A-to-D / group-2 checks run without it, as jwst.
  std::vector<std::string> optional_reference_file_types() const override { return {"superbias"}; }
  std::string cal_step_key() const override { return "saturation"; }
  std::string spec() const override {
    return "n_pix_grow_sat = integer(default=1)  # Number of pixels each saturation flag is grown "
           "by\n"
           "use_readpatt = boolean(default=True)  # Use the readout pattern (group 2 and dilution "
           "checks)\n"
           "numpy1_promotion = boolean(default=False)  # Group-2 test in float32 as numpy 1.x "
           "(stcal vectors)\n";
  }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
