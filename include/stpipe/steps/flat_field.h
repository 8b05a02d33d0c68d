// flat_field kernel (imaging): divide a rate image (or cube of them) by the flat, propagate
// DQ/variances.
#pragma once

#include <cstdint>
#include <span>

namespace stpipe::steps {

/// The arrays of a rate product: `nplanes` planes of ny*nx (1 for rate, nints for rateints).
/// var_flat is an output. All spans must hold nplanes*ny*nx elements.
struct FlatFieldTarget {
  std::int64_t nplanes = 1;
  std::int64_t ny = 0;
  std::int64_t nx = 0;
  std::span<float> data;
  std::span<std::uint32_t> dq;
  std::span<float> err;
  std::span<float> var_poisson;
  std::span<float> var_rnoise;
  std::span<float> var_flat;
  /// FGS guider data (guider_cds output, jwst's GuiderCalModel): no Poisson or read-noise
  /// variances (var_poisson, var_rnoise may be empty); err = sqrt(err^2 + var_flat).
  bool guider = false;
};

/// jwst apply_flat_field (imaging) plus match_nans_and_flags: NaN or zero flats and flat DQ
/// NO_FLAT_FIELD get DO_NOT_USE|NO_FLAT_FIELD, DO_NOT_USE flats become 1; data /= flat (or *=
/// when inverse, with var_flat = 0); var_poisson, var_rnoise /= flat^2; var_flat =
/// data^2/flat^2*flat_err^2 (data already divided); err = sqrt(vp + vr + vf) (guider data:
/// sqrt(err^2 + vf)); dq |= flat dq, and NON_SCIENCE pixels get DO_NOT_USE; then every array is
/// NaN and dq gets DO_NOT_USE where any is NaN or dq has DO_NOT_USE.
/// flat, flat_dq, flat_err are 2-D (ny*nx). Throws std::invalid_argument on size mismatches.
void apply_flat_field(const FlatFieldTarget& target, std::span<const float> flat,
                      std::span<const std::uint32_t> flat_dq, std::span<const float> flat_err,
                      bool inverse = false);

}  // namespace stpipe::steps
