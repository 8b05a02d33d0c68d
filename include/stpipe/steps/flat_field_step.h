// FlatFieldStep: the flat_field Step wrapper (JWST class FlatFieldStep, cal_step "flat_field")
// around the flat_field kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Divide a rate image by the flat field
class FlatFieldStep : public Step {
 public:
  std::string class_name() const override { return "FlatFieldStep"; }
  std::vector<std::string> aliases() const override {
    return {"flat_field", "jwst.flatfield.FlatFieldStep",
            "jwst.flatfield.flat_field_step.FlatFieldStep"};
  }
  std::string doc() const override { return "Divide a rate image by the flat field"; }
  std::vector<std::string> reference_file_types() const override { return {"flat"}; }
  std::string cal_step_key() const override { return "flat_field"; }
  std::string spec() const override {
    return "save_interpolated_flat = boolean(default=False)  # Unused (spectroscopic modes)\n"
           "user_supplied_flat = string(default=None)  # A flat file used instead of the "
           "reference\n"
           "inverse = boolean(default=False)  # Multiply by the flat instead of dividing\n";
  }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
