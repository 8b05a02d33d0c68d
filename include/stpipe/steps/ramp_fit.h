// Ramp fitting kernel: stcal's OLS_C fitter with optimal (Fixsen) weighting (spec section 3.10).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// Options of the OLS ramp fit; defaults are the JWST step defaults.
struct RampFitParams {
  bool suppress_one_group = true;  ///< a ramp with one good group counts as zero good groups
  bool save_opt = false;           ///< also produce the per-segment optional results
  /// Read-noise scaling as numpy 1.24 rounds it (all float32), to match the local stcal
  /// baseline bit for bit; false (default) gives the numpy-2 rounding that jwst runs today.
  bool numpy1_readnoise = false;
};

/// The inputs of one ramp fit. Arrays are C order; 2-D ones are ny*nx.
struct RampFitInputs {
  RampShape shape;
  ReadoutTiming timing;             ///< frame_time, group_time, nframes, groupgap
  int drop_frames1 = 0;             ///< meta.exposure.drop_frames1 (None -> 0)
  std::span<const float> data;      ///< DN, nints*ngroups*ny*nx
  std::span<std::uint8_t> groupdq;  ///< mutated as stcal does: one-good-group ramps get DNU
  std::span<const std::uint32_t> pixeldq;
  std::span<const float> gain;                  ///< e-/DN
  std::span<const float> readnoise;             ///< DN (CDS); not modified
  std::span<const float> average_dark_current;  ///< DN/s, ny*nx, or empty for zeros
  std::span<const float> zeroframe;             ///< nints*ny*nx, or empty when there is none
};

/// Views of one rate product: 2-D (rate) or 3-D (rateints) float32 images and uint32 DQ.
struct RateArrays {
  std::span<float> slope;
  std::span<std::uint32_t> dq;
  std::span<float> err;
  std::span<float> var_poisson;
  std::span<float> var_rnoise;
};

/// An owned rate product of `n` pixels.
struct RateProduct {
  std::vector<float> slope, err, var_poisson, var_rnoise;
  std::vector<std::uint32_t> dq;
  explicit RateProduct(std::size_t n = 0)
      : slope(n), err(n), var_poisson(n), var_rnoise(n), dq(n) {}
  RateArrays view() { return {slope, dq, err, var_poisson, var_rnoise}; }
};

/// The optional per-segment results (save_opt): arrays of (nints, max_segs, ny, nx) except
/// pedestal (nints, ny, nx) and crmag (nints, max_crs, ny, nx).
struct RampFitOptional {
  std::int64_t max_segs = 0;
  std::int64_t max_crs = 0;
  std::vector<float> slope, sigslope, var_poisson, var_rnoise, yint, sigyint, weights;
  std::vector<float> pedestal;
  std::vector<float> crmag;
};

/// Everything a fit returns.
struct RampFitResult {
  RateProduct rate;      ///< ny*nx
  RateProduct rateints;  ///< nints*ny*nx
  RampFitOptional opt;   ///< filled only with save_opt
  /// Every pixel is saturated in group 0 of every integration: stcal returns no product.
  bool all_saturated = false;
  std::int64_t scalar_pixels = 0;  ///< see RampFitStats
  std::int64_t jump_pixels = 0;    ///< see RampFitStats
};

/// Counters of one fit_ramps call.
struct RampFitStats {
  bool all_saturated = false;      ///< see RampFitResult::all_saturated
  std::int64_t scalar_pixels = 0;  ///< pixels fitted one at a time (not clean or not in a block)
  /// Ramps with one JUMP and no other flag (one integration), fitted 8 at a time in SIMD batches.
  std::int64_t jump_pixels = 0;
};

/// Rows [begin, end) of the detector (end < 0: through the last row).
struct RowRange {
  std::int64_t begin = 0;
  std::int64_t end = -1;
};

/// Fits every ramp into caller-provided outputs (rate: ny*nx, rateints: nints*ny*nx);
/// `opt` may be null unless params.save_opt. With `rows`, only the ramps of those rows are
/// fitted and only their outputs written (the arrays are still the whole detector's): every
/// ramp is fitted on its own, so fitting a detector in bands gives the same result as one call.
/// Throws std::invalid_argument on size mismatches or a row range outside the ramp.
RampFitStats fit_ramps(const RampFitInputs& in, const RampFitParams& params, const RateArrays& rate,
                       const RateArrays& rateints, RampFitOptional* opt, RowRange rows = {});

/// Convenience overload that allocates the outputs.
RampFitResult fit_ramps(const RampFitInputs& in, const RampFitParams& params = {});

/// The read noise in electrons as stcal scales it in place: rn * gain / sqrt(2 * nframes),
/// with numpy-2 (default) or numpy-1 rounding.
float scaled_readnoise(float readnoise, float gain, int nframes, bool numpy1);

}  // namespace stpipe::steps
