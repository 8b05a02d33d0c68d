// dq_init kernel (mask DQ into pixeldq/groupdq) and the reference-to-subarray cutting helper.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/ramp_shape.h"

namespace stpipe::steps {

/// A detector window in the FITS SUBSTRT/SUBSIZE convention (xstart/ystart 1-based).
struct SubarrayWindow {
  std::int64_t xstart = 1;
  std::int64_t ystart = 1;
  std::int64_t xsize = 0;
  std::int64_t ysize = 0;
};

/// True when the reference window equals the science window (no cutting needed).
inline bool ref_matches_sci(const SubarrayWindow& ref, const SubarrayWindow& sci) {
  return ref.xstart == sci.xstart && ref.ystart == sci.ystart && ref.xsize == sci.xsize &&
         ref.ysize == sci.ysize;
}

/// Cuts `ref` (nplanes planes of ref.ysize x ref.xsize, C order) to the science window, as
/// jwst's get_subarray_model: ref[..., ys:ys+ysize, xs:xs+xsize] with xs = sci.xstart -
/// ref.xstart, ys likewise. Throws std::invalid_argument if the sizes disagree or the science
/// window is not inside the reference window.
template <typename T>
std::vector<T> cut_to_subarray(std::span<const T> ref, std::int64_t nplanes,
                               const SubarrayWindow& ref_window, const SubarrayWindow& sci) {
  if (nplanes < 0 || ref_window.xsize < 0 || ref_window.ysize < 0 || sci.xsize < 0 || sci.ysize < 0)
    throw std::invalid_argument("cut_to_subarray: negative size");
  if (static_cast<std::int64_t>(ref.size()) != nplanes * ref_window.ysize * ref_window.xsize)
    throw std::invalid_argument("cut_to_subarray: reference array has " +
                                std::to_string(ref.size()) + " elements, expected " +
                                std::to_string(nplanes * ref_window.ysize * ref_window.xsize));
  const std::int64_t xs = sci.xstart - ref_window.xstart;
  const std::int64_t ys = sci.ystart - ref_window.ystart;
  if (xs < 0 || ys < 0 || xs + sci.xsize > ref_window.xsize || ys + sci.ysize > ref_window.ysize)
    throw std::invalid_argument("cut_to_subarray: science window [" + std::to_string(sci.xstart) +
                                "," + std::to_string(sci.ystart) + " size " +
                                std::to_string(sci.xsize) + "x" + std::to_string(sci.ysize) +
                                "] is not inside the reference window");
  std::vector<T> out(static_cast<std::size_t>(nplanes * sci.ysize * sci.xsize));
  for (std::int64_t p = 0; p < nplanes; ++p)
    for (std::int64_t y = 0; y < sci.ysize; ++y) {
      const T* src = ref.data() + (p * ref_window.ysize + ys + y) * ref_window.xsize + xs;
      T* dst = out.data() + (p * sci.ysize + y) * sci.xsize;
      for (std::int64_t x = 0; x < sci.xsize; ++x) dst[x] = src[x];
    }
  return out;
}

/// dq_init: pixeldq |= mask (| user_dq when given, same 2-D shape), and every group of
/// groupdq |= (mask & DO_NOT_USE). Throws std::invalid_argument on a size mismatch.
void dq_init(const RampShape& shape, std::span<std::uint8_t> groupdq,
             std::span<std::uint32_t> pixeldq, std::span<const std::uint32_t> mask,
             std::span<const std::uint32_t> user_dq = {});

}  // namespace stpipe::steps
