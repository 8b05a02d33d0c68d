// guider_cds kernel: FGS count rates from correlated double sampling of the groups (jwst).
#include <algorithm>
#include <stdexcept>

#include "stpipe/steps/guider_cds_step.h"

namespace stpipe::steps {

GuiderMode guider_mode(const std::string& exp_type) {
  if (exp_type == "FGS_ID-IMAGE" || exp_type == "FGS_ID-STACK") return GuiderMode::kId;
  if (exp_type == "FGS_FINEGUIDE") return GuiderMode::kFineGuide;
  return GuiderMode::kAcqTrack;
}

void guider_cds(const RampShape& shape, std::span<const float> data, double group_time,
                GuiderMode mode, std::span<float> out) {
  if (static_cast<std::int64_t>(data.size()) != shape.size())
    throw std::invalid_argument("guider_cds: data size does not match the shape");
  if (shape.ngroups < 2) throw std::invalid_argument("guider_cds: needs at least 2 groups");
  if (!(group_time > 0)) throw std::invalid_argument("guider_cds: group time must be > 0");
  const std::int64_t npix = shape.npix(), G = shape.ngroups;
  const std::int64_t want = mode == GuiderMode::kId ? npix : shape.nints * npix;
  if (static_cast<std::int64_t>(out.size()) != want)
    throw std::invalid_argument("guider_cds: output size does not match");
  const float gt = static_cast<float>(group_time);
  std::vector<float> diff(static_cast<std::size_t>(npix));
  for (std::int64_t i = 0; i < shape.nints; ++i) {
    const float* d = data.data() + i * shape.int_stride();
    if (mode == GuiderMode::kFineGuide) {
      const std::int64_t n = std::min<std::int64_t>(4, G / 2);
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
      for (std::int64_t k = 0; k < npix; ++k) out[k] = i == 0 ? diff[k] : std::min(out[k], diff[k]);
    } else {
      for (std::int64_t k = 0; k < npix; ++k) out[i * npix + k] = diff[k] / gt;
    }
  }
  if (mode == GuiderMode::kId)
    for (std::int64_t k = 0; k < npix; ++k) out[k] /= gt;
}

}  // namespace stpipe::steps
