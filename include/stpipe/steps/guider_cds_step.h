// GuiderCdsStep: the guider_cds Step wrapper (JWST class GuiderCdsStep, cal_step "guider_cds")
// around the guider_cds kernel.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "stpipe/core/step.h"
#include "stpipe/steps/ramp_shape.h"

namespace stpipe {

namespace steps {

/// FGS readout modes as guider_cds treats them (from meta.exposure.type).
enum class GuiderMode { kAcqTrack, kId, kFineGuide };

/// The guider mode of an EXP_TYPE: FGS_ID-IMAGE/FGS_ID-STACK -> kId, FGS_FINEGUIDE ->
/// kFineGuide, anything else (FGS_ACQ1, FGS_ACQ2, FGS_TRACK) -> kAcqTrack.
GuiderMode guider_mode(const std::string& exp_type);

/// jwst guider_cds on raw groups ([nints][ngroups][ny][nx], f32): per integration
/// (last - first group) / group_time for ACQ/TRACK (FineGuide: mean of the last 4 groups minus
/// the mean of the first 4, or of all when fewer); `out` gets nints planes. For ID modes `out`
/// gets one plane: the per-pixel minimum of the integrations' differences / group_time.
/// Throws std::invalid_argument on size mismatches, ngroups < 2 or group_time <= 0.
void guider_cds(const RampShape& shape, std::span<const float> data, double group_time,
                GuiderMode mode, std::span<float> out);

}  // namespace steps

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
  std::vector<std::string> reference_file_types() const override { return {}; }
  std::string cal_step_key() const override { return "guider_cds"; }
  std::string spec() const override { return ""; }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
