// Jump detection kernel: stcal's two-point difference cosmic-ray finder (spec section 3.9).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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
/// both ny*nx. Only `timing.nframes` and `timing.group_time` are used. Snowballs are
/// flag_large_events (below); MIRI showers are not implemented; the sigma-clipping mode (nints >=
/// minimum_sigclip_groups) follows astropy's algorithm but is not validated against stcal. Throws
/// std::invalid_argument on size mismatches.
JumpResult detect_jumps(const RampShape& shape, const ReadoutTiming& timing,
                        std::span<const float> data, std::span<std::uint8_t> groupdq,
                        std::span<std::uint32_t> pixeldq, std::span<const float> gain,
                        std::span<const float> readnoise, const JumpParams& params = {});

/// Parameters of snowball flagging (stcal flag_large_events, `expand_large_events`), in stcal's
/// units: the JWST step passes 2 * sat_expand and 2 * max_extended_radius, and
/// snowball_time_masked_next_int // group_time as persist_groups_flagged.
struct LargeEventParams {
  double min_sat_area = 1.0;           ///< pixels: smallest new saturated core considered
  double min_jump_area = 5.0;          ///< pixels: smallest jump region considered
  double expand_factor = 2.0;          ///< growth of a snowball's ellipse
  bool sat_required_snowball = true;   ///< a snowball must hold a new saturated core
  double min_sat_radius_extend = 2.5;  ///< cores wider than this grow by sat_expand
  double sat_expand = 4.0;             ///< pixels added to a core's axes (stcal's, i.e. 2x jwst's)
  std::int64_t edge_size = 25;         ///< no core needed this close to the detector edge
  double max_extended_width = 400.0;   ///< cap on a grown axis (2 x max_extended_radius)
  bool mask_persist_groups_next_int = true;  ///< flag the cores in the next integration
  std::int64_t persist_groups_flagged = 25;  ///< ... in its groups 1 .. this - 1
};

/// One region's moment ellipse as stcal describes it: centre (col, row), the minor and major
/// axis lengths minus 1 (axis1, axis2), and the orientation in degrees (scikit-image
/// regionprops conventions).
struct LargeEventEllipse {
  double col = 0, row = 0, axis1 = 0, axis2 = 0, angle = 0;
};

/// stcal flag_large_events on `groupdq` (in place, after the two-point search): per
/// integration and group >= 1, the 8-connected regions of new saturation (this group and the
/// next) and of JUMP_DET; jump regions holding a saturated core (or near the edge) are
/// snowballs, drawn grown by expand_factor as JUMP_DET where not saturated; large cores become
/// SATURATED (replacing the other bits) in this and later groups, and JUMP_DET in the first
/// groups of the next integration. Returns the number of snowballs. Throws
/// std::invalid_argument on a size mismatch.
std::int64_t flag_large_events(const RampShape& shape, std::span<std::uint8_t> groupdq,
                               const LargeEventParams& params = {});

/// The pixels (row, col) of stcal's ellipse_subim for a filled ellipse of full axes axis1 and
/// axis2 at (col, row) with the angle in degrees, as scikit-image's draw.ellipse sets them in
/// an ny x nx image.
void draw_large_event_ellipse(std::int64_t ny, std::int64_t nx, double col, double row,
                              double axis1, double axis2, double angle_deg,
                              const std::function<void(std::int64_t, std::int64_t)>& visit);

}  // namespace stpipe::steps
