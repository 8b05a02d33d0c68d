// Jump detection kernel: two-point difference, iterative clipping and neighbour flagging.
#include "stpipe/steps/jump.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "stpipe/steps/detail/sort_network.h"
#include "stpipe/steps/dqflags.h"

namespace stpipe::steps {
namespace {

constexpr std::uint8_t kDnu = static_cast<std::uint8_t>(dq::kDoNotUse);
constexpr std::uint8_t kSat = static_cast<std::uint8_t>(dq::kSaturated);
constexpr std::uint8_t kJump = static_cast<std::uint8_t>(dq::kJumpDet);
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A strong jump whose four neighbours get flagged: diff plane (int i, group g) at pixel p.
struct NeighborEvent {
  std::int32_t plane;  // i * ngroups + g
  std::int64_t pixel;  // y * nx + x
};

// Sorts the non-NaN values of v[0..n) into out (ascending); returns their count.
inline int sort_finite(const double* v, int n, double* out) {
  int m = 0;
  for (int j = 0; j < n; ++j) {
    const double x = v[j];
    if (std::isnan(x)) continue;
    int k = m++;
    while (k > 0 && out[k - 1] > x) {
      out[k] = out[k - 1];
      --k;
    }
    out[k] = x;
  }
  return m;
}

// numpy median of sorted[0..m): middle value, (lo + hi) / 2 for even counts, NaN when empty.
inline double median_sorted(const double* s, int m) {
  if (m == 0) return kNaN;
  if (m & 1) return s[m / 2];
  return (s[m / 2 - 1] + s[m / 2]) / 2.0;
}

// stcal calc_med_first_diffs on one pixel's |diffs|: clip every max (u >= 4), min (u == 2).
inline double clipped_median(const double* a, int n, double* sorted) {
  const int u = sort_finite(a, n, sorted);
  if (u < 2) return kNaN;
  if (u == 2) return sorted[0];
  if (u == 3) return sorted[1];
  const double mx = sorted[u - 1];
  int keep = u;
  while (keep > 0 && sorted[keep - 1] == mx) --keep;
  return median_sorted(sorted, keep);
}

struct Geometry {
  std::int64_t nints, ngroups, ny, nx, npix, ndiff;  // ndiff: diffs per integration
};

// kSigmaClip flags only; kNone skips detection (the neighbour/cleanup pass after sigma clipping).
enum class Mode { kIterative, kSinglePass, kSigmaClip, kNone };

// Everything the per-pixel routine needs that is the same for every pixel.
struct Context {
  Geometry g;
  const float* data;
  std::uint8_t* gdq;
  const float* gain;
  const float* rnoise;
  const JumpParams* p;
  Mode mode;
  double nframes;  // 0.5 * n_reads_groupdiff
  bool want_events;
  bool after_jump;  // defer cleanup to the after-jump pass
  double e1, e2;    // after-jump thresholds in electrons
  int n1, n2;       // groups to flag after a jump
};

// Per-thread scratch, allocated once per thread.
struct Scratch {
  std::vector<float> e;
  std::vector<double> fd, a, sorted, ratio, rmax;
  std::vector<char> cr;
  explicit Scratch(const Geometry& g)
      : e(g.nints * g.ngroups),
        fd(g.nints * g.ndiff),
        a(g.nints * g.ndiff),
        sorted(g.nints * g.ndiff),
        ratio(g.nints * g.ndiff),
        rmax(g.nints),
        cr(g.nints) {}
};

// Loads one pixel's first differences (electrons, f32 differences promoted to f64).
inline void load_diffs(const Context& c, std::int64_t pix, float gain, Scratch& s) {
  const Geometry& g = c.g;
  for (std::int64_t i = 0; i < g.nints; ++i) {
    for (std::int64_t k = 0; k < g.ngroups; ++k) {
      const std::int64_t idx = (i * g.ngroups + k) * g.npix + pix;
      float v = c.data[idx] * gain;
      if (c.gdq[idx] & (kDnu | kSat)) v = std::numeric_limits<float>::quiet_NaN();
      s.e[i * g.ngroups + k] = v;
    }
    for (std::int64_t k = 0; k < g.ndiff; ++k) {
      const float d = s.e[i * g.ngroups + k + 1] - s.e[i * g.ngroups + k];
      s.fd[i * g.ndiff + k] = static_cast<double>(d);
    }
  }
}

// sigma = sqrt(|m| + rn2 / nframes), NaN when zero.
inline double sigma_of(double m, double rn2_over) {
  double s = std::sqrt(std::fabs(m) * 1.0 + rn2_over) / 1.0;
  return s == 0.0 ? kNaN : s;
}

// stcal iterative_jump for one pixel; sets JUMP in gdq.
void iterative_pixel(const Context& c, std::int64_t pix, double rn2_over, Scratch& s) {
  const Geometry& g = c.g;
  const JumpParams& p = *c.p;
  const int n = static_cast<int>(g.nints * g.ndiff);
  for (int j = 0; j < n; ++j) s.a[j] = std::fabs(s.fd[j]);
  for (int iter = 0; iter < n; ++iter) {
    int u = 0;
    for (int j = 0; j < n; ++j) u += !std::isnan(s.a[j]);
    double m = clipped_median(s.a.data(), n, s.sorted.data());
    if (iter > 0) m = static_cast<double>(static_cast<float>(m));
    const double sig = sigma_of(m, rn2_over);
    double gmax = kNaN;
    for (std::int64_t i = 0; i < g.nints; ++i) {
      double rm = kNaN;
      for (std::int64_t k = 0; k < g.ndiff; ++k) {
        const std::int64_t j = i * g.ndiff + k;
        const float ej = static_cast<float>(s.a[j] - m);
        const double r = std::fabs(static_cast<double>(ej)) / sig;
        s.ratio[j] = r;
        if (!std::isnan(r) && (std::isnan(rm) || r > rm)) rm = r;
      }
      s.rmax[i] = rm;
      if (!std::isnan(rm) && (std::isnan(gmax) || rm > gmax)) gmax = rm;
      s.cr[i] = (u >= 4 && rm > p.rejection_threshold) ||
                (u == 3 && rm > p.four_group_rejection_threshold) ||
                (u == 2 && rm > p.three_group_rejection_threshold);
    }
    bool found = false;
    if (!std::isnan(gmax)) {
      for (std::int64_t i = 0; i < g.nints; ++i) {
        if (!s.cr[i]) continue;
        for (std::int64_t k = 0; k < g.ndiff; ++k) {
          const std::int64_t j = i * g.ndiff + k;
          if (s.ratio[j] == gmax) {
            c.gdq[(i * g.ngroups + k + 1) * g.npix + pix] |= kJump;
            s.a[j] = kNaN;
            found = true;
          }
        }
      }
    }
    if (!found) break;
  }
}

// astropy sigma_clip (sigma = rejection_threshold, maxiters 5, median centre, population std)
// of one pixel's diffs, per diff index across integrations (only_use_ints) or over all of them;
// JUMP where a finite diff of a usable group was clipped. Not validated against stcal.
void sigma_clip_pixel(const Context& c, std::int64_t pix, Scratch& s) {
  const Geometry& g = c.g;
  const double thr = c.p->rejection_threshold;
  const std::int64_t nsets = c.p->only_use_ints ? g.ndiff : 1;
  const std::int64_t per = c.p->only_use_ints ? g.nints : g.nints * g.ndiff;
  for (std::int64_t set = 0; set < nsets; ++set) {
    // Index of member m of this set in fd (int-major: j = i * ndiff + k).
    auto at = [&](std::int64_t m) { return c.p->only_use_ints ? m * g.ndiff + set : m; };
    double* f = s.a.data();
    for (std::int64_t m = 0; m < per; ++m) {
      const double v = s.fd[at(m)];
      f[m] = std::isfinite(v) ? v : kNaN;
    }
    for (int iter = 0; iter < 5; ++iter) {
      const int cnt = sort_finite(f, static_cast<int>(per), s.sorted.data());
      const double cen = median_sorted(s.sorted.data(), cnt);
      double sum = 0.0;
      for (std::int64_t m = 0; m < per; ++m)
        if (!std::isnan(f[m])) sum += f[m];
      const double mean = sum / cnt;
      double ss = 0.0;
      for (std::int64_t m = 0; m < per; ++m)
        if (!std::isnan(f[m])) ss += (f[m] - mean) * (f[m] - mean);
      const double sd = std::sqrt(ss / cnt);
      const double lo = cen - sd * thr, hi = cen + sd * thr;
      int changed = 0;
      for (std::int64_t m = 0; m < per; ++m)
        if (f[m] < lo || f[m] > hi) {
          f[m] = kNaN;
          ++changed;
        }
      if (changed == 0) break;
    }
    for (std::int64_t m = 0; m < per; ++m) {
      const std::int64_t j = at(m);
      if (!std::isnan(f[m]) || !std::isfinite(s.fd[j])) continue;
      const std::int64_t i = j / g.ndiff, k = j % g.ndiff;
      std::uint8_t& q = c.gdq[(i * g.ngroups + k + 1) * g.npix + pix];
      if (!(q & (kSat | kDnu))) q |= kJump;
    }
  }
}

// Removes JUMP where DNU or SAT is also set (stcal's final cleanup), for one pixel.
inline void cleanup_pixel(const Context& c, std::int64_t pix) {
  const Geometry& g = c.g;
  for (std::int64_t ig = 0; ig < g.nints * g.ngroups; ++ig) {
    std::uint8_t& q = c.gdq[ig * g.npix + pix];
    if ((q & (kJump | kDnu)) == (kJump | kDnu)) q ^= kJump;
    if ((q & (kJump | kSat)) == (kJump | kSat)) q ^= kJump;
  }
}

// Detection pass for one pixel; returns the number of JUMP bits before neighbour flagging.
std::int64_t detect_pixel(const Context& c, std::int64_t pix, Scratch& s,
                          std::vector<NeighborEvent>& events) {
  const Geometry& g = c.g;
  const JumpParams& p = *c.p;
  const float gain = c.gain[pix];
  const float rne = c.rnoise[pix] * gain;
  const float rn2 = rne * rne;
  const double rn2_over = static_cast<double>(rn2) / c.nframes;
  load_diffs(c, pix, gain, s);
  const int n = static_cast<int>(g.nints * g.ndiff);

  double med = kNaN, sig = kNaN;
  if (c.mode == Mode::kSinglePass || c.want_events) {
    med = median_sorted(s.sorted.data(), sort_finite(s.fd.data(), n, s.sorted.data()));
    sig = sigma_of(med, rn2_over);
  }
  if (c.mode == Mode::kSigmaClip) {
    sigma_clip_pixel(c, pix, s);
    return 0;  // counting, neighbour events and cleanup follow in the kNone pass
  }
  if (c.mode == Mode::kIterative) {
    iterative_pixel(c, pix, rn2_over, s);
  } else if (c.mode == Mode::kSinglePass) {
    for (std::int64_t i = 0; i < g.nints; ++i)
      for (std::int64_t k = 0; k < g.ndiff; ++k) {
        const double f = s.fd[i * g.ndiff + k];
        if (std::isfinite(f) && std::fabs(f - med) / sig > p.rejection_threshold)
          c.gdq[(i * g.ngroups + k + 1) * g.npix + pix] |= kJump;
      }
  }
  std::int64_t njump = 0;
  for (std::int64_t i = 0; i < g.nints; ++i)
    for (std::int64_t k = 0; k < g.ngroups; ++k) {
      const std::uint8_t q = c.gdq[(i * g.ngroups + k) * g.npix + pix];
      if (!(q & kJump)) continue;
      ++njump;
      if (!c.want_events || k == 0) continue;
      const double r = std::fabs(s.fd[i * g.ndiff + k - 1] - med) / sig;
      if (r < p.max_jump_to_flag_neighbors && r > p.min_jump_to_flag_neighbors)
        events.push_back({static_cast<std::int32_t>(i * g.ngroups + k), pix});
    }
  if (!c.after_jump) cleanup_pixel(c, pix);
  return njump;
}

// stcal transient_jumps for one pixel (after neighbour flagging), then the cleanup.
void after_jump_pixel(const Context& c, std::int64_t pix, Scratch& s) {
  const Geometry& g = c.g;
  const float gain = c.gain[pix];
  load_diffs(c, pix, gain, s);
  const int n = static_cast<int>(g.nints * g.ndiff);
  const double med = median_sorted(s.sorted.data(), sort_finite(s.fd.data(), n, s.sorted.data()));
  for (std::int64_t i = 0; i < g.nints; ++i) {
    int until1 = -1, until2 = -1;  // last group index to flag
    for (std::int64_t k = 1; k < g.ngroups; ++k) {
      std::uint8_t& q = c.gdq[(i * g.ngroups + k) * g.npix + pix];
      const bool flag = (k <= until1) || (k <= until2);
      if (q & kJump) {
        const double ej = (s.fd[i * g.ndiff + k - 1] - med) * 1.0;
        if (ej >= c.e1 && c.n1 > 0) until1 = std::max<int>(until1, static_cast<int>(k) + c.n1);
        if (ej >= c.e2 && c.n2 > 0) until2 = std::max<int>(until2, static_cast<int>(k) + c.n2);
      }
      if (flag && !(q & (kSat | kDnu))) q |= kJump;
    }
  }
  cleanup_pixel(c, pix);
}

double nanmedian_f32(std::span<const float> v) {
  std::vector<float> t;
  t.reserve(v.size());
  for (float x : v)
    if (!std::isnan(x)) t.push_back(x);
  if (t.empty()) return kNaN;
  std::sort(t.begin(), t.end());
  const std::size_t m = t.size();
  if (m & 1) return t[m / 2];
  return static_cast<float>((t[m / 2 - 1] + t[m / 2]) / 2.0f);
}

using namespace ::stpipe::steps::detail;  // sorting networks (steps/detail/sort_network.h)

constexpr int kMaxBlockDiffs = 64;   // larger ramps use the scalar path only
constexpr int kPrefetchAhead = 256;  // pixels ahead in each group plane

// First iteration of the iterative search (or the whole single-pass test) for kLanes adjacent
// pixels, vectorised across pixels. Returns a lane mask of pixels that need the full scalar
// routine: a new jump was found, or groupdq already holds JUMP bits (neighbour events, cleanup).
// The other pixels need no change.
unsigned first_pass_block(const Context& c, std::int64_t pix0,
                          const std::vector<std::pair<int, int>>& net) {
  const Geometry& g = c.g;
  const JumpParams& p = *c.p;
  const int n = static_cast<int>(g.nints * g.ndiff);
  const bool single = c.mode == Mode::kSinglePass;
  alignas(64) double a[kMaxBlockDiffs][kLanes];
  alignas(64) double srt[kMaxBlockDiffs][kLanes];
  alignas(64) float eprev[kLanes], ecur[kLanes], gainv[kLanes];
  alignas(64) double rn2o[kLanes], med[kLanes], sig[kLanes];
  alignas(64) int u[kLanes];
  alignas(64) std::uint32_t anyjump[kLanes];
  const double inf = std::numeric_limits<double>::infinity();
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) {
    const float gn = c.gain[pix0 + l];
    gainv[l] = gn;
    const float rne = c.rnoise[pix0 + l] * gn;
    const float rn2 = rne * rne;
    rn2o[l] = static_cast<double>(rn2) / c.nframes;
    u[l] = 0;
    anyjump[l] = 0;
  }
  for (std::int64_t i = 0; i < g.nints; ++i) {
    for (std::int64_t k = 0; k < g.ngroups; ++k) {
      const std::int64_t base = (i * g.ngroups + k) * g.npix + pix0;
      const float* d = c.data + base;
      const std::uint8_t* q = c.gdq + base;
      const int j = static_cast<int>(i * g.ndiff + k - 1);
      __builtin_prefetch(d + kPrefetchAhead);
      __builtin_prefetch(q + kPrefetchAhead);
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        // NaN where DNU or SAT, as a bit select so that the loop vectorises.
        const std::uint32_t qq = q[l];
        const std::uint32_t vb = std::bit_cast<std::uint32_t>(d[l] * gainv[l]);
        const std::uint32_t badm = 0u - static_cast<std::uint32_t>((qq & (kDnu | kSat)) != 0);
        ecur[l] = std::bit_cast<float>((vb & ~badm) | (0x7fc00000u & badm));
        anyjump[l] |= qq & kJump;
      }
      if (k > 0) {
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) {
          const double f0 = static_cast<double>(ecur[l] - eprev[l]);
          const double f = single ? f0 : std::fabs(f0);
          const bool nan = f != f;
          a[j][l] = f;
          srt[j][l] = nan ? inf : f;
          u[l] += !nan;
        }
      }
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) eprev[l] = ecur[l];
    }
  }
  sort_lanes(srt, n, net);
  if (single) {
    // Single pass: the signed median and sigma; a pixel needs the per-pixel routine when some
    // finite diff is beyond the threshold. max|d - m| / sigma decides it exactly, as division by
    // the same positive sigma is monotonic.
    alignas(64) int lo_s[kLanes], hi_s[kLanes];
    alignas(64) double lo_w[kLanes] = {}, hi_w[kLanes] = {}, dev[kLanes];
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      lo_s[l] = (u[l] - 1) / 2;
      hi_s[l] = u[l] / 2;
      dev[l] = -inf;
    }
    for (int j = 0; j < n; ++j) {
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        lo_w[l] = (j == lo_s[l]) ? srt[j][l] : lo_w[l];
        hi_w[l] = (j == hi_s[l]) ? srt[j][l] : hi_w[l];
      }
    }
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const double m = (u[l] & 1) ? lo_w[l] : (lo_w[l] + hi_w[l]) / 2.0;
      med[l] = u[l] == 0 ? std::numeric_limits<double>::quiet_NaN() : m;
      sig[l] = std::fabs(med[l]) * 1.0 + rn2o[l];
    }
    sqrt_lanes(sig);
    for (int j = 0; j < n; ++j) {
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        const double x = a[j][l];
        const double d = std::fabs(x - med[l]);
        const bool fin = std::fabs(x) <= std::numeric_limits<double>::max();
        dev[l] = (fin && d > dev[l]) ? d : dev[l];
      }
    }
    unsigned need = 0;
    for (int l = 0; l < kLanes; ++l) {
      const double s = sig[l] / 1.0;
      const double sg = s == 0.0 ? std::numeric_limits<double>::quiet_NaN() : s;
      if (dev[l] / sg > p.rejection_threshold || anyjump[l]) need |= 1u << l;
    }
    return need;
  }
  // Clipped median: drop every copy of the max (u >= 4); u == 3 middle; u == 2 min.
  alignas(64) int lo_i[kLanes], hi_i[kLanes];
  alignas(64) double mx[kLanes], lo_v[kLanes], hi_v[kLanes];
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) {
    mx[l] = -inf;
    lo_v[l] = hi_v[l] = 0.0;
  }
  for (int j = 0; j < n; ++j) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) mx[l] = (j == u[l] - 1) ? srt[j][l] : mx[l];
  }
  alignas(64) int keep[kLanes];
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) keep[l] = 0;
  for (int j = 0; j < n; ++j) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) keep[l] += srt[j][l] < mx[l];
  }
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) {
    const int m = u[l] >= 4 ? keep[l] : u[l] == 3 ? 3 : 1;  // u == 2: the min, index 0
    lo_i[l] = m & 1 ? m / 2 : m / 2 - 1;
    hi_i[l] = m / 2;
    if (u[l] == 2) lo_i[l] = hi_i[l] = 0;
  }
  for (int j = 0; j < n; ++j) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      lo_v[l] = (j == lo_i[l]) ? srt[j][l] : lo_v[l];
      hi_v[l] = (j == hi_i[l]) ? srt[j][l] : hi_v[l];
    }
  }
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) {
    double m = lo_i[l] == hi_i[l] ? lo_v[l] : (lo_v[l] + hi_v[l]) / 2.0;
    const bool none = u[l] < 2 || (u[l] >= 4 && keep[l] == 0);
    m = none ? std::numeric_limits<double>::quiet_NaN() : m;
    med[l] = m;
    sig[l] = std::fabs(m) * 1.0 + rn2o[l];
  }
  sqrt_lanes(sig);
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) {
    const double s = sig[l] / 1.0;
    sig[l] = s == 0.0 ? std::numeric_limits<double>::quiet_NaN() : s;
  }
  // Division by the same sigma is monotonic, so max(|e|) / sigma == max(|e| / sigma) exactly.
  alignas(64) double gmax[kLanes];
  alignas(64) double rmax[kMaxBlockDiffs][kLanes];  // per integration (nints <= kMaxBlockDiffs)
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) gmax[l] = -inf;
  for (std::int64_t i = 0; i < g.nints; ++i) {
    alignas(64) float emax[kLanes];
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) emax[l] = -std::numeric_limits<float>::infinity();
    for (std::int64_t k = 0; k < g.ndiff; ++k) {
      const std::int64_t j = i * g.ndiff + k;
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        const float ej = std::fabs(static_cast<float>(a[j][l] - med[l]));
        emax[l] = ej > emax[l] ? ej : emax[l];
      }
    }
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const double r = static_cast<double>(emax[l]) / sig[l];
      rmax[i][l] = emax[l] == -std::numeric_limits<float>::infinity() || r != r ? -inf : r;
      gmax[l] = rmax[i][l] > gmax[l] ? rmax[i][l] : gmax[l];
    }
  }
  unsigned need = 0;
  for (int l = 0; l < kLanes; ++l) {
    bool cr = false;
    for (std::int64_t i = 0; i < g.nints; ++i) {
      const double rm = rmax[i][l];
      const bool cri = (u[l] >= 4 && rm > p.rejection_threshold) ||
                       (u[l] == 3 && rm > p.four_group_rejection_threshold) ||
                       (u[l] == 2 && rm > p.three_group_rejection_threshold);
      cr = cr || (cri && rm == gmax[l]);
    }
    if (cr || anyjump[l]) need |= 1u << l;
  }
  return need;
}

constexpr std::int64_t kTileRows = 4;

}  // namespace

JumpResult detect_jumps(const RampShape& shape, const ReadoutTiming& timing,
                        std::span<const float> data, std::span<std::uint8_t> groupdq,
                        std::span<std::uint32_t> pixeldq, std::span<const float> gain,
                        std::span<const float> readnoise, const JumpParams& params) {
  const Geometry g{shape.nints, shape.ngroups, shape.ny, shape.nx, shape.npix(), shape.ngroups - 1};
  if (g.nints <= 0 || g.ngroups <= 0 || g.ny <= 0 || g.nx <= 0)
    throw std::invalid_argument("detect_jumps: empty or negative ramp shape");
  const auto cube = static_cast<std::size_t>(shape.size());
  const auto plane = static_cast<std::size_t>(g.npix);
  if (data.size() != cube || groupdq.size() != cube)
    throw std::invalid_argument("detect_jumps: data/groupdq size does not match the ramp shape");
  if (pixeldq.size() != plane || gain.size() != plane || readnoise.size() != plane)
    throw std::invalid_argument("detect_jumps: pixeldq/gain/readnoise must be ny*nx");
  if (timing.nframes <= 0) throw std::invalid_argument("detect_jumps: nframes must be positive");

  JumpResult res;
  for (std::size_t k = 0; k < plane; ++k)
    if (!(gain[k] > 0.0f)) pixeldq[k] |= dq::kNoGainValue | dq::kDoNotUse;

  // Groups in which every pixel is DO_NOT_USE, per integration.
  std::int64_t max_flagged = 0, total_flagged = 0, last_flagged = 0;
  for (std::int64_t i = 0; i < g.nints; ++i) {
    std::int64_t nflag = 0;
    for (std::int64_t k = 0; k < g.ngroups; ++k) {
      const std::uint8_t* q = groupdq.data() + (i * g.ngroups + k) * g.npix;
      bool all = true;
      for (std::int64_t p = 0; p < g.npix && all; ++p) all = (q[p] & kDnu) != 0;
      nflag += all;
    }
    max_flagged = std::max(max_flagged, nflag);
    total_flagged += nflag;
    last_flagged = nflag;
  }
  const std::int64_t min_usable_groups = g.ngroups - max_flagged;
  const std::int64_t total_groups = g.nints * g.ngroups - total_flagged;
  const std::int64_t total_sigclip_groups =
      params.only_use_ints ? g.nints : g.nints * g.ngroups - last_flagged;  // stcal quirk
  const bool sigclip_fails = params.only_use_ints
                                 ? g.nints < params.minimum_sigclip_groups
                                 : total_sigclip_groups < params.minimum_sigclip_groups;
  const bool skipped = min_usable_groups < params.minimum_groups && sigclip_fails;
  const bool use_sigclip =
      !skipped && (params.only_use_ints ? g.nints >= params.minimum_sigclip_groups
                                        : total_groups >= params.minimum_sigclip_groups);

  Context c{};
  c.g = g;
  c.data = data.data();
  c.gdq = groupdq.data();
  c.gain = gain.data();
  c.rnoise = readnoise.data();
  c.p = &params;
  c.mode = (min_usable_groups - 1 >= params.min_diffs_single_pass) ? Mode::kSinglePass
                                                                   : Mode::kIterative;
  c.nframes = 0.5 * (2.0 * timing.nframes);
  c.want_events = params.flag_4_neighbors;
  if (!skipped && (params.after_jump_flag_time1 > 0 || params.after_jump_flag_time2 > 0)) {
    const double medgain = nanmedian_f32(gain);
    c.e1 = params.after_jump_flag_dn1 * medgain;
    c.e2 = params.after_jump_flag_dn2 * medgain;
    const double gt = timing.group_time;
    c.n1 = gt > 0 ? static_cast<int>(std::floor(params.after_jump_flag_time1 / gt)) : 0;
    c.n2 = gt > 0 ? static_cast<int>(std::floor(params.after_jump_flag_time2 / gt)) : 0;
    c.after_jump = c.n1 > 0 || c.n2 > 0;
  }

  const std::int64_t ntiles = (g.ny + kTileRows - 1) / kTileRows;
  if (skipped) {
    res.skipped = true;
    res.mode = "skipped";
#pragma omp parallel for schedule(static) if (ntiles > 1)
    for (std::int64_t t = 0; t < ntiles; ++t)
      for (std::int64_t y = t * kTileRows; y < std::min(g.ny, (t + 1) * kTileRows); ++y)
        for (std::int64_t x = 0; x < g.nx; ++x) cleanup_pixel(c, y * g.nx + x);
    return res;
  }
  res.mode = c.mode == Mode::kSinglePass ? "single_pass" : "iterative";
  if (use_sigclip) {
    res.mode = "sigma_clip";
    c.mode = Mode::kSigmaClip;
#pragma omp parallel if (ntiles > 1)
    {
      Scratch s(g);
      std::vector<NeighborEvent> none;
#pragma omp for schedule(dynamic, 4)
      for (std::int64_t t = 0; t < ntiles; ++t)
        for (std::int64_t y = t * kTileRows; y < std::min(g.ny, (t + 1) * kTileRows); ++y)
          for (std::int64_t x = 0; x < g.nx; ++x) detect_pixel(c, y * g.nx + x, s, none);
    }
    // A group plane in which every pixel has JUMP or DNU: pixels that are exactly JUMP -> 0.
    for (std::int64_t ig = 0; ig < g.nints * g.ngroups; ++ig) {
      std::uint8_t* q = groupdq.data() + ig * g.npix;
      bool all = true;
      for (std::int64_t p = 0; p < g.npix && all; ++p) all = (q[p] & (kJump | kDnu)) != 0;
      if (all)
        for (std::int64_t p = 0; p < g.npix; ++p)
          if (q[p] == kJump) q[p] = 0;
    }
    c.mode = Mode::kNone;
  }

  const int nthreads = omp_get_max_threads();
  const int ndiffs_total = static_cast<int>(g.nints * g.ndiff);
  const bool use_blocks = (c.mode == Mode::kIterative || c.mode == Mode::kSinglePass) &&
                          ndiffs_total >= 1 && ndiffs_total <= kMaxBlockDiffs;
  const auto net = sort_network(std::max(ndiffs_total, 1));
  std::vector<std::vector<NeighborEvent>> events(nthreads);
  std::int64_t primary = 0, slow = 0;
#pragma omp parallel if (ntiles > 1) reduction(+ : primary, slow)
  {
    Scratch s(g);
    auto& ev = events[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 4)
    for (std::int64_t t = 0; t < ntiles; ++t)
      for (std::int64_t y = t * kTileRows; y < std::min(g.ny, (t + 1) * kTileRows); ++y) {
        std::int64_t x = 0;
        if (use_blocks) {
          for (; x + kLanes <= g.nx; x += kLanes) {
            const unsigned need = first_pass_block(c, y * g.nx + x, net);
            for (int l = 0; l < kLanes; ++l)
              if (need & (1u << l)) {
                primary += detect_pixel(c, y * g.nx + x + l, s, ev);
                ++slow;
              }
          }
        }
        for (; x < g.nx; ++x, ++slow) primary += detect_pixel(c, y * g.nx + x, s, ev);
      }
  }
  res.primary_crs = primary;
  res.scalar_pixels = slow;

  // Cross dilation of the strong jumps: JUMP where neither SAT nor DNU is set.
  for (const auto& ev : events) {
    for (const NeighborEvent& e : ev) {
      ++res.neighbor_events;
      std::uint8_t* q = groupdq.data() + static_cast<std::int64_t>(e.plane) * g.npix;
      const std::int64_t y = e.pixel / g.nx, x = e.pixel % g.nx;
      auto mark = [&](std::int64_t yy, std::int64_t xx) {
        std::uint8_t& v = q[yy * g.nx + xx];
        if (!(v & (kSat | kDnu))) v |= kJump;
      };
      mark(y, x);
      if (y > 0) mark(y - 1, x);
      if (y + 1 < g.ny) mark(y + 1, x);
      if (x > 0) mark(y, x - 1);
      if (x + 1 < g.nx) mark(y, x + 1);
    }
  }

  if (c.after_jump) {
#pragma omp parallel if (ntiles > 1)
    {
      Scratch s(g);
#pragma omp for schedule(dynamic, 4)
      for (std::int64_t t = 0; t < ntiles; ++t)
        for (std::int64_t y = t * kTileRows; y < std::min(g.ny, (t + 1) * kTileRows); ++y)
          for (std::int64_t x = 0; x < g.nx; ++x) after_jump_pixel(c, y * g.nx + x, s);
    }
  }
  return res;
}

}  // namespace stpipe::steps
