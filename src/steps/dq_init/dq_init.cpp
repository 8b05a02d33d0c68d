// dq_init kernel: OR the MASK reference DQ into pixeldq and its DO_NOT_USE bit into every group.
#include "stpipe/steps/dq_init.h"

#include <algorithm>

#include "stpipe/steps/dqflags.h"

namespace stpipe::steps {

namespace {
void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("dq_init: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
}
}  // namespace

void dq_init(const RampShape& shape, std::span<std::uint8_t> groupdq,
             std::span<std::uint32_t> pixeldq, std::span<const std::uint32_t> mask,
             std::span<const std::uint32_t> user_dq) {
  const std::int64_t npix = shape.npix();
  require_size(groupdq.size(), shape.size(), "groupdq");
  require_size(pixeldq.size(), npix, "pixeldq");
  require_size(mask.size(), npix, "mask");
  if (!user_dq.empty()) require_size(user_dq.size(), npix, "user_supplied_dq");
  const std::int64_t ny = shape.ny, nx = shape.nx, nplanes = shape.nints * shape.ngroups;
  const bool has_user = !user_dq.empty();
  std::uint8_t* gdq = groupdq.data();
  std::uint32_t* pdq = pixeldq.data();
  const std::uint32_t* m = mask.data();
  const std::uint32_t* u = user_dq.data();
  // Row-major over rows; each row's mask is read once and applied to every group.
#pragma omp parallel for schedule(static)
  for (std::int64_t y = 0; y < ny; ++y) {
    const std::int64_t r = y * nx;
    std::uint8_t dnu_row[4096];
    for (std::int64_t x0 = 0; x0 < nx; x0 += 4096) {
      const std::int64_t n = std::min<std::int64_t>(4096, nx - x0);
      for (std::int64_t x = 0; x < n; ++x) {
        std::uint32_t mv = m[r + x0 + x];
        if (has_user) mv |= u[r + x0 + x];
        pdq[r + x0 + x] |= mv;
        dnu_row[x] = static_cast<std::uint8_t>(mv & dq::kDoNotUse);
      }
      for (std::int64_t p = 0; p < nplanes; ++p) {
        std::uint8_t* g = gdq + p * npix + r + x0;
        for (std::int64_t x = 0; x < n; ++x) g[x] |= dnu_row[x];
      }
    }
  }
}

}  // namespace stpipe::steps
