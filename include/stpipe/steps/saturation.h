// saturation kernel: threshold, A-to-D floor, readout-pattern dilution and group-2 checks (stcal).
#pragma once

#include <cstdint>
#include <span>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// Parameters of flag_saturation (jwst SaturationStep defaults).
struct SaturationOptions {
  int n_pix_grow_sat = 1;        ///< half-width of the square SAT dilation (0 = none)
  bool use_read_pattern = true;  ///< jwst use_readpatt: enables the dilution and group-2 passes
  int nframes = 1;               ///< frames per group; read pattern rp[g] = g*nf+1 .. g*nf+nf
  float atod_limit = 65535.0f;   ///< NO_SAT_CHECK pixels get threshold atod_limit + 1
  /// The group-2 test `m1` in float32 as numpy 1.x evaluates it (the golden vectors were made
  /// with numpy 1.24); false (default) gives numpy-2 semantics (float64), which jwst runs today.
  bool numpy1_promotion = false;
};

/// Flags saturation in groupdq exactly as stcal flag_saturated_pixels: sticky SAT where
/// data >= threshold, AD_FLOOR|DO_NOT_USE where data <= 0, SAT grown by n_pix_grow_sat, the
/// backward dilution pass (DO_NOT_USE), the group-2 test, and ZEROFRAME zeroing. data is not
/// modified. sat_thresh and sat_dq are updated in place like stcal does (NaN thresholds and
/// NO_SAT_CHECK pixels get atod_limit+1, NaN thresholds get NO_SAT_CHECK); then
/// pixeldq |= sat_dq. `bias` (raw superbias, 2-D) and `zeroframe` ([nints][ny][nx]) may be
/// empty. Results do not depend on the thread count. Scratch planes (up to 10 bytes per pixel)
/// are kept per calling thread and reused by later calls, to avoid first-touch page faults.
/// Throws std::invalid_argument on size mismatches or bad options.
void flag_saturation(const RampShape& shape, std::span<const float> data,
                     std::span<std::uint8_t> groupdq, std::span<std::uint32_t> pixeldq,
                     std::span<float> sat_thresh, std::span<std::uint32_t> sat_dq,
                     std::span<const float> bias, std::span<float> zeroframe,
                     const SaturationOptions& options = {});

}  // namespace stpipe::steps
