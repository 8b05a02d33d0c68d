// lastframe kernel (MIRI): flag the last group of every integration DO_NOT_USE.
#pragma once

#include <cstdint>
#include <span>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// groupdq[:, G-1] |= DO_NOT_USE when G > 2 and returns true; returns false (the step is
/// SKIPPED, nothing changed) otherwise. Throws std::invalid_argument on a size mismatch.
bool flag_last_frame(const RampShape& shape, std::span<std::uint8_t> groupdq);

}  // namespace stpipe::steps
