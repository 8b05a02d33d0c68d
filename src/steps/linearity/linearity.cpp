// linearity kernel: coefficient preparation and a row-blocked Horner pass (coefficients read once).
#include "stpipe/steps/linearity.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/detail/row_blocks.h"
#include "stpipe/steps/detail/simd.h"
#include "stpipe/steps/dqflags.h"

namespace stpipe::steps {

namespace {

void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("linearity: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
}

// Pixels ahead of the Horner pass that the data and groupdq runs are prefetched.
constexpr std::int64_t kPrefetchAhead = 2048;

// The runs the block traversal visits after this one (prefetch targets carry over into them).
struct NextRuns {
  const float* data = nullptr;
  const std::uint8_t* gdq = nullptr;
};

// Horner over a run of nx pixels: out[x] = poly(x) unless sat[x] (then x unchanged). Written
// with lane vectors: the conditional store keeps GCC from vectorising the plain loop without
// AVX-512 masks. The f32 operations and their order are the scalar loop's.
template <int N>
void horner_row_fixed(float* row, const std::uint8_t* gdq, const float* const* c, std::int64_t off,
                      std::int64_t nx, NextRuns next) {
  using detail::f32v;
  using detail::i32v;
  constexpr int kL = detail::kF32Lanes;
  std::int64_t x = 0;
  for (; x + kL <= nx; x += kL) {
    if (next.data) {  // one prefetch per cache line
      if ((x & 15) == 0)
        __builtin_prefetch(detail::prefetch_target(row, next.data, nx, x, kPrefetchAhead), 1);
      if ((x & 63) == 0)
        __builtin_prefetch(detail::prefetch_target(gdq, next.gdq, nx, x, kPrefetchAhead));
    }
    const f32v v = detail::load<f32v>(row + x);
    f32v r = detail::load<f32v>(c[N - 1] + off + x) * v;
    for (int j = N - 2; j >= 1; --j) {
      r = r + detail::load<f32v>(c[j] + off + x);
      r = r * v;
    }
    r = r + detail::load<f32v>(c[0] + off + x);
    const i32v sat = (detail::widen_u8(gdq + x) & static_cast<std::int32_t>(dq::kSaturated)) != 0;
    detail::store(row + x, sat ? v : r);
  }
  for (; x < nx; ++x) {
    const float v = row[x];
    float r = c[N - 1][off + x] * v;
    for (int j = N - 2; j >= 1; --j) {
      r = r + c[j][off + x];
      r = r * v;
    }
    r = r + c[0][off + x];
    row[x] = (gdq[x] & dq::kSaturated) ? v : r;
  }
}

void horner_row(float* row, const std::uint8_t* gdq, const float* const* c, std::int64_t n,
                std::int64_t off, std::int64_t nx, NextRuns next = {}) {
  switch (n) {
    case 2:
      return horner_row_fixed<2>(row, gdq, c, off, nx, next);
    case 3:
      return horner_row_fixed<3>(row, gdq, c, off, nx, next);
    case 4:
      return horner_row_fixed<4>(row, gdq, c, off, nx, next);
    case 5:
      return horner_row_fixed<5>(row, gdq, c, off, nx, next);
    case 6:
      return horner_row_fixed<6>(row, gdq, c, off, nx, next);
    default:
      break;
  }
  for (std::int64_t x = 0; x < nx; ++x) {
    const float v = row[x];
    float r = c[n - 1][off + x] * v;
    for (std::int64_t j = n - 2; j >= 1; --j) {
      r = r + c[j][off + x];
      r = r * v;
    }
    r = r + c[0][off + x];
    row[x] = (gdq[x] & dq::kSaturated) ? v : r;
  }
}

}  // namespace

void prepare_linearity_coefficients(std::span<float> coeffs, std::int64_t ncoeff,
                                    std::span<const std::uint32_t> lin_dq,
                                    std::span<std::uint32_t> pixeldq) {
  if (ncoeff < 2) throw std::invalid_argument("linearity: need at least 2 coefficients");
  const std::int64_t npix = static_cast<std::int64_t>(pixeldq.size());
  require_size(lin_dq.size(), npix, "linearity dq");
  require_size(coeffs.size(), ncoeff * npix, "coefficients");
  float* const c = coeffs.data();
  std::uint32_t* const pdq = pixeldq.data();
  const std::uint32_t* const ldq = lin_dq.data();
  // Row blocks of the flattened pixel axis, so every coefficient plane is streamed once.
  constexpr std::int64_t kBlock = 16384;
  const std::int64_t nblocks = (npix + kBlock - 1) / kBlock;
#pragma omp parallel
  {
    std::vector<std::uint8_t> nan_any(kBlock), benign(kBlock);
#pragma omp for schedule(static)
    for (std::int64_t blk = 0; blk < nblocks; ++blk) {
      const std::int64_t p0 = blk * kBlock, m = std::min(kBlock, npix - p0);
      std::uint8_t* na = nan_any.data();
      std::uint8_t* bn = benign.data();
      for (std::int64_t x = 0; x < m; ++x) na[x] = 0;
      for (std::int64_t j = 0; j < ncoeff; ++j) {
        const float* cj = c + j * npix + p0;
        for (std::int64_t x = 0; x < m; ++x) na[x] |= std::isnan(cj[x]) ? 1 : 0;
      }
      const float* c1 = c + npix + p0;
      for (std::int64_t x = 0; x < m; ++x) {
        const std::uint32_t l = ldq[p0 + x];
        const bool flagged = (l & dq::kNoLinCorr) == dq::kNoLinCorr;
        const bool zero = !flagged && !na[x] && c1[x] == 0.0f;
        bn[x] = (flagged || na[x] || zero) ? 1 : 0;
        pdq[p0 + x] |= l | ((na[x] || zero) ? dq::kNoLinCorr : 0u);
      }
      // Most blocks have no such pixel: then the coefficient planes are left untouched, so
      // their cache lines stay clean and are never written back.
      std::uint8_t any = 0;
      for (std::int64_t x = 0; x < m; ++x) any |= bn[x];
      if (!any) continue;
      for (std::int64_t j = 0; j < ncoeff; ++j) {
        float* cj = c + j * npix + p0;
        const float benign_value = j == 1 ? 1.0f : 0.0f;
        for (std::int64_t x = 0; x < m; ++x) cj[x] = bn[x] ? benign_value : cj[x];
      }
    }
  }
}

void apply_linearity_rows(const RampShape& shape, std::span<float> data,
                          std::span<const std::uint8_t> groupdq, std::span<const float> coeffs,
                          std::int64_t ncoeff, std::int64_t y0, std::int64_t rows,
                          std::span<float> zeroframe) {
  if (ncoeff < 2) throw std::invalid_argument("linearity: need at least 2 coefficients");
  if (y0 < 0 || rows < 0 || y0 + rows > shape.ny)
    throw std::invalid_argument("linearity: rows [" + std::to_string(y0) + ", " +
                                std::to_string(y0 + rows) + ") are outside the ramp");
  const std::int64_t npix = shape.npix(), nx = shape.nx, band = rows * nx;
  require_size(data.size(), shape.size(), "data");
  require_size(groupdq.size(), shape.size(), "groupdq");
  require_size(coeffs.size(), ncoeff * band, "coefficients");
  if (!zeroframe.empty()) require_size(zeroframe.size(), shape.nints * npix, "zeroframe");
  const std::int64_t nplanes = shape.nints * shape.ngroups;
  constexpr int kMaxInline = 16;
  const float* cptr_static[kMaxInline];
  std::unique_ptr<const float*[]> cptr_heap;
  const float** cp = cptr_static;
  if (ncoeff > kMaxInline) {
    cptr_heap.reset(new const float*[ncoeff]);
    cp = cptr_heap.get();
  }
  for (std::int64_t j = 0; j < ncoeff; ++j) cp[j] = coeffs.data() + j * band;
  float* d = data.data();
  const std::uint8_t* q = groupdq.data();
  float* zf = zeroframe.empty() ? nullptr : zeroframe.data();
  // Blocks of rows (contiguous in every plane), so each pixel's coefficients are read from
  // memory once for all groups and every plane's share of a block is one long run.
  const std::int64_t brows = detail::rows_per_block(nx, rows, sizeof(float));
  const std::int64_t nblocks = rows > 0 ? (rows + brows - 1) / brows : 0;
#pragma omp parallel if (band >= 16384)
  {
    std::vector<std::uint8_t> zsat(zf ? static_cast<std::size_t>(brows * nx) : 0);
#pragma omp for schedule(static)
    for (std::int64_t blk = 0; blk < nblocks; ++blk) {
      const std::int64_t y = y0 + blk * brows;
      const std::int64_t r = y * nx, off = (y - y0) * nx;
      const std::int64_t n = (std::min(y0 + rows, y + brows) - y) * nx;
      for (std::int64_t p = 0; p < nplanes; ++p) {
        const std::int64_t next = detail::next_run_start(p, nplanes, npix, r, n);
        horner_row(d + p * npix + r, q + p * npix + r, cp, ncoeff, off, n, {d + next, q + next});
      }
      if (zf) {
        for (std::int64_t i = 0; i < shape.nints; ++i) {
          float* row = zf + i * npix + r;
          for (std::int64_t x = 0; x < n; ++x)
            zsat[x] = row[x] == 0.0f ? static_cast<std::uint8_t>(dq::kSaturated) : 0;
          horner_row(row, zsat.data(), cp, ncoeff, off, n);
          for (std::int64_t x = 0; x < n; ++x)
            if (zsat[x]) row[x] = 0.0f;
        }
      }
    }
  }
}

void apply_linearity(const RampShape& shape, std::span<float> data,
                     std::span<const std::uint8_t> groupdq, std::span<const float> coeffs,
                     std::int64_t ncoeff, std::span<float> zeroframe) {
  apply_linearity_rows(shape, data, groupdq, coeffs, ncoeff, 0, shape.ny, zeroframe);
}

namespace {
// Horner in f64 with f32 coefficients (numpy: f32 coefficient array times f64 data).
inline double horner_f64(const float* const* c, std::int64_t n, std::int64_t p, double x) {
  double r = static_cast<double>(c[n - 1][p]) * x;
  for (std::int64_t j = n - 2; j >= 1; --j) {
    r = r + static_cast<double>(c[j][p]);
    r = r * x;
  }
  return r + static_cast<double>(c[0][p]);
}

// Horner in f32 with the SATURATED select, for one value.
inline float horner_f32(const float* const* c, std::int64_t n, std::int64_t p, float x, bool sat) {
  float r = c[n - 1][p] * x;
  for (std::int64_t j = n - 2; j >= 1; --j) {
    r = r + c[j][p];
    r = r * x;
  }
  r = r + c[0][p];
  return sat ? x : r;
}
}  // namespace

void apply_linearity_read_level(const RampShape& shape, std::span<float> data,
                                std::span<const std::uint8_t> groupdq,
                                std::span<const float> coeffs, std::int64_t ncoeff,
                                std::span<const float> inv_coeffs, std::int64_t ninv, int nframes,
                                std::span<float> zeroframe) {
  if (ncoeff < 2 || ninv < 2) throw std::invalid_argument("linearity: need >= 2 coefficients");
  if (nframes < 1) throw std::invalid_argument("linearity: nframes must be >= 1");
  const std::int64_t npix = shape.npix(), G = shape.ngroups;
  require_size(data.size(), shape.size(), "data");
  require_size(groupdq.size(), shape.size(), "groupdq");
  require_size(coeffs.size(), ncoeff * npix, "coefficients");
  require_size(inv_coeffs.size(), ninv * npix, "inverse coefficients");
  if (!zeroframe.empty()) require_size(zeroframe.size(), shape.nints * npix, "zeroframe");
  if (shape.size() > 0 && G < 2)
    throw std::invalid_argument("linearity: the read-level path needs >= 2 groups");
  std::vector<const float*> cp(static_cast<std::size_t>(ncoeff)),
      ip(static_cast<std::size_t>(ninv));
  for (std::int64_t j = 0; j < ncoeff; ++j) cp[j] = coeffs.data() + j * npix;
  for (std::int64_t j = 0; j < ninv; ++j) ip[j] = inv_coeffs.data() + j * npix;
  // Mean read index of each group (f64), as np.mean of the read pattern.
  std::vector<double> mr(static_cast<std::size_t>(std::max<std::int64_t>(G, 0)));
  for (std::int64_t g = 0; g < G; ++g) {
    double sum = 0.0;
    for (int k = 1; k <= nframes; ++k) sum += static_cast<double>(g * nframes + k);
    mr[g] = sum / nframes;
  }
  float* d = data.data();
  const std::uint8_t* q = groupdq.data();
  const std::int64_t nplanes = shape.nints;
#pragma omp parallel
  {
    std::vector<double> reads(static_cast<std::size_t>(nframes));
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < npix; ++p) {
      for (std::int64_t i = 0; i < nplanes; ++i) {
        float* dp = d + i * G * npix + p;
        const std::uint8_t* qp = q + i * G * npix + p;
        std::int64_t nu = -1;
        for (std::int64_t g = 0; g < G; ++g) nu += (qp[g * npix] & dq::kSaturated) == 0;
        if (nu < 2) nu = 2;
        const std::int64_t last = nu - 1;
        const float first_lin =
            horner_f32(cp.data(), ncoeff, p, dp[0], (qp[0] & dq::kSaturated) != 0);
        const float last_lin = horner_f32(cp.data(), ncoeff, p, dp[last * npix],
                                          (qp[last * npix] & dq::kSaturated) != 0);
        const double rate = static_cast<double>(last_lin - first_lin) / (mr[last] - mr[0]);
        for (std::int64_t g = 0; g < G; ++g) {
          double pred = 0.0;
          for (int k = 0; k < nframes; ++k) {
            const double since = static_cast<double>(g * nframes + k + 1) - mr[0];
            const double lin = static_cast<double>(first_lin) + rate * since;
            reads[k] = horner_f64(ip.data(), ninv, p, lin);
            pred = k == 0 ? reads[k] : pred + reads[k];
          }
          pred = pred / nframes;
          const float v = dp[g * npix];
          const double offset = static_cast<double>(v) - pred;
          double corr = 0.0;
          for (int k = 0; k < nframes; ++k) {
            const double c = horner_f64(cp.data(), ncoeff, p, reads[k] + offset);
            corr = k == 0 ? c : corr + c;
          }
          corr = corr / nframes;
          if ((qp[g * npix] & dq::kSaturated) == 0) dp[g * npix] = static_cast<float>(corr);
        }
      }
    }
  }
  if (!zeroframe.empty()) {
    // The simple path on ZEROFRAME (no groups to saturate: zeros stand for bad values).
    RampShape zs{shape.nints, 0, shape.ny, shape.nx};
    std::vector<float> none;
    std::vector<std::uint8_t> noq;
    apply_linearity(zs, none, noq, coeffs, ncoeff, zeroframe);
  }
}

void correct_linearity(const RampShape& shape, std::span<float> data,
                       std::span<const std::uint8_t> groupdq, std::span<std::uint32_t> pixeldq,
                       std::span<float> coeffs, std::int64_t ncoeff,
                       std::span<const std::uint32_t> lin_dq, std::span<float> zeroframe) {
  require_size(pixeldq.size(), shape.npix(), "pixeldq");
  prepare_linearity_coefficients(coeffs, ncoeff, lin_dq, pixeldq);
  apply_linearity(shape, data, groupdq, coeffs, ncoeff, zeroframe);
}

}  // namespace stpipe::steps
