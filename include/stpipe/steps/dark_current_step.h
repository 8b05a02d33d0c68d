// DarkCurrentStep: the dark_current Step wrapper (JWST class DarkCurrentStep, cal_step "dark_sub")
// around the dark_current kernel.
#pragma once

#include "stpipe/core/step.h"
#include "stpipe/models/datamodel.h"

namespace stpipe {

/// Subtract the dark current
class DarkCurrentStep : public Step {
 public:
  std::string class_name() const override { return "DarkCurrentStep"; }
  std::vector<std::string> aliases() const override {
    return {"dark_current", "jwst.dark_current.DarkCurrentStep",
            "jwst.dark_current.dark_current_step.DarkCurrentStep"};
  }
  std::string doc() const override { return "Subtract the dark current"; }
  std::vector<std::string> reference_file_types() const override { return {"dark"}; }
  std::string cal_step_key() const override { return "dark_sub"; }
  std::string spec() const override {
    return "dark_output = output_file(default=None)  # Name of the frame-averaged dark product to "
           "save\n"
           "average_dark_current = float(default=None)  # Average dark current (DN/s) for "
           "ramp_fit; None = from the reference\n";
  }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;

 private:
  /// The average_dark_current plane ramp_fit uses (parameter, else the reference's array, else
  /// its keyword), stored in the science model.
  void store_average_dark_current(models::DataModel& m, const models::DataModel& ref) const;
};

}  // namespace stpipe
