// linearity kernel: per-pixel Horner polynomial on every unsaturated group (stcal simple path).
#pragma once

#include <cstdint>
#include <span>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// stcal prepare_coefficients on `coeffs` ([ncoeff][ny*nx], modified in place; pass a copy to
/// keep the reference): pixeldq |= lin_dq; pixels with lin_dq NO_LIN_CORR, any NaN coefficient,
/// or (then) c[1] == 0 get benign coefficients [0, 1, 0, ...]; the last two cases also set
/// NO_LIN_CORR in pixeldq. Throws std::invalid_argument on size mismatch or ncoeff < 2.
void prepare_linearity_coefficients(std::span<float> coeffs, std::int64_t ncoeff,
                                    std::span<const std::uint32_t> lin_dq,
                                    std::span<std::uint32_t> pixeldq);

/// Applies the prepared polynomial (f32 Horner, r = c[n-1]*x; r = (r + c[j])*x for j = n-2..1;
/// r += c[0]) to every group not flagged SATURATED. zeroframe ([nints][ny][nx], may be empty):
/// zeros stay 0, other values are corrected. Throws std::invalid_argument on size mismatch.
void apply_linearity(const RampShape& shape, std::span<float> data,
                     std::span<const std::uint8_t> groupdq, std::span<const float> coeffs,
                     std::int64_t ncoeff, std::span<float> zeroframe = {});

/// apply_linearity on the science rows [y0, y0 + rows) only, with `coeffs` holding just those
/// rows ([ncoeff][rows][nx]): a step can stream the coefficients band by band. Throws
/// std::invalid_argument on size mismatch or rows outside the ramp.
void apply_linearity_rows(const RampShape& shape, std::span<float> data,
                          std::span<const std::uint8_t> groupdq, std::span<const float> coeffs,
                          std::int64_t ncoeff, std::int64_t y0, std::int64_t rows,
                          std::span<float> zeroframe = {});
/// stcal's read-level path (jwst uses it when the LINEARITY reference has inverse coefficients,
/// nframes > 1 and there are no read times), with read pattern rp[g] = g*nf+1 .. g*nf+nf:
/// per pixel, a rate from the linearised first and last unsaturated groups, reads predicted in
/// f64, un-linearised with `inv_coeffs`, shifted to match the group, linearised read by read
/// and averaged (f64, rounded to f32 once). SATURATED groups keep their values. Both
/// coefficient sets must already be prepared. zeroframe uses the simple path. Unvalidated
/// against stcal vectors beyond the unit test. Throws std::invalid_argument on size mismatch,
/// ngroups < 2 or nframes < 1.
void apply_linearity_read_level(const RampShape& shape, std::span<float> data,
                                std::span<const std::uint8_t> groupdq,
                                std::span<const float> coeffs, std::int64_t ncoeff,
                                std::span<const float> inv_coeffs, std::int64_t ninv, int nframes,
                                std::span<float> zeroframe = {});

/// prepare_linearity_coefficients followed by apply_linearity (coeffs modified in place).
void correct_linearity(const RampShape& shape, std::span<float> data,
                       std::span<const std::uint8_t> groupdq, std::span<std::uint32_t> pixeldq,
                       std::span<float> coeffs, std::int64_t ncoeff,
                       std::span<const std::uint32_t> lin_dq, std::span<float> zeroframe = {});

}  // namespace stpipe::steps
