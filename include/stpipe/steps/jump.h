// Jump detection kernel: stcal's two-point difference cosmic-ray finder (spec section 3.9).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// Parameters of the two-point difference jump finder; defaults are the JWST step defaults.
struct JumpParams {
  double rejection_threshold = 4.0;              ///< sigma, >= 4 usable diffs
  double three_group_rejection_threshold = 6.0;  ///< sigma, used with 2 usable diffs (stcal quirk)
  double four_group_rejection_threshold = 5.0;   ///< sigma, used with 3 usable diffs (stcal quirk)
  bool flag_4_neighbors = true;                  ///< flag the 4 neighbours of strong jumps
  double max_jump_to_flag_neighbors = 1000.0;    ///< sigma, upper bound for neighbour flagging
  double min_jump_to_flag_neighbors = 10.0;      ///< sigma, lower bound for neighbour flagging
  int minimum_groups = 3;            ///< fewer usable groups: nothing is detected (stcal forces 3)
  int minimum_sigclip_groups = 100;  ///< integrations (or groups) needed for sigma clipping
  int min_diffs_single_pass = 10;    ///< usable diffs needed for the single-pass mode
  bool only_use_ints = true;         ///< sigma clip across integrations only
  double after_jump_flag_dn1 = 0.0;  ///< DN; flag groups after jumps at least this big
  double after_jump_flag_time1 = 0.0;  ///< seconds of groups to flag after such jumps
  double after_jump_flag_dn2 = 0.0;    ///< DN; second (larger) after-jump threshold
  double after_jump_flag_time2 = 0.0;  ///< seconds for the second threshold
};

/// What detect_jumps did, for logging and keywords.
struct JumpResult {
  bool skipped = false;              ///< too few usable groups: groupdq only got the cleanup
  std::int64_t primary_crs = 0;      ///< JUMP_DET bits after the iterative / single pass search
  std::int64_t neighbor_events = 0;  ///< jumps whose 4 neighbours were flagged
  std::int64_t scalar_pixels = 0;    ///< pixels that needed the full per-pixel routine
  const char* mode = "";             ///< "iterative", "single_pass", "sigma_clip" or "skipped"
};

/// Flags jumps in `groupdq` (uint8, shape) in place and ORs NO_GAIN_VALUE|DO_NOT_USE into
/// `pixeldq` (ny*nx) where gain <= 0 or NaN. `data` is DN, `gain` e-/DN and `readnoise` DN (CDS),
/// both ny*nx. Only `timing.nframes` and `timing.group_time` are used. Snowballs and showers are
/// not implemented; the sigma-clipping mode (nints >= minimum_sigclip_groups) follows astropy's
/// algorithm but is not validated against stcal. Throws std::invalid_argument on size mismatches.
JumpResult detect_jumps(const RampShape& shape, const ReadoutTiming& timing,
                        std::span<const float> data, std::span<std::uint8_t> groupdq,
                        std::span<std::uint32_t> pixeldq, std::span<const float> gain,
                        std::span<const float> readnoise, const JumpParams& params = {});

}  // namespace stpipe::steps
