// reset kernel: streaming in-place subtraction, one row of every plane per loop iteration.
#include "stpipe/steps/reset.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace stpipe::steps {

namespace {
void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("reset: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
}
}  // namespace

void subtract_reset(const RampShape& shape, std::span<float> data, std::span<std::uint32_t> pixeldq,
                    std::span<const float> reset, const ResetShape& rs,
                    std::span<const std::uint32_t> reset_dq, std::int64_t integration_start) {
  const std::int64_t npix = shape.npix();
  require_size(data.size(), shape.size(), "data");
  require_size(pixeldq.size(), npix, "pixeldq");
  require_size(reset.size(), rs.nints * rs.ngroups * npix, "reset data");
  require_size(reset_dq.size(), npix, "reset dq");
  if (integration_start < 1) throw std::invalid_argument("reset: integration_start must be >= 1");
  const std::int64_t ng = std::min(shape.ngroups, rs.ngroups);
  if (shape.nints > 0 && ng > 0 && rs.nints < 1)
    throw std::invalid_argument("reset: reference has no integrations");
  const std::int64_t ny = shape.ny, nx = shape.nx, istart = integration_start - 1;
  float* d = data.data();
  const float* rv = reset.data();
  std::uint32_t* pdq = pixeldq.data();
  const std::uint32_t* rdq = reset_dq.data();
#pragma omp parallel for schedule(static)
  for (std::int64_t y = 0; y < ny; ++y) {
    const std::int64_t r = y * nx;
    if (shape.nints > 0)
      for (std::int64_t x = 0; x < nx; ++x) pdq[r + x] |= rdq[r + x];
    for (std::int64_t i = 0; i < shape.nints; ++i) {
      const std::int64_t ir = std::min(i + istart, rs.nints - 1);
      for (std::int64_t j = 0; j < ng; ++j) {
        float* row = d + (i * shape.ngroups + j) * npix + r;
        const float* rr = rv + (ir * rs.ngroups + j) * npix + r;
        for (std::int64_t x = 0; x < nx; ++x) row[x] -= std::isnan(rr[x]) ? 0.0f : rr[x];
      }
    }
  }
}

}  // namespace stpipe::steps
