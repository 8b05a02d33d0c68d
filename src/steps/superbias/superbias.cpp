// superbias kernel: one streaming pass over the cube per block of rows, the block's bias reused
// for all groups.
#include "stpipe/steps/superbias.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/detail/row_blocks.h"

namespace stpipe::steps {

namespace {
void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("superbias: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
}
}  // namespace

void subtract_superbias(const RampShape& shape, std::span<float> data,
                        std::span<std::uint32_t> pixeldq, std::span<const float> bias,
                        std::span<const std::uint32_t> bias_dq, std::span<float> zeroframe) {
  const std::int64_t npix = shape.npix();
  require_size(data.size(), shape.size(), "data");
  require_size(pixeldq.size(), npix, "pixeldq");
  require_size(bias.size(), npix, "superbias");
  require_size(bias_dq.size(), npix, "superbias dq");
  if (!zeroframe.empty()) require_size(zeroframe.size(), shape.nints * npix, "zeroframe");
  const std::int64_t ny = shape.ny, nx = shape.nx, nplanes = shape.nints * shape.ngroups;
  float* d = data.data();
  float* zf = zeroframe.empty() ? nullptr : zeroframe.data();
  const float* b = bias.data();
  const std::uint32_t* bdq = bias_dq.data();
  std::uint32_t* pdq = pixeldq.data();
  const std::int64_t rows = detail::rows_per_block(nx, ny, sizeof(float));
  const std::int64_t nblocks = (ny + rows - 1) / rows;
#pragma omp parallel
  {
    std::vector<float> brow(static_cast<std::size_t>(rows * nx));
#pragma omp for schedule(static)
    for (std::int64_t blk = 0; blk < nblocks; ++blk) {
      // Rows [y0, y0 + rows) are contiguous in every plane: one run of n pixels from r.
      const std::int64_t y0 = blk * rows;
      const std::int64_t r = y0 * nx, n = (std::min(ny, y0 + rows) - y0) * nx;
      for (std::int64_t x = 0; x < n; ++x) {
        const float v = b[r + x];
        brow[x] = std::isnan(v) ? 0.0f : v;
        pdq[r + x] |= bdq[r + x];
      }
      const float* bv = brow.data();
      for (std::int64_t p = 0; p < nplanes; ++p) {
        float* row = d + p * npix + r;
        for (std::int64_t x = 0; x < n; ++x) row[x] -= bv[x];
      }
      if (zf) {
        for (std::int64_t i = 0; i < shape.nints; ++i) {
          float* row = zf + i * npix + r;
          for (std::int64_t x = 0; x < n; ++x) row[x] = row[x] == 0.0f ? 0.0f : row[x] - bv[x];
        }
      }
    }
  }
}

}  // namespace stpipe::steps
