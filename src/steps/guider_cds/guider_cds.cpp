// guider_cds kernel: FGS count rates from correlated double sampling of the groups (jwst).
#include "stpipe/steps/guider_cds.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace stpipe::steps {

GuiderMode guider_mode(const std::string& exp_type) {
  if (exp_type == "FGS_ID-IMAGE" || exp_type == "FGS_ID-STACK") return GuiderMode::kId;
  if (exp_type == "FGS_FINEGUIDE") return GuiderMode::kFineGuide;
  return GuiderMode::kAcqTrack;
}

void guider_cds(const RampShape& shape, std::span<const float> data, double group_time,
                GuiderMode mode, std::span<float> out, std::span<const float> gain,
                std::span<const float> readnoise, std::span<float> err) {
  if (static_cast<std::int64_t>(data.size()) != shape.size())
    throw std::invalid_argument("guider_cds: data size does not match the shape");
  if (shape.ngroups < 2) throw std::invalid_argument("guider_cds: needs at least 2 groups");
  if (!(group_time > 0)) throw std::invalid_argument("guider_cds: group time must be > 0");
  const std::int64_t npix = shape.npix(), G = shape.ngroups;
  const std::int64_t want = mode == GuiderMode::kId ? npix : shape.nints * npix;
  if (static_cast<std::int64_t>(out.size()) != want)
    throw std::invalid_argument("guider_cds: output size does not match");
  const bool with_err = !err.empty();
  if (with_err && (static_cast<std::int64_t>(err.size()) != want ||
                   static_cast<std::int64_t>(gain.size()) != npix ||
                   static_cast<std::int64_t>(readnoise.size()) != npix))
    throw std::invalid_argument("guider_cds: err, gain or readnoise size does not match");
  const float gt = static_cast<float>(group_time);
  // jwst's variances (numpy float32): var_rn = 2 * (rn / t)**2, var_pn = diff / (gain * t)
  // clipped at 0, err = (var_rn + var_pn)**0.5.
  auto error = [&](std::int64_t k, float diff) {
    const float q = readnoise[k] / gt;
    const float var_rn = 2.0f * (q * q);
    float var_pn = diff / (gain[k] * gt);
    if (var_pn < 0.0f) var_pn = 0.0f;
    return std::sqrt(var_rn + var_pn);
  };
  std::vector<float> diff(static_cast<std::size_t>(npix));
  for (std::int64_t i = 0; i < shape.nints; ++i) {
    const float* d = data.data() + i * shape.int_stride();
    if (mode == GuiderMode::kFineGuide) {
      const std::int64_t n = std::min<std::int64_t>(4, G);  // groups [:4] and [-4:]
      for (std::int64_t k = 0; k < npix; ++k) {
        float a = 0, b = 0;
        for (std::int64_t g = 0; g < n; ++g) {
          a += d[g * npix + k];
          b += d[(G - n + g) * npix + k];
        }
        diff[k] = b / static_cast<float>(n) - a / static_cast<float>(n);
      }
    } else {
      for (std::int64_t k = 0; k < npix; ++k) diff[k] = d[(G - 1) * npix + k] - d[k];
    }
    if (mode == GuiderMode::kId) {
      // jwst uses integrations 0 and 1 only, and np.minimum (NaN wins).
      if (i > 1) break;
      for (std::int64_t k = 0; k < npix; ++k) {
        const float a = out[k], b = diff[k];
        out[k] = i == 0 ? b : (std::isnan(a) || std::isnan(b)) ? a + b : std::min(a, b);
      }
    } else {
      for (std::int64_t k = 0; k < npix; ++k) {
        out[i * npix + k] = diff[k] / gt;
        if (with_err) err[i * npix + k] = error(k, diff[k]);
      }
    }
  }
  if (mode == GuiderMode::kId)
    for (std::int64_t k = 0; k < npix; ++k) {
      if (with_err) err[k] = error(k, out[k]);  // the minimum difference, before / t
      out[k] /= gt;
    }
}

}  // namespace stpipe::steps
