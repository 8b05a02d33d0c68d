// ipc kernel: in-place convolution of every group with a 2-D or per-pixel (4-D) IPC kernel.
#pragma once

#include <cstdint>
#include <span>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// Numbers of reference rows/columns on each edge of a plane, left out of the IPC convolution.
struct RefPixelBorders {
  std::int64_t bottom = 0;  ///< rows at y = 0 ...
  std::int64_t top = 0;     ///< rows at the high-y edge
  std::int64_t left = 0;    ///< columns at x = 0 ...
  std::int64_t right = 0;   ///< columns at the high-x edge
};

/// Reference borders of a subarray as jwst get_num_ref_pixels (xstart/ystart 1-based): 4 on
/// each full-frame NIR edge; MIRI has no reference rows and its columns end at 1028.
RefPixelBorders ipc_reference_borders(bool is_miri, std::int64_t xstart, std::int64_t ystart,
                                      std::int64_t xsize, std::int64_t ysize);

/// Convolves each (int, group) plane in place with the kh x kw kernel (jwst ipc_convolve):
/// zero padding at the edge of the science region, terms summed in f32 in row-major order
/// with the centre term last, reference pixels unchanged. `kernel` is either kh*kw values
/// (2-D) or kh*kw*ny*nx (4-D, per-pixel kernel indexed at the output pixel in plane
/// coordinates). Throws std::invalid_argument on size mismatches.
void ipc_convolve(const RampShape& shape, std::span<float> data, std::span<const float> kernel,
                  std::int64_t kh, std::int64_t kw, const RefPixelBorders& borders);

}  // namespace stpipe::steps
