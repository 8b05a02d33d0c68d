// Jump detection kernel: two-point difference, iterative clipping and neighbour flagging.
#include "stpipe/steps/jump.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "stpipe/steps/detail/simd.h"
#include "stpipe/steps/detail/sort_finite.h"
#include "stpipe/steps/dqflags.h"

namespace stpipe::steps {
namespace {

constexpr std::uint8_t kDnu = static_cast<std::uint8_t>(dq::kDoNotUse);
constexpr std::uint8_t kSat = static_cast<std::uint8_t>(dq::kSaturated);
constexpr std::uint8_t kJump = static_cast<std::uint8_t>(dq::kJumpDet);
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using detail::sort_finite;

// A strong jump whose four neighbours get flagged: diff plane (int i, group g) at pixel p.
struct NeighborEvent {
  std::int32_t plane;  // i * ngroups + g
  std::int64_t pixel;  // y * nx + x
};

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

using namespace ::stpipe::steps::detail;  // lane vectors and sorting networks (detail/simd.h)

constexpr int kLanes = kF32Lanes;    // pixels per screened block (one vector of floats)
constexpr int kMaxBlockDiffs = 64;   // pixels with more differences use the exact routine only
constexpr int kPrefetchAhead = 256;  // pixels ahead in each group plane

// Whether the screen can be used: it compares squared ratios, so the thresholds must be
// positive and finite.
bool screen_applies(const JumpParams& p) {
  for (double t :
       {p.rejection_threshold, p.three_group_rejection_threshold, p.four_group_rejection_threshold})
    if (!(t > 0.0 && t < 1e18)) return false;
  return true;
}

// A conservative screen of kLanes adjacent pixels in single precision: returns the lane mask of
// pixels that may have a jump (or already hold JUMP bits), which the exact per-pixel routine
// then handles. A lane left out is certain to need no change: its first iteration (or the
// single pass) finds nothing, so stcal leaves its groupdq as it is.
//
// The screen uses the same differences (f32, as stcal) and the same sorted order, so the count
// u, the clipped median m and the extreme values are those of the exact routine up to the
// rounding of m (the exact median of an even count is formed in f64). The largest |a - m| over
// the pixel's finite differences is max(a_max - m, m - a_min). A lane is clean when
//   ((e + 2e-6 |m|) (1 + 1e-5))^2 < thr^2 (|m| + rn^2 / nframes),
// which, with every f32 rounding bounded by 2^-24 relative, implies that the exact f64 ratio
// |f32(a - m)| / sigma is at most thr (1 - 8e-6) for every difference: no jump. NaN or
// infinite intermediate values fail the comparison, so such lanes go to the exact routine.
//
// N > 0 is the number of differences (nints * (ngroups - 1)) known at compile time, so that
// the rows stay in registers; N == 0 takes it from the context (up to kMaxBlockDiffs).
template <int N>
unsigned screen_block(const Context& c, std::int64_t pix0,
                      const std::vector<std::pair<int, int>>& net) {
  const Geometry& g = c.g;
  const JumpParams& p = *c.p;
  constexpr int kCap = N > 0 ? N : kMaxBlockDiffs;
  const int n = N > 0 ? N : static_cast<int>(g.nints * g.ndiff);
  const bool single = c.mode == Mode::kSinglePass;
  const f32v zero = {};
  const i32v izero = {};
  const f32v inf = zero + std::numeric_limits<float>::infinity();
  const f32v nan = zero + std::numeric_limits<float>::quiet_NaN();
  const f32v gain = load<f32v>(c.gain + pix0);
  const f32v rne = load<f32v>(c.rnoise + pix0) * gain;
  const f32v rn2o = rne * rne / static_cast<float>(c.nframes);
  // e = data * gain in electrons, NaN where DNU or SAT; anyjump collects the JUMP bits.
  i32v anyjump = izero;
  // One prefetch per cache line ahead: a block may be shorter than a line.
  const bool pf_data = pix0 % (64 / sizeof(float)) < kLanes, pf_gdq = pix0 % 64 < kLanes;
  auto electrons = [&](std::int64_t plane) {
    const std::int64_t base = plane * g.npix + pix0;
    if (pf_data) __builtin_prefetch(c.data + base + kPrefetchAhead);
    if (pf_gdq) __builtin_prefetch(c.gdq + base + kPrefetchAhead);
    const i32v q = widen_u8(c.gdq + base);
    anyjump |= q;
    const f32v e = load<f32v>(c.data + base) * gain;
    return (q & (kDnu | kSat)) != 0 ? nan : e;
  };
  f32v s[kCap];
  i32v u = izero;
  f32v prev = zero;
  std::int64_t k = 0, plane = 1;  // diff j: k within its integration, plane of its group
#pragma GCC unroll 32
  for (int j = 0; j < n; ++j) {
    if (k == 0) prev = electrons(plane - 1);
    const f32v cur = electrons(plane);
    if (++k == g.ndiff) {
      k = 0;
      plane += 2;
    } else {
      ++plane;
    }
    f32v f = cur - prev;
    if (!single) f = f < 0 ? -f : f;
    const i32v ok = f == f;  // not NaN
    u -= ok;
    s[j] = ok ? f : inf;
    prev = cur;
  }
  if constexpr (N > 0)
    sort_rows_n<f32v, N>(s);
  else
    sort_rows(s, n, net);
  const float t4 = static_cast<float>(p.rejection_threshold);
  const f32v smin = s[0];
  f32v smax, m, thr2;
  i32v skip;
  // The usual case: every difference of every lane is usable and (iterative) the maximum is
  // unique, so the median has a fixed position.
  const int nm = single ? n : n - 1;  // values in the median
  const i32v all = u == n;
  const bool fixed = lane_bits(all) == kAllF32Lanes &&
                     (single || n < 4 || lane_bits(s[n - 2] < s[n - 1]) == kAllF32Lanes);
  if (fixed && (single || n >= 4)) {
    smax = s[n - 1];
    m = (s[(nm - 1) / 2] + s[nm / 2]) * 0.5f;
    skip = izero;
    thr2 = zero + t4 * t4;
  } else {
    smax = pick_rows(s, n, u - 1, zero);
    i32v cnt = u;
    if (single) {
      skip = u == 0;
      thr2 = zero + t4 * t4;
    } else {
      // Every copy of the maximum leaves the median when u >= 4; u == 3: the middle; u == 2:
      // the minimum.
      i32v keep = izero;
#pragma GCC unroll 32
      for (int r = 0; r < n; ++r) keep -= s[r] < smax;
      cnt = u >= 4 ? keep : u;
      skip = (u < 2) | ((u >= 4) & (keep == 0));  // no median: NaN sigma, no jump
      const float t5 = static_cast<float>(p.four_group_rejection_threshold);
      const float t6 = static_cast<float>(p.three_group_rejection_threshold);
      thr2 = u >= 4 ? zero + t4 * t4 : (u == 3 ? zero + t5 * t5 : zero + t6 * t6);
    }
    i32v lo = (cnt - 1) >> 1, hi = cnt >> 1;
    if (!single) {
      lo = u == 2 ? izero : lo;
      hi = u == 2 ? izero : hi;
    }
    m = (pick_rows(s, n, lo, zero) + pick_rows(s, n, hi, zero)) * 0.5f;
  }
  const f32v am = m < 0 ? -m : m;
  const f32v up = smax - m, down = m - smin;
  const f32v e = up > down ? up : down;
  const f32v lhs = (e + am * 2e-6f) * 1.00001f;
  const i32v clean = skip | (lhs * lhs < thr2 * (am + rn2o));
  return lane_bits(~clean | ((anyjump & kJump) != 0));
}

using ScreenFn = unsigned (*)(const Context&, std::int64_t,
                              const std::vector<std::pair<int, int>>&);

template <std::size_t... K>
constexpr auto make_screens(std::index_sequence<K...>) {
  return std::array<ScreenFn, sizeof...(K)>{&screen_block<static_cast<int>(K)>...};
}

// The screen for n differences: unrolled for n <= 20 (rows in registers), generic otherwise.
ScreenFn screen_for(int n) {
  static constexpr auto kScreens = make_screens(std::make_index_sequence<21>{});
  return n < static_cast<int>(kScreens.size()) ? kScreens[n] : &screen_block<0>;
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
                          ndiffs_total >= 1 && ndiffs_total <= kMaxBlockDiffs &&
                          screen_applies(params);
  const auto net = sort_network(std::max(ndiffs_total, 1));
  const ScreenFn screen = screen_for(ndiffs_total);
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
            const unsigned need = screen(c, y * g.nx + x, net);
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
