// flat_field kernel: one fused pass per pixel over every plane of the rate product.
#include "stpipe/steps/flat_field.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "stpipe/steps/dqflags.h"

namespace stpipe::steps {

namespace {
void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("flat_field: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
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
  require_size(t.var_poisson.size(), n, "var_poisson");
  require_size(t.var_rnoise.size(), n, "var_rnoise");
  require_size(t.var_flat.size(), n, "var_flat");
  require_size(flat.size(), npix, "flat");
  require_size(flat_dq.size(), npix, "flat dq");
  require_size(flat_err.size(), npix, "flat err");
  constexpr std::uint32_t kBad = dq::kDoNotUse | dq::kNoFlatField;
  const float nan = std::numeric_limits<float>::quiet_NaN();
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < npix; ++p) {
    float f = flat[p];
    std::uint32_t fdq = flat_dq[p];
    if (std::isnan(f) || f == 0.0f) fdq |= kBad;
    if (fdq & dq::kNoFlatField) fdq |= dq::kDoNotUse;
    if (fdq & dq::kDoNotUse) f = 1.0f;
    const float f2 = f * f;
    const float fe = flat_err[p];
    const float fe2 = fe * fe;
    for (std::int64_t k = 0; k < t.nplanes; ++k) {
      const std::int64_t i = k * npix + p;
      float d = inverse ? t.data[i] * f : t.data[i] / f;
      float vp = t.var_poisson[i] / f2;
      float vr = t.var_rnoise[i] / f2;
      float vf = inverse ? 0.0f : d * d / f2 * fe2;
      float e = std::sqrt(vp + vr + vf);
      std::uint32_t q = t.dq[i] | fdq;
      if (std::isnan(d) || std::isnan(e) || std::isnan(vp) || std::isnan(vr) || std::isnan(vf) ||
          (q & dq::kDoNotUse)) {
        q |= dq::kDoNotUse;
        d = e = vp = vr = vf = nan;
      }
      t.data[i] = d;
      t.err[i] = e;
      t.var_poisson[i] = vp;
      t.var_rnoise[i] = vr;
      t.var_flat[i] = vf;
      t.dq[i] = q;
    }
  }
}

}  // namespace stpipe::steps
