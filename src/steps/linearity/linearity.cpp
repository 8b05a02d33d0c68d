// linearity kernel: coefficient preparation and a row-blocked Horner pass (coefficients read once).
#include "stpipe/steps/linearity.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/dqflags.h"

namespace stpipe::steps {

namespace {

void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("linearity: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
}

// Horner over one row: out[x] = poly(x) unless sat[x] (then x unchanged).
template <int N>
void horner_row_fixed(float* row, const std::uint8_t* gdq, const float* const* c, std::int64_t off,
                      std::int64_t nx) {
  for (std::int64_t x = 0; x < nx; ++x) {
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
                std::int64_t off, std::int64_t nx) {
  switch (n) {
    case 2:
      return horner_row_fixed<2>(row, gdq, c, off, nx);
    case 3:
      return horner_row_fixed<3>(row, gdq, c, off, nx);
    case 4:
      return horner_row_fixed<4>(row, gdq, c, off, nx);
    case 5:
      return horner_row_fixed<5>(row, gdq, c, off, nx);
    case 6:
      return horner_row_fixed<6>(row, gdq, c, off, nx);
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
  constexpr std::int64_t kBlock = 2048;
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
      for (std::int64_t j = 0; j < ncoeff; ++j) {
        float* cj = c + j * npix + p0;
        const float benign_value = j == 1 ? 1.0f : 0.0f;
        for (std::int64_t x = 0; x < m; ++x) cj[x] = bn[x] ? benign_value : cj[x];
      }
    }
  }
}

void apply_linearity(const RampShape& shape, std::span<float> data,
                     std::span<const std::uint8_t> groupdq, std::span<const float> coeffs,
                     std::int64_t ncoeff, std::span<float> zeroframe) {
  if (ncoeff < 2) throw std::invalid_argument("linearity: need at least 2 coefficients");
  const std::int64_t npix = shape.npix();
  require_size(data.size(), shape.size(), "data");
  require_size(groupdq.size(), shape.size(), "groupdq");
  require_size(coeffs.size(), ncoeff * npix, "coefficients");
  if (!zeroframe.empty()) require_size(zeroframe.size(), shape.nints * npix, "zeroframe");
  const std::int64_t ny = shape.ny, nx = shape.nx, nplanes = shape.nints * shape.ngroups;
  constexpr int kMaxInline = 16;
  const float* cptr_static[kMaxInline];
  std::unique_ptr<const float*[]> cptr_heap;
  const float** cp = cptr_static;
  if (ncoeff > kMaxInline) {
    cptr_heap.reset(new const float*[ncoeff]);
    cp = cptr_heap.get();
  }
  for (std::int64_t j = 0; j < ncoeff; ++j) cp[j] = coeffs.data() + j * npix;
  float* d = data.data();
  const std::uint8_t* q = groupdq.data();
  float* zf = zeroframe.empty() ? nullptr : zeroframe.data();
  // Row-outer so each pixel's coefficients are read from memory once for all groups.
#pragma omp parallel
  {
    std::vector<std::uint8_t> zsat(zf ? static_cast<std::size_t>(nx) : 0);
#pragma omp for schedule(static)
    for (std::int64_t y = 0; y < ny; ++y) {
      const std::int64_t r = y * nx;
      for (std::int64_t p = 0; p < nplanes; ++p)
        horner_row(d + p * npix + r, q + p * npix + r, cp, ncoeff, r, nx);
      if (zf) {
        for (std::int64_t i = 0; i < shape.nints; ++i) {
          float* row = zf + i * npix + r;
          for (std::int64_t x = 0; x < nx; ++x)
            zsat[x] = row[x] == 0.0f ? static_cast<std::uint8_t>(dq::kSaturated) : 0;
          horner_row(row, zsat.data(), cp, ncoeff, r, nx);
          for (std::int64_t x = 0; x < nx; ++x)
            if (zsat[x]) row[x] = 0.0f;
        }
      }
    }
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
