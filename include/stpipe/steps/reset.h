// reset kernel (MIRI): subtract the per-integration, per-group reset correction.
#pragma once

#include <cstdint>
#include <span>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// Shape of a RESET reference cube: [nints][ngroups][ny][nx].
struct ResetShape {
  std::int64_t nints = 0;
  std::int64_t ngroups = 0;
};

/// jwst reset_sub: for science integration i (exposure integration i + integration_start - 1)
/// and group j < min(ngroups, reset ngroups): d[i,j] -= reset[min(i+istart, rnints-1), j] (f32,
/// NaN reset values treated as 0); pixeldq |= reset_dq. Throws std::invalid_argument on size
/// mismatches or an empty reset with groups to correct.
void subtract_reset(const RampShape& shape, std::span<float> data, std::span<std::uint32_t> pixeldq,
                    std::span<const float> reset, const ResetShape& reset_shape,
                    std::span<const std::uint32_t> reset_dq, std::int64_t integration_start = 1);

}  // namespace stpipe::steps
