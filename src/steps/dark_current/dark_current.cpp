// dark_current kernel: per block of rows and group, build the dark for the science readout and
// subtract it in place.
#include "stpipe/steps/dark_current.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/detail/row_blocks.h"

namespace stpipe::steps {

namespace {

constexpr std::int64_t kParallelPixels = std::int64_t{1} << 16;  // planes worth two threads

void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("dark_current: ") + what + " has " +
                                std::to_string(got) + " elements, expected " +
                                std::to_string(want));
}

// The plan stcal follows for one science readout.
struct DarkPlan {
  bool skipped = false;
  std::int64_t extra = 0;   // extrapolated dark groups
  bool averaged = false;    // frame averaging needed (nframes or groupgap differ)
  std::int64_t dnints = 1;  // dark integrations
};

DarkPlan make_plan(const RampShape& shape, int nf, int gg, std::size_t dark_size,
                   const DarkReadout& dr) {
  if (nf < 1 || gg < 0 || dr.nframes < 1 || dr.groupgap < 0 || dr.ngroups < 0)
    throw std::invalid_argument("dark_current: bad nframes/groupgap/ngroups");
  DarkPlan plan;
  plan.dnints = dr.four_d ? dr.nints : 1;
  if (dr.four_d && dr.nints < 1)
    throw std::invalid_argument("dark_current: 4-D dark with nints < 1");
  require_size(dark_size, plan.dnints * dr.ngroups * shape.npix(), "dark data");
  const std::int64_t sci_total = shape.ngroups * nf + (shape.ngroups - 1) * gg;
  const std::int64_t drk_total = dr.ngroups * dr.nframes + (dr.ngroups - 1) * dr.groupgap;
  if (sci_total > drk_total) {
    if (dr.ngroups < 2)
      throw std::invalid_argument("dark_current: the dark needs >= 2 groups to extrapolate");
    const std::int64_t num = sci_total - drk_total + dr.groupgap;
    const std::int64_t den = dr.nframes + dr.groupgap;
    plan.extra = (num + den - 1) / den;
  }
  if (dr.nframes > nf || dr.groupgap > gg) {
    plan.skipped = true;
    return plan;
  }
  plan.averaged = !(nf == dr.nframes && gg == dr.groupgap);
  const std::int64_t needed = plan.averaged
                                  ? (shape.ngroups > 0 ? (shape.ngroups - 1) * (nf + gg) + nf : 0)
                                  : shape.ngroups;
  if (needed > dr.ngroups + plan.extra)
    throw std::invalid_argument(
        "dark_current: the dark has " + std::to_string(dr.ngroups + plan.extra) +
        " groups (after extrapolation), the science readout needs " + std::to_string(needed));
  return plan;
}

// Value of extended dark group k (k >= Gd is extrapolated in f64) at pixel offset p of one
// dark integration `di` (pointer to its first group), NaN -> 0 (after extrapolation).
inline double dark_value_f64(const float* di, std::int64_t gd, std::int64_t npix, std::int64_t k,
                             std::int64_t p) {
  double v;
  if (k < gd) {
    v = di[k * npix + p];
  } else {
    const float last = di[(gd - 1) * npix + p];
    const float rate = last - di[(gd - 2) * npix + p];
    v = static_cast<double>(k - gd + 1) * static_cast<double>(rate) + static_cast<double>(last);
  }
  return std::isnan(v) ? 0.0 : v;
}

// Fills the dark for science group g of dark integration `di` (pointer to its first group) over
// the n pixels from offset r: f32 values in fo, or f64 values in dout when `f64_out` (matched +
// extrapolated). Group g starts at dark frame g * (nframes + groupgap).
void dark_group(const float* di, const DarkReadout& dr, const DarkPlan& plan, std::int64_t g,
                int nf, int gg, std::int64_t npix, std::int64_t r, std::int64_t n, float* fo,
                double* dout, bool f64_out) {
  const std::int64_t gd = dr.ngroups;
  if (!plan.averaged) {
    // dsub[g] = dark[g]
    if (f64_out) {
      for (std::int64_t x = 0; x < n; ++x) dout[x] = dark_value_f64(di, gd, npix, g, r + x);
    } else {
      const float* s = di + g * npix + r;
      for (std::int64_t x = 0; x < n; ++x) fo[x] = std::isnan(s[x]) ? 0.0f : s[x];
    }
    return;
  }
  const std::int64_t start = g * (nf + gg);
  if (nf == 1) {
    for (std::int64_t x = 0; x < n; ++x)
      fo[x] = static_cast<float>(dark_value_f64(di, gd, npix, start, r + x));
  } else if (plan.extra > 0) {
    for (std::int64_t x = 0; x < n; ++x) {
      double s = dark_value_f64(di, gd, npix, start, r + x);
      for (std::int64_t k = 1; k < nf; ++k) s = s + dark_value_f64(di, gd, npix, start + k, r + x);
      fo[x] = static_cast<float>(s / static_cast<double>(nf));
    }
  } else {
    const float* s0 = di + start * npix + r;
    for (std::int64_t x = 0; x < n; ++x) fo[x] = std::isnan(s0[x]) ? 0.0f : s0[x];
    for (std::int64_t k = 1; k < nf; ++k) {
      const float* sk = di + (start + k) * npix + r;
      for (std::int64_t x = 0; x < n; ++x) fo[x] = fo[x] + (std::isnan(sk[x]) ? 0.0f : sk[x]);
    }
    const float fnf = static_cast<float>(nf);
    for (std::int64_t x = 0; x < n; ++x) fo[x] = fo[x] / fnf;
  }
}

}  // namespace

DarkStatus subtract_dark(const RampShape& shape, int sci_nframes, int sci_groupgap,
                         std::span<float> data, std::span<std::uint32_t> pixeldq,
                         std::span<const float> dark, const DarkReadout& dr,
                         std::span<const std::uint32_t> dark_dq, std::int64_t dq_planes,
                         std::int64_t integration_start) {
  const std::int64_t npix = shape.npix();
  require_size(data.size(), shape.size(), "data");
  require_size(pixeldq.size(), npix, "pixeldq");
  if (dq_planes < 1) throw std::invalid_argument("dark_current: dq_planes must be >= 1");
  require_size(dark_dq.size(), dq_planes * npix, "dark dq");
  const DarkPlan plan = make_plan(shape, sci_nframes, sci_groupgap, dark.size(), dr);
  if (plan.skipped) return DarkStatus::kSkipped;
  const std::int64_t ny = shape.ny, nx = shape.nx, G = shape.ngroups;
  const bool f64_out = !plan.averaged && plan.extra > 0;
  // With averaging, a 4-D averaged dark only holds min(dark nints, sci nints) integrations
  // (the rest are zeros in stcal).
  const std::int64_t filled = plan.averaged ? std::min(plan.dnints, shape.nints) : plan.dnints;
  const std::int64_t dint_stride = dr.ngroups * npix;
  float* d = data.data();
  std::uint32_t* pdq = pixeldq.data();
  // Blocks of rows, contiguous in every plane; within a block the dark of group g is made once
  // and subtracted from every integration that uses the same dark integration.
  const std::int64_t rows = detail::rows_per_block(nx, ny, sizeof(float));
  const std::int64_t nblocks = (ny + rows - 1) / rows;
#pragma omp parallel
  {
    std::vector<float> fsub(static_cast<std::size_t>(rows * nx));
    std::vector<double> dsub(f64_out ? static_cast<std::size_t>(rows * nx) : 0);
#pragma omp for schedule(static)
    for (std::int64_t blk = 0; blk < nblocks; ++blk) {
      const std::int64_t y0 = blk * rows;
      const std::int64_t r = y0 * nx, n = (std::min(ny, y0 + rows) - y0) * nx;
      for (std::int64_t x = 0; x < n; ++x) {
        std::uint32_t f = 0;
        for (std::int64_t k = 0; k < dq_planes; ++k) f |= dark_dq[k * npix + r + x];
        pdq[r + x] |= f;
      }
      for (std::int64_t g = 0; g < G; ++g) {
        std::int64_t cached = -2;
        for (std::int64_t i = 0; i < shape.nints; ++i) {
          std::int64_t di = 0;
          if (dr.four_d) di = (i < plan.dnints && integration_start == 1) ? i : plan.dnints - 1;
          if (di >= filled) continue;  // subtracting stcal's zero-filled dark changes nothing
          if (di != cached) {
            dark_group(dark.data() + di * dint_stride, dr, plan, g, sci_nframes, sci_groupgap, npix,
                       r, n, fsub.data(), dsub.data(), f64_out);
            cached = di;
          }
          float* row = d + (i * G + g) * npix + r;
          if (f64_out) {
            const double* s = dsub.data();
            for (std::int64_t x = 0; x < n; ++x)
              row[x] = static_cast<float>(static_cast<double>(row[x]) - s[x]);
          } else {
            const float* s = fsub.data();
            for (std::int64_t x = 0; x < n; ++x) row[x] -= s[x];
          }
        }
      }
    }
  }
  return DarkStatus::kComplete;
}

std::vector<float> averaged_dark(const RampShape& shape, int sci_nframes, int sci_groupgap,
                                 std::span<const float> dark, const DarkReadout& dr) {
  const DarkPlan plan = make_plan(shape, sci_nframes, sci_groupgap, dark.size(), dr);
  if (plan.skipped) return {};
  const std::int64_t npix = shape.npix(), ny = shape.ny, nx = shape.nx, G = shape.ngroups;
  const std::int64_t filled = plan.averaged ? std::min(plan.dnints, shape.nints) : plan.dnints;
  std::vector<float> out(static_cast<std::size_t>(plan.dnints * G * npix), 0.0f);
  const bool f64_out = !plan.averaged && plan.extra > 0;
  const std::int64_t rows = detail::rows_per_block(nx, ny, sizeof(float));
  const std::int64_t nblocks = (ny + rows - 1) / rows;
#pragma omp parallel
  {
    std::vector<float> fsub(static_cast<std::size_t>(rows * nx));
    std::vector<double> dsub(static_cast<std::size_t>(rows * nx));
#pragma omp for schedule(static)
    for (std::int64_t blk = 0; blk < nblocks; ++blk) {
      const std::int64_t y0 = blk * rows;
      const std::int64_t r = y0 * nx, n = (std::min(ny, y0 + rows) - y0) * nx;
      for (std::int64_t di = 0; di < filled; ++di)
        for (std::int64_t g = 0; g < G; ++g) {
          dark_group(dark.data() + di * dr.ngroups * npix, dr, plan, g, sci_nframes, sci_groupgap,
                     npix, r, n, fsub.data(), dsub.data(), f64_out);
          float* o = out.data() + (di * G + g) * npix + r;
          for (std::int64_t x = 0; x < n; ++x)
            o[x] = f64_out ? static_cast<float>(dsub[x]) : fsub[x];
        }
    }
  }
  return out;
}

void resolve_average_dark_current(std::span<float> out, std::optional<float> user_value,
                                  std::span<const float> ref_average,
                                  std::optional<float> ref_scalar) {
  const auto n = static_cast<std::int64_t>(out.size());
  float value = ref_scalar.value_or(0.0f);
  const float* plane = nullptr;
  if (user_value) {
    value = *user_value;
  } else if (static_cast<std::int64_t>(ref_average.size()) == n) {
    double sum = 0.0;  // numpy sums float32 pairwise; only "is it zero" matters here
    for (float v : ref_average) sum += v;  // in order: the same with any thread count
    if (sum != 0.0) plane = ref_average.data();
  }
  // Written on every thread: a fresh 16 MB plane costs this VM its page faults once per core.
#pragma omp parallel for schedule(static) if (n >= kParallelPixels)
  for (std::int64_t p = 0; p < n; ++p) out[p] = plane ? plane[p] : value;
}

std::vector<float> resolve_average_dark_current(std::int64_t npix, std::optional<float> user_value,
                                                std::span<const float> ref_average,
                                                std::optional<float> ref_scalar) {
  if (npix < 0) throw std::invalid_argument("dark_current: negative pixel count");
  std::vector<float> out(static_cast<std::size_t>(npix));
  resolve_average_dark_current(out, user_value, ref_average, ref_scalar);
  return out;
}

}  // namespace stpipe::steps
