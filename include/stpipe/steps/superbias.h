// superbias kernel: subtract the superbias from every group (and ZEROFRAME), OR in its DQ.
#pragma once

#include <cstdint>
#include <span>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// d[i,g] -= bias (f32, NaN bias treated as 0, saturated groups included); pixeldq |= bias_dq;
/// zeroframe ([nints][ny][nx], may be empty): zf -= bias except where zf == 0, which stays 0.
/// Throws std::invalid_argument on size mismatches.
void subtract_superbias(const RampShape& shape, std::span<float> data,
                        std::span<std::uint32_t> pixeldq, std::span<const float> bias,
                        std::span<const std::uint32_t> bias_dq, std::span<float> zeroframe = {});

}  // namespace stpipe::steps
