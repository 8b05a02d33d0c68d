// Detector1Pipeline (calwebb_detector1): raw ramp -> rate and rateints products.
#pragma once

#include <filesystem>
#include <future>

#include "stpipe/core/step.h"

namespace stpipe {

/// Linear JWST Detector1: dq_init, saturation, ipc, superbias, reset, lastframe, linearity,
/// dark_current, jump, ramp_fit. superbias is NIR only; reset and lastframe MIRI only (recorded
/// SKIPPED otherwise). The result is the rate ImageModel (suffix "rate"); when saving, the
/// rateints CubeModel is written beside it with suffix "rateints", and the ramp before ramp_fit
/// with suffix "ramp" when save_calibrated_ramp is set.
class Detector1Pipeline : public Pipeline {
 public:
  std::string class_name() const override { return "Detector1Pipeline"; }
  std::vector<std::string> aliases() const override {
    return {"calwebb_detector1", "SloperPipeline", "jwst.pipeline.Detector1Pipeline",
            "jwst.pipeline.calwebb_detector1.Detector1Pipeline"};
  }
  std::string doc() const override {
    return "Detector-level calibration: raw ramps to count rates";
  }
  std::string spec() const override {
    return "save_calibrated_ramp = boolean(default=False)  # Save the ramp before ramp_fit "
           "(_ramp)\n"
           "suffix = string(default='rate')  # Default suffix of the final product\n";
  }
  std::vector<std::pair<std::string, std::string>> step_defs() const override;
  /// Runs the linear chain, then saves rateints (and keeps them in rateints()).
  Datum process(const Datum& input) override;

 protected:
  /// A raw (Level1bModel) file is read straight into a RampModel, its uint16 data converted to
  /// float32 while reading (what dq_init would do next), then references are prefetched.
  Datum prefetch(const Datum& input) override;
  /// Instrument branches.
  bool applies(const std::string& step_name, const Datum& input) const override;
  /// Saves the calibrated ramp just before ramp_fit when asked (save_calibrated_ramp).
  void before_step(const std::string& step_name, const Datum& input) override;
  /// Waits for the rateints save that process() started beside the rate save, and reports it.
  void wait_background_saves() override;

 private:
  // The rateints file being written on another thread while run() writes the rate file (two
  // files fill the page cache in parallel); only when no post-hook runs in between.
  std::future<void> rateints_save_;
  std::filesystem::path rateints_path_;
};

}  // namespace stpipe
