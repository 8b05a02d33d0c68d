// LinearityStep: the linearity Step wrapper (JWST class LinearityStep, cal_step "linearity") around
// the linearity kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Correct for detector non-linearity
class LinearityStep : public Step {
 public:
  std::string class_name() const override { return "LinearityStep"; }
  std::vector<std::string> aliases() const override {
    return {"linearity", "jwst.linearity.LinearityStep",
            "jwst.linearity.linearity_step.LinearityStep"};
  }
  std::string doc() const override { return "Correct for detector non-linearity"; }
  std::vector<std::string> reference_file_types() const override { return {"linearity"}; }
  std::string cal_step_key() const override { return "linearity"; }
  std::string spec() const override { return ""; }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
