// DQInitStep: the dq_init Step wrapper (JWST class DQInitStep, cal_step "dq_init") around the
// dq_init kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Initialize the DQ arrays from the MASK reference
class DQInitStep : public Step {
 public:
  std::string class_name() const override { return "DQInitStep"; }
  std::vector<std::string> aliases() const override {
    return {"dq_init", "jwst.dq_init.DQInitStep", "jwst.dq_init.dq_init_step.DQInitStep"};
  }
  std::string doc() const override { return "Initialize the DQ arrays from the MASK reference"; }
  std::vector<std::string> reference_file_types() const override { return {"mask"}; }
  std::string cal_step_key() const override { return "dq_init"; }
  std::string spec() const override {
    return "user_supplied_dq = string(default=None)  # Path to a 2-D DQ FITS file ORed into the "
           "mask\n";
  }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
