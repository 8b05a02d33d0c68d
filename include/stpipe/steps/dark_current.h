// dark_current kernel: subtract a dark (extrapolated and frame-averaged to the science readout).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// Geometry and readout of a DARK reference: data is [nints][ngroups][ny][nx] for MIRI 4-D
/// darks (nints >= 1, four_d = true) or [ngroups][ny][nx] otherwise.
struct DarkReadout {
  bool four_d = false;
  std::int64_t nints = 1;
  std::int64_t ngroups = 0;
  int nframes = 1;
  int groupgap = 0;
};

/// Outcome of subtract_dark.
enum class DarkStatus { kComplete, kSkipped };

/// stcal dark_sub.do_correction_data on raw arrays: extrapolates the dark when the science
/// readout is longer (the dark then becomes float64, as in stcal), SKIPS (returns kSkipped,
/// nothing changed) when the dark nframes or groupgap exceed the science ones, treats NaN dark
/// values as 0, frame-averages the dark into science groups when nframes/groupgap differ
/// (sequential f32 sums then one f32 division), ORs dark_dq into pixeldq (dark_dq holds
/// `dq_planes` planes of ny*nx, ORed together, as stcal does with MIRI dq[i,0]) and subtracts
/// from every group. Integration i uses dark integration i (4-D) when i < dark nints and
/// integration_start == 1, else the last. Throws std::invalid_argument on size mismatches.
DarkStatus subtract_dark(const RampShape& shape, int sci_nframes, int sci_groupgap,
                         std::span<float> data, std::span<std::uint32_t> pixeldq,
                         std::span<const float> dark, const DarkReadout& dark_readout,
                         std::span<const std::uint32_t> dark_dq, std::int64_t dq_planes = 1,
                         std::int64_t integration_start = 1);

/// The averaged dark stcal subtracts (its `dark_output` product) as float32:
/// [dark nints][ngroups][ny][nx] (dark nints = 1 for 3-D darks); empty when the step would
/// be SKIPPED. Throws std::invalid_argument on size mismatches.
std::vector<float> averaged_dark(const RampShape& shape, int sci_nframes, int sci_groupgap,
                                 std::span<const float> dark, const DarkReadout& dark_readout);

/// The average_dark_current plane (ny*nx values) the step stores for ramp_fit, by jwst's
/// priority: the user/parameter value broadcast; else the reference's 2-D array when it has
/// npix values and a non-zero sum; else the reference's scalar keyword (0 when absent).
std::vector<float> resolve_average_dark_current(std::int64_t npix, std::optional<float> user_value,
                                                std::span<const float> ref_average,
                                                std::optional<float> ref_scalar);

/// resolve_average_dark_current written into `out` (its ny*nx values), on every thread.
void resolve_average_dark_current(std::span<float> out, std::optional<float> user_value,
                                  std::span<const float> ref_average,
                                  std::optional<float> ref_scalar);

}  // namespace stpipe::steps
