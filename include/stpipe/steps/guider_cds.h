// guider_cds kernel: FGS count rates (and jwst's ERR) from correlated double sampling.
#pragma once

#include <cstdint>
#include <span>
#include <string>

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
/// the mean of the first 4); `out` gets nints planes. For ID modes `out` gets one plane: the
/// per-pixel minimum (NaN wins) of the differences of integrations 0 and 1, / group_time. With
/// `err` (the size of `out`), also jwst's error: sqrt(2 (rn / t)^2 + max(0, diff / (gain t))), all
/// in f32, from `gain` (e-/DN) and `readnoise` (DN), ny*nx each. Throws std::invalid_argument on
/// size mismatches, ngroups < 2 or group_time <= 0.
void guider_cds(const RampShape& shape, std::span<const float> data, double group_time,
                GuiderMode mode, std::span<float> out, std::span<const float> gain = {},
                std::span<const float> readnoise = {}, std::span<float> err = {});

/// jwst's gain (e-/DN) and read noise (DN) for guider_cds when no reference file can be had (and
/// always for the ID modes): the means of jwst_fgs_gain_0010 and jwst_fgs_readnoise_0000.
inline constexpr float kGuiderDefaultGain = 1.9713863f;
inline constexpr float kGuiderDefaultReadnoise = 21.0f;

}  // namespace steps

}  // namespace stpipe
