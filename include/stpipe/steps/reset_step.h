// ResetStep: the reset Step wrapper (JWST class ResetStep, cal_step "reset") around the reset
// kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Subtract the MIRI reset correction
class ResetStep : public Step {
 public:
  std::string class_name() const override { return "ResetStep"; }
  std::vector<std::string> aliases() const override {
    return {"reset", "jwst.reset.ResetStep", "jwst.reset.reset_step.ResetStep"};
  }
  std::string doc() const override { return "Subtract the MIRI reset correction"; }
  std::vector<std::string> reference_file_types() const override { return {"reset"}; }
  std::string cal_step_key() const override { return "reset"; }
  std::string spec() const override { return ""; }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
