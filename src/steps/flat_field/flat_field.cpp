// flat_field kernel: one fused pass per pixel over every plane of the rate product.
#include "stpipe/steps/flat_field.h"

#include <immintrin.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/dqflags.h"

namespace stpipe::steps {

namespace {
void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("flat_field: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
}

// In-place IEEE square root of a row (vector instructions: the scalar std::sqrt keeps an errno
// branch that stops the compiler vectorising). Correctly rounded, so identical to sqrtf.
void sqrt_row(float* v, std::int64_t n) {
  std::int64_t x = 0;
#if defined(__AVX__)
  for (; x + 8 <= n; x += 8) _mm256_storeu_ps(v + x, _mm256_sqrt_ps(_mm256_loadu_ps(v + x)));
#endif
  for (; x < n; ++x) v[x] = std::sqrt(v[x]);
}

// One row of one plane: the arithmetic of jwst apply_flat_field, then match_nans_and_flags.
// Guider rows have no Poisson or read-noise variance: their err is combined with var_flat.
template <bool Inverse, bool Guider>
void flat_row(float* __restrict dp, std::uint32_t* __restrict qp, float* __restrict ep,
              float* __restrict pp, float* __restrict rp, float* __restrict fp,
              const float* __restrict fr, const float* __restrict f2r, const float* __restrict fe2r,
              const std::uint32_t* __restrict fdqr, std::int64_t nx) {
  for (std::int64_t x = 0; x < nx; ++x) {
    const float d = Inverse ? dp[x] * fr[x] : dp[x] / fr[x];
    const float vf = Inverse ? 0.0f : d * d / f2r[x] * fe2r[x];
    dp[x] = d;
    fp[x] = vf;
    if constexpr (Guider) {
      ep[x] = ep[x] * ep[x] + vf;
    } else {
      const float vp = pp[x] / f2r[x];
      const float vr = rp[x] / f2r[x];
      pp[x] = vp;
      rp[x] = vr;
      ep[x] = vp + vr + vf;
    }
  }
  sqrt_row(ep, nx);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t x = 0; x < nx; ++x) {
    std::uint32_t q = qp[x] | fdqr[x];
    q |= (q & dq::kNonScience) ? dq::kDoNotUse : 0u;
    bool bad =
        std::isnan(dp[x]) | std::isnan(ep[x]) | std::isnan(fp[x]) | ((q & dq::kDoNotUse) != 0);
    if constexpr (!Guider) bad = bad | std::isnan(pp[x]) | std::isnan(rp[x]);
    qp[x] = q | (bad ? dq::kDoNotUse : 0u);
    dp[x] = bad ? nan : dp[x];
    ep[x] = bad ? nan : ep[x];
    fp[x] = bad ? nan : fp[x];
    if constexpr (!Guider) {
      pp[x] = bad ? nan : pp[x];
      rp[x] = bad ? nan : rp[x];
    }
  }
}

}  // namespace

void apply_flat_field(const FlatFieldTarget& t, std::span<const float> flat,
                      std::span<const std::uint32_t> flat_dq, std::span<const float> flat_err,
                      bool inverse) {
  if (t.nplanes < 0 || t.ny < 0 || t.nx < 0)
    throw std::invalid_argument("flat_field: negative dimension");
  const std::int64_t npix = t.ny * t.nx, n = t.nplanes * npix;
  require_size(t.data.size(), n, "data");
  require_size(t.dq.size(), n, "dq");
  require_size(t.err.size(), n, "err");
  if (!t.guider) {
    require_size(t.var_poisson.size(), n, "var_poisson");
    require_size(t.var_rnoise.size(), n, "var_rnoise");
  }
  require_size(t.var_flat.size(), n, "var_flat");
  require_size(flat.size(), npix, "flat");
  require_size(flat_dq.size(), npix, "flat dq");
  require_size(flat_err.size(), npix, "flat err");
  constexpr std::uint32_t kBad = dq::kDoNotUse | dq::kNoFlatField;
  const std::int64_t ny = t.ny, nx = t.nx, nplanes = t.nplanes;
  float* const data = t.data.data();
  std::uint32_t* const dqa = t.dq.data();
  float* const err = t.err.data();
  float* const vpa = t.var_poisson.data();
  float* const vra = t.var_rnoise.data();
  float* const vfa = t.var_flat.data();
#pragma omp parallel
  {
    // Per-row flat values, squared flat, squared flat error and flat DQ.
    std::vector<float> fr(static_cast<std::size_t>(nx)), f2r(fr.size()), fe2r(fr.size());
    std::vector<std::uint32_t> fdqr(fr.size());
#pragma omp for schedule(static)
    for (std::int64_t y = 0; y < ny; ++y) {
      const std::int64_t r = y * nx;
      for (std::int64_t x = 0; x < nx; ++x) {
        float f = flat[r + x];
        std::uint32_t fdq = flat_dq[r + x];
        fdq |= (std::isnan(f) || f == 0.0f) ? kBad : 0u;
        fdq |= (fdq & dq::kNoFlatField) ? dq::kDoNotUse : 0u;
        f = (fdq & dq::kDoNotUse) ? 1.0f : f;
        fr[x] = f;
        f2r[x] = f * f;
        fe2r[x] = flat_err[r + x] * flat_err[r + x];
        fdqr[x] = fdq;
      }
      for (std::int64_t k = 0; k < nplanes; ++k) {
        const std::int64_t o = k * npix + r;
        float* dp = data + o;
        std::uint32_t* qp = dqa + o;
        float* ep = err + o;
        float* pp = t.guider ? nullptr : vpa + o;
        float* rp = t.guider ? nullptr : vra + o;
        float* fp = vfa + o;
        auto* row = inverse ? (t.guider ? &flat_row<true, true> : &flat_row<true, false>)
                            : (t.guider ? &flat_row<false, true> : &flat_row<false, false>);
        row(dp, qp, ep, pp, rp, fp, fr.data(), f2r.data(), fe2r.data(), fdqr.data(), nx);
      }
    }
  }
}

}  // namespace stpipe::steps
