// RampFitStep: the ramp_fit Step wrapper (JWST class RampFitStep, cal_step "ramp_fit") around the
// ramp_fit kernel.
#pragma once

#include <memory>

#include "stpipe/core/step.h"
#include "stpipe/models/datamodel.h"
#include "stpipe/steps/ramp_fit.h"

namespace stpipe {

/// Fit ramps (OLS with optimal weighting) into rate and rateints images
/// Returns the rate ImageModel (data, dq, err, var_poisson, var_rnoise); the rateints CubeModel
/// is kept in rateints().
class RampFitStep : public Step {
 public:
  std::string class_name() const override { return "RampFitStep"; }
  std::vector<std::string> aliases() const override {
    return {"ramp_fit", "jwst.ramp_fitting.RampFitStep",
            "jwst.ramp_fitting.ramp_fit_step.RampFitStep"};
  }
  std::string doc() const override {
    return "Fit ramps (OLS with optimal weighting) into rate and rateints images";
  }
  std::vector<std::string> reference_file_types() const override { return {"readnoise", "gain"}; }
  std::string cal_step_key() const override { return "ramp_fit"; }
  std::string spec() const override {
    return "algorithm = option('OLS_C', 'OLS', default='OLS_C')  # Fitting algorithm (OLS is an "
           "alias of OLS_C here)\n"
           "int_name = string(default='')  # Unused (jwst compatibility)\n"
           "save_opt = boolean(default=False)  # Save the optional per-segment results "
           "(<root>_fitopt.fits)\n"
           "opt_name = string(default='')  # Base name of the optional output\n"
           "suppress_one_group = boolean(default=True)  # Ramps with one good group get no slope\n"
           "firstgroup = integer(default=None)  # First group used (0-based); earlier ones "
           "DO_NOT_USE\n"
           "lastgroup = integer(default=None)  # Last group used (0-based); later ones DO_NOT_USE\n"
           "maximum_cores = string(default='1')  # Cores to use; OpenMP decides here\n"
           "numpy1_readnoise = boolean(default=False)  # Read-noise scaling rounded as numpy 1.x "
           "(stcal vectors)\n";
  }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
  /// The per-integration rate product (CubeModel) of the last run, or nullptr.
  const std::shared_ptr<models::DataModel>& rateints() const { return rateints_; }

 private:
  /// Writes the save_opt results as a RampFitOutputModel (suffix fitopt).
  void save_optional(const models::DataModel& ramp, const steps::RampShape& shape,
                     steps::RampFitOptional& opt);
  std::shared_ptr<models::DataModel> rateints_;
};

}  // namespace stpipe
