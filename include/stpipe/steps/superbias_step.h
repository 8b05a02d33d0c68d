// SuperBiasStep: the superbias Step wrapper (JWST class SuperBiasStep, cal_step "superbias") around
// the superbias kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Subtract the superbias
class SuperBiasStep : public Step {
 public:
  std::string class_name() const override { return "SuperBiasStep"; }
  std::vector<std::string> aliases() const override {
    return {"superbias", "jwst.superbias.SuperBiasStep",
            "jwst.superbias.superbias_step.SuperBiasStep"};
  }
  std::string doc() const override { return "Subtract the superbias"; }
  std::vector<std::string> reference_file_types() const override { return {"superbias"}; }
  std::string cal_step_key() const override { return "superbias"; }
  std::string spec() const override { return ""; }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
