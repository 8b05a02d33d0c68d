// Ramp fitting kernel: per-pixel segments, Fixsen-weighted OLS and inverse-variance combination.
#include "stpipe/steps/ramp_fit.h"

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
constexpr std::uint8_t kPers = static_cast<std::uint8_t>(dq::kPersistence);
constexpr std::uint8_t kChargeLoss = static_cast<std::uint8_t>(dq::kChargeLoss);
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kLargeVariance = 1.e6;
constexpr int kNumPowers = 6;
constexpr float kPowers[kNumPowers] = {0.0f, 0.4f, 1.0f, 3.0f, 6.0f, 10.0f};

// Index into kPowers of the Fixsen exponent for a segment's signal-to-noise ratio.
inline int power_index(double snr) {
  if (snr < 5.) return 0;
  if (snr < 10.) return 1;
  if (snr < 20.) return 2;
  if (snr < 50.) return 3;
  if (snr < 100.) return 4;
  return 5;
}

// The Fixsen weights of one (L, k) for the kNumPowers powers (padded to 8), for a lane-wise
// lookup of each pixel's power.
struct alignas(64) PowerRow {
  double w[8] = {};
};

// Fixed per-call constants.
struct Consts {
  std::int64_t nints, ngroups, npix;
  double tgroup, tframe, t1, ped_tmp;
  bool suppress;
  bool save_opt;
  std::int64_t opt_slots;  // segment slots per integration in the scratch opt arrays
  // weights[(L * kNumPowers + p) * ngroups + k] = glibc powf(|k - mid| / mid, P)
  std::vector<double> weights;
  // len_weights[L * ngroups + k].w[p] = weights[(L * kNumPowers + p) * ngroups + k], for the SIMD
  // paths (8-entry tables for a lane-wise lookup of the power)
  std::vector<PowerRow> len_weights;
};

// One fitted segment.
struct Segment {
  std::int64_t start = 0, length = 0;
  double slope = 0, sigslope = 0, var_p = 0, var_r = 0, var_e = 0, yint = 0, sigyint = 0,
         weight = 0;
};

// Per-integration statistics of a pixel.
struct IntStats {
  int cnt_good = 0, cnt_dnu = 0, cnt_dnu_sat = 0, cnt_sat = 0;
  bool jump = false, pers = false, chargeloss = false, is0 = false, isz = false;
};

// Per-thread scratch (allocated once per thread).
struct Scratch {
  std::vector<double> v, tmp;
  std::vector<std::uint8_t> q, orig;
  std::vector<IntStats> stats;
  std::vector<Segment> segs;      // nints * ngroups
  std::vector<int> nsegs, rsegs;  // kept segments, reported list size (stcal quirk)
  std::vector<double> crmag;      // nints * ngroups
  std::vector<int> ncrs;
  std::vector<double> int_var_r;  // rateints var_rnoise in double
  std::vector<Segment> cl_segs;   // CHARGELOSS re-segmentation
  explicit Scratch(const Consts& c)
      : v(c.nints * c.ngroups),
        tmp(c.ngroups + 1),
        q(c.nints * c.ngroups),
        orig(c.nints * c.ngroups),
        stats(c.nints),
        segs(c.nints * c.ngroups),
        nsegs(c.nints),
        rsegs(c.nints),
        crmag(c.nints * c.ngroups),
        ncrs(c.nints),
        int_var_r(c.nints),
        cl_segs(c.ngroups) {}
};

// stcal compute_integration_segments on q[0..G) (PERSISTENCE ignored); fills segs, returns the
// kept count and sets `reported` to stcal's list size.
int build_segments(const std::uint8_t* q, std::int64_t ngroups, Segment* segs, int& reported) {
  const std::uint8_t npers = static_cast<std::uint8_t>(~kPers);
  int n = 0;
  std::int64_t maxlen = 0;
  bool in_seg = false;
  std::int64_t start = 0;
  auto add = [&](std::int64_t s, std::int64_t e) {
    if (e - s == 1 && maxlen > 1) return;
    segs[n].start = s;
    segs[n].length = e - s;
    ++n;
    maxlen = std::max(maxlen, e - s);
  };
  for (std::int64_t g = 0; g < ngroups; ++g) {
    const std::uint8_t qq = q[g] & npers;
    if (qq == 0) {
      if (!in_seg) {
        start = (g > 0 && (q[g - 1] & npers) == kJump) ? g - 1 : g;
        in_seg = true;
      }
    } else if (in_seg) {
      add(start, g);
      in_seg = false;
    }
  }
  if (in_seg) add(start, ngroups);
  reported = n;
  if (n < 2) return n;
  if (maxlen < 2) {
    segs[0].length = 1;
    return 1;  // stcal keeps the list size unchanged here
  }
  int m = 0;
  for (int j = 0; j < n; ++j)
    if (segs[j].length != 1) segs[m++] = segs[j];
  reported = m;
  return m;
}

// NaN-last ascending sort of the first n values, then stcal's real_nan_median.
double nan_median(double* a, int n) {
  const int m = detail::sort_finite(a, n, a);
  if (m == 0) return kNaN;
  if (m == 1) return a[0];
  if (m == 2) return (a[0] + a[1]) / 2.;
  if (m & 1) return a[m >> 1];
  return (a[m >> 1] + a[(m >> 1) - 1]) / 2.;
}

struct PixelIn {
  double gain, rnoise, dcurrent;
  std::uint32_t pdq;
};

// Read-noise variance of a length-1 or length-2 segment with time t.
inline double rnoise_short(double rn, double gain, double t) {
  double rnum = rn / t;
  rnum = 12. * rnum * rnum;
  double rden = 6.;
  rden = rden * gain * gain;
  return rnum / rden;
}

// Read-noise variance of a segment of length L >= 3.
inline double rnoise_default(double rn, double gain, double tgroup, double seglen) {
  if (gain <= 0. || std::isnan(gain)) return 0.;
  double rnum = rn / tgroup;
  rnum = 12. * rnum * rnum;
  double rden = seglen * seglen * seglen - seglen;
  rden = rden * gain * gain;
  return rnum / rden;
}

inline double len1_timing(const Consts& c, const IntStats& st) {
  if (!c.suppress) {
    if (st.is0) return c.t1;
    if (st.isz) return c.tframe;
  }
  return c.tgroup;
}

// Fits one segment of integration data v (already NaN for SAT groups).
void fit_segment(const Consts& c, const PixelIn& px, double mr, const IntStats& st, const double* v,
                 Segment& s) {
  const double num_p = mr > 0. ? mr + px.dcurrent : px.dcurrent;
  if (s.length == 1) {
    const double t = len1_timing(c, st);
    s.slope = v[s.start] / t;
    s.var_p = num_p / (t * px.gain);
    s.var_r = rnoise_short(px.rnoise, px.gain, t);
    s.var_e = s.var_p + s.var_r;
    s.sigslope = s.yint = s.sigyint = 0.;
    s.weight = 1. / s.var_r;
    return;
  }
  if (s.length == 2) {
    const double d0 = v[s.start], d1 = v[s.start + 1];
    s.slope = (d1 - d0) / c.tgroup;
    s.var_p = num_p / (c.tgroup * px.gain);
    s.var_r = rnoise_short(px.rnoise, px.gain, c.tgroup);
    s.var_e = s.var_p + s.var_r;
    s.sigslope = 1.41421356 * px.rnoise;
    const double second = static_cast<double>(s.start) + 1.;
    s.yint = d1 * (1. - second) + d0 * second;
    s.sigyint = s.sigslope;
    s.weight = 1. / s.var_r;
    return;
  }
  const std::int64_t L = s.length;
  // Signal to noise and the Fixsen power.
  const double delta = v[s.start + L - 1] - v[s.start];
  const double den_snr = px.rnoise * px.rnoise + delta * px.gain;
  double snr;
  if (den_snr <= 0. || px.gain == 0.) {
    snr = 0.;
  } else {
    const double S = (delta * px.gain) / std::sqrt(den_snr);
    snr = S < 0. ? 0. : S;
  }
  const double* w = c.weights.data() + (L * kNumPowers + power_index(snr)) * c.ngroups;
  const double invrn2 = 1. / (px.rnoise * px.rnoise);
  double sumw = 0., sumx = 0., sumxx = 0., sumy = 0., sumxy = 0.;
  for (std::int64_t k = 0; k < L; ++k) {
    const double weight = w[k] * invrn2;
    const double xval = static_cast<double>(k) + static_cast<double>(s.start);
    double data = v[s.start + k];
    data = std::isnan(data) ? 0. : data;
    const double xwt = xval * weight;
    sumw += weight;
    sumx += xwt;
    sumxx += xval * xwt;
    sumy += data * weight;
    sumxy += data * xwt;
  }
  const double den = sumw * sumxx - sumx * sumx;
  const double num = sumw * sumxy - sumx * sumy;
  const double invden = 1. / den;
  s.slope = (num * invden) / c.tgroup;
  s.sigslope = std::sqrt(sumw * invden);
  s.yint = (sumxx * sumy - sumx * sumxy) * invden;
  s.sigyint = std::sqrt(sumxx * invden);
  const double seglen = static_cast<double>(L);
  s.var_p = num_p / (c.tgroup * px.gain * (seglen - 1.));
  s.var_r = rnoise_default(px.rnoise, px.gain, c.tgroup, seglen);
  s.var_e = s.var_p + s.var_r;
  s.weight = 1. / s.var_r;
}

// Rate accumulators of one pixel.
struct RateAcc {
  double slope = 0, var_poisson = 0, var_rnoise = 0;
  std::uint32_t dq = 0;
};

// Results of one integration of one pixel.
struct IntOut {
  double slope = 0, var_poisson = 0, var_rnoise = 0, err = 0;
  std::uint32_t dq = 0;
};

// Output destinations; opt arrays use ngroups segment slots and ngroups CR slots per integration.
struct Outs {
  RateArrays rate;
  RateArrays rateints;
  RampFitOptional* opt;
};

// Fits one pixel; returns true when group 0 is saturated in every integration.
bool fit_pixel(const Consts& c, const RampFitInputs& in, bool numpy1, std::int64_t pix, Scratch& s,
               const Outs& o, std::int64_t& max_segs, std::int64_t& max_crs) {
  const std::int64_t G = c.ngroups, N = c.nints, P = c.npix;
  std::uint8_t* gdq = in.groupdq.data();
  const float* data = in.data.data();

  PixelIn px;
  px.pdq = in.pixeldq[pix];
  px.gain = static_cast<double>(in.gain[pix]);
  if (px.gain <= 0. || std::isnan(px.gain)) px.pdq |= dq::kDoNotUse | dq::kNoGainValue;
  px.rnoise = static_cast<double>(
      scaled_readnoise(in.readnoise[pix], in.gain[pix], in.timing.nframes, numpy1));
  px.dcurrent = in.average_dark_current.empty() ? 0. : in.average_dark_current[pix];

  // Load, suppress one-good-group ramps (mutating groupdq, as stcal does) and count.
  bool all_sat0 = true;
  bool any_chargeloss = false;
  for (std::int64_t i = 0; i < N; ++i) {
    std::uint8_t* q = s.q.data() + i * G;
    int good_np = 0;
    for (std::int64_t g = 0; g < G; ++g) {
      q[g] = gdq[(i * G + g) * P + pix];
      s.orig[i * G + g] = q[g];
      good_np += (q[g] & static_cast<std::uint8_t>(~kPers)) == 0;
    }
    if (c.suppress && good_np == 1) {
      for (std::int64_t g = 0; g < G; ++g) {
        q[g] |= kDnu;
        gdq[(i * G + g) * P + pix] = q[g];
      }
    }
    all_sat0 = all_sat0 && (q[0] & kSat);
    IntStats& st = s.stats[i];
    st = IntStats{};
    double* v = s.v.data() + i * G;
    s.ncrs[i] = 0;
    for (std::int64_t g = 0; g < G; ++g) {
      const std::uint8_t qq = q[g];
      st.jump |= (qq & kJump) != 0;
      st.pers |= (qq & kPers) != 0;
      st.chargeloss |= (qq & kChargeLoss) != 0;
      if (qq == 0)
        ++st.cnt_good;
      else if (qq & kDnu)
        ++st.cnt_dnu;
      if (qq & (kDnu | kSat)) ++st.cnt_dnu_sat;
      if (qq & kSat) {
        v[g] = kNaN;
        ++st.cnt_sat;
      } else {
        v[g] = static_cast<double>(data[(i * G + g) * P + pix]);
      }
      if (c.save_opt && g > 0 && (qq & kJump)) s.crmag[i * G + s.ncrs[i]++] = v[g] - v[g - 1];
    }
    any_chargeloss |= st.chargeloss;
    if (!c.suppress) {
      if (st.cnt_good == 1 && q[0] == 0) {
        st.is0 = true;
      } else if (st.cnt_good == 0 && !in.zeroframe.empty()) {
        const double zf = static_cast<double>(in.zeroframe[i * P + pix]);
        if (zf != 0.) {
          v[0] = zf;
          q[0] = 0;
          st.cnt_good = 1;
          --st.cnt_dnu_sat;
          if (st.cnt_sat == G) --st.cnt_sat;
          if (st.cnt_dnu == G) --st.cnt_dnu;
          st.isz = true;
        }
      }
    }
    if (c.save_opt) max_crs = std::max<std::int64_t>(max_crs, s.ncrs[i]);
  }

  // Median rate over the integrations.
  double mr = 0.;
  if (G == 1) {
    double acc = 0.;
    for (std::int64_t i = 0; i < N; ++i) acc += s.v[i * G] / c.t1;
    mr = acc / static_cast<double>(N);
  } else {
    double acc = 0.;
    for (std::int64_t i = 0; i < N; ++i) {
      const double* v = s.v.data() + i * G;
      const std::uint8_t* q = s.q.data() + i * G;
      double m;
      if (s.stats[i].is0) {
        m = v[0] / c.t1;
      } else if (s.stats[i].isz) {
        m = v[0] / c.tframe;
      } else {
        double* w = s.tmp.data();
        for (std::int64_t g = 0; g < G; ++g) w[g] = (q[g] & kDnu) ? kNaN : v[g] / c.tgroup;
        const double loc0 = w[0];
        bool all_nan = true;
        for (std::int64_t k = 0; k < G - 1; ++k) {
          w[k] = (q[k + 1] & kJump) ? kNaN : w[k + 1] - w[k];
          if (!std::isnan(w[k])) all_nan = false;
        }
        if (all_nan && !std::isnan(loc0)) w[0] = loc0;
        m = nan_median(w, static_cast<int>(G - 1));
      }
      if (std::isnan(m)) m = 0.;
      acc += m;
    }
    mr = acc / static_cast<double>(static_cast<float>(N));
  }

  // Per-integration fits.
  RateAcc rate;
  rate.dq = px.pdq;
  int dnu_cnt = 0, sat_cnt = 0;
  bool rate_sat = false;
  for (std::int64_t i = 0; i < N; ++i) {
    const IntStats& st = s.stats[i];
    const std::uint8_t* q = s.q.data() + i * G;
    const double* v = s.v.data() + i * G;
    Segment* segs = s.segs.data() + i * G;
    IntOut io;
    io.dq = px.pdq;
    if (st.jump) {
      io.dq |= dq::kJumpDet;
      rate.dq |= dq::kJumpDet;
    }
    if (st.pers) {
      io.dq |= dq::kPersistence;
      rate.dq |= dq::kPersistence;
    }
    int nseg = 0, reported = 0;
    if (q[0] & kSat) {
      io.dq |= dq::kDoNotUse | dq::kSaturated;
      io.slope = kNaN;
    } else {
      nseg = build_segments(q, G, segs, reported);
    }
    s.nsegs[i] = nseg;
    s.rsegs[i] = reported;
    if (st.cnt_dnu_sat == G) {
      io.dq |= dq::kDoNotUse;
      if (st.cnt_sat == G) io.dq |= dq::kSaturated;
      for (int j = 0; j < nseg; ++j) segs[j] = Segment{segs[j].start, segs[j].length};
    } else if (nseg > 0) {
      double inv_r = 0., inv_p = 0., inv_e = 0., num = 0.;
      for (int j = 0; j < nseg; ++j) {
        Segment& sg = segs[j];
        fit_segment(c, px, mr, st, v, sg);
        inv_r += 1. / sg.var_r;
        if (sg.var_p > 0.) inv_p += 1. / sg.var_p;
        inv_e += 1. / sg.var_e;
        num += sg.slope / sg.var_r;
      }
      if (inv_p > 0.) io.var_poisson = 1. / inv_p;
      if (io.var_poisson >= kLargeVariance) io.var_poisson = 0.;
      io.var_rnoise = 1. / inv_r;
      if (io.var_rnoise >= kLargeVariance) io.var_rnoise = 0.;
      if (io.dq & (dq::kDoNotUse | dq::kSaturated)) {
        io.slope = kNaN;
        io.var_poisson = io.var_rnoise = io.err = 0.;
      } else {
        const double var_err = 1. / inv_e;
        io.slope = num * io.var_rnoise;
        io.err = var_err > kLargeVariance ? 0. : std::sqrt(var_err);
      }
      if (inv_p > 0.) rate.var_poisson += inv_p;
      rate.var_rnoise += inv_r;
      rate.slope += num;
    }
    if (io.dq & dq::kDoNotUse) {
      ++dnu_cnt;
      io.slope = kNaN;
    }
    if (c.save_opt) {
      double ped = 0.;
      if (!(io.dq & dq::kSaturated)) {
        ped = v[0] - io.slope * c.ped_tmp;
        if (std::isnan(ped)) ped = 0.;
      }
      o.opt->pedestal[i * P + pix] = static_cast<float>(ped);
    }
    if (io.dq & dq::kSaturated) {
      ++sat_cnt;
      io.slope = kNaN;
    }
    if (st.cnt_sat > 0) {
      io.dq |= dq::kSaturated;
      rate_sat = true;
    }
    const std::int64_t oi = i * P + pix;
    o.rateints.slope[oi] = static_cast<float>(io.slope);
    o.rateints.dq[oi] = io.dq;
    o.rateints.var_poisson[oi] = static_cast<float>(io.var_poisson);
    o.rateints.var_rnoise[oi] = static_cast<float>(io.var_rnoise);
    s.int_var_r[i] = io.var_rnoise;
    o.rateints.err[oi] = static_cast<float>(io.err);
  }

  if (dnu_cnt == N) rate.dq |= dq::kDoNotUse;
  if (sat_cnt == N) rate.dq |= dq::kSaturated;
  if (rate.var_poisson > 0.) rate.var_poisson = 1. / rate.var_poisson;
  if (rate.var_poisson >= kLargeVariance || rate.var_poisson < 0.) rate.var_poisson = 0.;
  if (rate.var_rnoise > 0.) rate.var_rnoise = 1. / rate.var_rnoise;
  if (rate.var_rnoise >= kLargeVariance) rate.var_rnoise = 0.;
  double err = std::sqrt(rate.var_poisson + rate.var_rnoise);
  if (rate.dq & (dq::kDoNotUse | dq::kSaturated)) {
    rate.slope = kNaN;
    rate.var_poisson = rate.var_rnoise = err = 0.;
  }
  if (rate_sat) rate.dq |= dq::kSaturated;
  if (!std::isnan(rate.slope)) rate.slope = rate.slope * rate.var_rnoise;

  // CHARGELOSS: recompute the read-noise variances with CHARGELOSS|DNU groups restored.
  if (any_chargeloss) {
    double evar_r = 0.;
    for (std::int64_t i = 0; i < N; ++i) {
      const std::int64_t oi = i * P + pix;
      if (!s.stats[i].chargeloss) {
        if (s.int_var_r[i] > 0.) evar_r += 1. / s.int_var_r[i];
        continue;
      }
      std::uint8_t* oq = s.orig.data() + i * G;
      for (std::int64_t g = 0; g < G; ++g)
        if (oq[g] & kChargeLoss) oq[g] ^= static_cast<std::uint8_t>(kDnu | kChargeLoss);
      int reported = 0;
      const int nseg = build_segments(oq, G, s.cl_segs.data(), reported);
      double inv = 0.;
      for (int j = 0; j < nseg; ++j) {
        const std::int64_t L = s.cl_segs[j].length;
        double svar;
        if (L == 1)
          svar = rnoise_short(px.rnoise, px.gain, len1_timing(c, s.stats[i]));
        else if (L == 2)
          svar = rnoise_short(px.rnoise, px.gain, c.tgroup);
        else
          svar = rnoise_default(px.rnoise, px.gain, c.tgroup, static_cast<double>(L));
        if (svar > 0.) inv += 1. / svar;
      }
      double vr = 1. / inv;
      if (vr >= kLargeVariance) vr = 0.;
      o.rateints.var_rnoise[oi] = static_cast<float>(vr);
      evar_r += inv;
    }
    if (evar_r > 0.) rate.var_rnoise = 1. / evar_r;
    if (rate.var_rnoise >= kLargeVariance) rate.var_rnoise = 0.;
  }

  o.rate.slope[pix] = static_cast<float>(rate.slope);
  o.rate.dq[pix] = rate.dq;
  o.rate.var_poisson[pix] = static_cast<float>(rate.var_poisson);
  o.rate.var_rnoise[pix] = static_cast<float>(rate.var_rnoise);
  o.rate.err[pix] = static_cast<float>(err);

  if (c.save_opt) {
    RampFitOptional& op = *o.opt;
    for (std::int64_t i = 0; i < N; ++i) {
      max_segs = std::max<std::int64_t>(max_segs, s.rsegs[i]);
      const Segment* segs = s.segs.data() + i * G;
      for (int j = 0; j < s.nsegs[i]; ++j) {
        const std::int64_t oi = (i * c.opt_slots + j) * P + pix;
        op.slope[oi] = static_cast<float>(segs[j].slope);
        op.sigslope[oi] = static_cast<float>(segs[j].sigslope);
        op.var_poisson[oi] = static_cast<float>(segs[j].var_p);
        op.var_rnoise[oi] = static_cast<float>(segs[j].var_r);
        op.yint[oi] = static_cast<float>(segs[j].yint);
        op.sigyint[oi] = static_cast<float>(segs[j].sigyint);
        op.weights[oi] = static_cast<float>(segs[j].weight);
      }
      for (int j = 0; j < s.ncrs[i]; ++j)
        op.crmag[(i * c.opt_slots + j) * P + pix] = static_cast<float>(s.crmag[i * G + j]);
    }
  }
  return all_sat0;
}

void check_rate(const RateArrays& r, std::size_t n, const char* what) {
  if (r.slope.size() != n || r.dq.size() != n || r.err.size() != n || r.var_poisson.size() != n ||
      r.var_rnoise.size() != n)
    throw std::invalid_argument(std::string("fit_ramps: ") + what + " arrays have the wrong size");
}

// Shrinks a (nints, slots, npix) array to (nints, keep, npix).
void compact(std::vector<float>& a, std::int64_t nints, std::int64_t slots, std::int64_t keep,
             std::int64_t npix) {
  for (std::int64_t i = 0; i < nints; ++i)
    for (std::int64_t j = 0; j < keep; ++j)
      std::memmove(a.data() + (i * keep + j) * npix, a.data() + (i * slots + j) * npix,
                   sizeof(float) * npix);
  a.resize(nints * keep * npix);
}

using namespace ::stpipe::steps::detail;  // lane vectors and sorting networks (detail/simd.h)

constexpr int kLanes = kF64Lanes;             // pixels per SIMD block (one vector of doubles)
constexpr std::int64_t kMaxBlockGroups = 64;  // longer ramps use the scalar path only
constexpr int kPrefetchAhead = 256;           // pixels ahead in each group plane

// keep ? x : +0.0 lane-wise.
inline f64v keep_or_zero(i64v keep, f64v x) {
  return reinterpret_cast<f64v>(reinterpret_cast<i64v>(x) & keep);
}

// Lane l: t.w[idx[l]] (idx in [0, 8)): the Fixsen weight of power index idx.
inline f64v lookup_power(const PowerRow& t, i64v idx) {
#if defined(__AVX512F__)
  return reinterpret_cast<f64v>(
      _mm512_permutexvar_pd(reinterpret_cast<__m512i>(idx), _mm512_loadu_pd(t.w)));
#elif defined(__AVX2__)
  // Two 4-entry halves, each permuted as 8 floats by the pair (2i, 2i + 1) of i = idx & 3,
  // then the half chosen by bit 2 of idx (loop-invariant index work is hoisted by the compiler).
  const i64v i2 = (idx & 3) << 1;
  const __m256i perm = reinterpret_cast<__m256i>(i2 | ((i2 + 1) << 32));
  const __m256d lo = _mm256_castps_pd(
      _mm256_permutevar8x32_ps(_mm256_loadu_ps(reinterpret_cast<const float*>(t.w)), perm));
  const __m256d hi = _mm256_castps_pd(
      _mm256_permutevar8x32_ps(_mm256_loadu_ps(reinterpret_cast<const float*>(t.w + 4)), perm));
  return reinterpret_cast<f64v>(_mm256_blendv_pd(lo, hi, reinterpret_cast<__m256d>(idx << 61)));
#else
  f64v r;
  for (int l = 0; l < kF64Lanes; ++l) r[l] = t.w[idx[l] & 7];
  return r;
#endif
}

// The read noise scaled as scaled_readnoise does, lane-wise.
inline f32h scaled_readnoise_lanes(f32h rf, f32h gf, bool numpy1, double root) {
  if (numpy1) return rf * (gf / static_cast<float>(root));
  return __builtin_convertvector(
      __builtin_convertvector(rf, f64v) * (__builtin_convertvector(gf, f64v) / root), f32h);
}

// fit_segment's Poisson variance and read-noise variance (rnoise_short, rnoise_default with
// gain > 0) of a segment of length L >= 2, lane-wise.
inline void segment_variances_lanes(std::int64_t L, f64v num_p, f64v rn, f64v gain, double tgroup,
                                    f64v& var_p, f64v& var_r) {
  const f64v zero = {};
  const double seglen = static_cast<double>(L);
  f64v rnum = rn / tgroup;
  rnum = 12. * rnum * rnum;
  f64v rden = zero + (L == 2 ? 6. : seglen * seglen * seglen - seglen);
  rden = rden * gain * gain;
  var_r = rnum / rden;
  var_p = L == 2 ? num_p / (tgroup * gain) : num_p / (tgroup * gain * (seglen - 1.));
}

// fit_pixel's products of an integration from its sums of inverse variances, lane-wise:
// var_poisson and var_rnoise (0 where >= kLargeVariance) and err (0 where its variance is above).
inline void integration_variances_lanes(f64v inv_p, f64v inv_r, f64v inv_e, f64v& ivp, f64v& ivr,
                                        f64v& ierr) {
  const f64v zero = {};
  const f64v recip_ip = 1. / inv_p;
  ivp = inv_p > 0. ? recip_ip : zero;
  ivp = ivp >= kLargeVariance ? zero : ivp;
  ivr = 1. / inv_r;
  ivr = ivr >= kLargeVariance ? zero : ivr;
  const f64v ve = 1. / inv_e;
  ierr = keep_or_zero(~(ve > kLargeVariance), sqrt_lanes(ve));
}

// fit_segment's slope of the segment [start, start + L) of rows v (L >= 3, no NaN), lane-wise,
// operation for operation: its signal to noise, Fixsen power (`wt` = c.len_weights + L * G, the
// segment's weights by power) and weighted least squares.
[[gnu::always_inline]] inline f64v ols_slope_lanes(const Consts& c, const f64v* v,
                                                   std::int64_t start, std::int64_t L,
                                                   const PowerRow* wt, f64v gain, f64v rn,
                                                   f64v invrn2) {
  const f64v zero = {};
  const i64v izero = {};
  const f64v delta = v[start + L - 1] - v[start];
  const f64v den = rn * rn + delta * gain;
  const f64v root_s = sqrt_lanes(den <= 0. ? zero + 1. : den);  // NaN stays NaN
  const f64v S = (delta * gain) / root_s;
  const i64v keep = ~((S < 0.) | (den <= 0.) | (gain == 0.));
  const f64v snr = keep_or_zero(keep, S);
  // snr_power: thresholds 5, 10, 20, 50, 100 (NaN -> the last power, as in stcal).
  i64v pidx = izero + (kNumPowers - 1);
  pidx += snr < 5.;
  pidx += snr < 10.;
  pidx += snr < 20.;
  pidx += snr < 50.;
  pidx += snr < 100.;
  f64v sumw = zero, sumx = zero, sumxx = zero, sumy = zero, sumxy = zero;
#pragma GCC unroll 64
  for (std::int64_t k = 0; k < L; ++k) {
    const double xval = static_cast<double>(k) + static_cast<double>(start);
    const f64v weight = lookup_power(wt[k], pidx) * invrn2;
    const f64v xwt = xval * weight;
    sumw += weight;
    sumx += xwt;
    sumxx += xval * xwt;
    sumy += v[start + k] * weight;
    sumxy += v[start + k] * xwt;
  }
  const f64v den2 = sumw * sumxx - sumx * sumx;
  const f64v num = sumw * sumxy - sumx * sumy;
  const f64v invden = 1. / den2;
  return (num * invden) / c.tgroup;
}

// Fits a strip of `nb` (<= kStripBlocks) blocks of kLanes adjacent pixels, all of whose ramps
// are clean (no groupdq bit in any group, finite data, gain > 0, pixeldq without DNU/SAT,
// ngroups >= 2): one segment over the whole ramp in every integration. The arithmetic is
// fit_pixel's, operation for operation, across lanes; a value that fit_pixel computes per
// integration but that depends only on the pixel (the variances of the full-length segment) is
// computed once. The work goes phase by phase over the strip's blocks, so that the long
// division chains of independent blocks overlap. Writes the outputs of every lane and stores in
// bad[b] the mask of lanes of block b that were not clean: the caller refits those with
// fit_pixel. GT > 0 is ngroups known at compile time (rows in registers); 0 takes it from `c`.
constexpr int kStripBlocks = 8;

template <int GT>
void fit_clean_strip(const Consts& c, const RampFitInputs& in, bool numpy1, std::int64_t pix0,
                     int nb, const std::vector<std::pair<int, int>>& net, const Outs& o, f64v* vbuf,
                     unsigned* bad) {
  constexpr int kCap = GT > 0 ? GT : static_cast<int>(kMaxBlockGroups);
  const std::int64_t G = GT > 0 ? GT : c.ngroups, N = c.nints, P = c.npix;
  const int nd = static_cast<int>(G - 1);
  const float* data = in.data.data();
  const std::uint8_t* gdq = in.groupdq.data();
  const f64v zero = {};
  const i64v izero = {};
  const double root = std::sqrt(2.0 * in.timing.nframes);

  // Phase 1a, one read of each ramp, plane by plane across the strip (one pointer per plane and
  // the blocks at fixed offsets from it: per block, the ten or more plane pointers would not fit
  // in the registers): the ramps as doubles into vbuf, and the OR of every pixel's groupdq bytes.
  typedef std::uint8_t strip_bytes __attribute__((vector_size(kStripBlocks * kLanes)));
  strip_bytes qor = {};
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t g = 0; g < G; ++g) {
      const float* dp = data + (i * G + g) * P + pix0;
      const std::uint8_t* qp = gdq + (i * G + g) * P + pix0;
      for (int l = 0; l < kStripBlocks * kLanes; l += 16)
        __builtin_prefetch(dp + kPrefetchAhead + l);
      __builtin_prefetch(qp + kPrefetchAhead);
      if (nb == kStripBlocks) {
        qor |= load<strip_bytes>(qp);
      } else {
        for (int k = 0; k < nb * kLanes; ++k) qor[k] |= qp[k];
      }
      f64v* vb = vbuf + i * G + g;
      for (int b = 0; b < nb; ++b) vb[b * N * G] = load_f32_as_f64(dp + b * kLanes);
    }

  // Phase 1b, per block: the clean check (no groupdq bit; finite data) and the median rate, the
  // mean over the integrations of the median of the G-1 first differences of v / tgroup.
  f64v mr[kStripBlocks];
  unsigned todo = 0;  // blocks with at least one clean lane
  for (int b = 0; b < nb; ++b) {
    const std::int64_t px = pix0 + b * kLanes;
    i64v finite = izero - 1;
    f64v acc = zero;
    for (std::int64_t i = 0; i < N; ++i) {
      const f64v* v = vbuf + (b * N + i) * G;
      f64v dlt[kCap];
      // The finite check rides on the differences: a NaN or infinite group makes one of its
      // differences (tgroup is finite and positive) and so their running sum non-finite.
      f64v wprev = v[0] / c.tgroup, dsum = zero;
#pragma GCC unroll 64
      for (int k = 0; k < nd; ++k) {
        const f64v w = v[k + 1] / c.tgroup;
        dlt[k] = w - wprev;
        dsum += dlt[k];
        wprev = w;
      }
      finite &= (dsum - dsum) == zero;
      if constexpr (GT > 0)
        sort_rows_n<f64v, GT - 1>(dlt);
      else
        sort_rows(dlt, nd, net);
      const int hi = nd / 2, lo = (nd - 1) / 2;  // the middle one, or the middle two
      f64v m = lo == hi ? dlt[hi] : (dlt[hi] + dlt[lo]) / 2.;
      m = m == m ? m : zero;
      acc += m;
    }
    mr[b] = N != 1 ? acc / static_cast<double>(static_cast<float>(N)) : acc;
    i64v lane_bad = ~finite;
    lane_bad |= widen_u8_i64(reinterpret_cast<const std::uint8_t*>(&qor) + b * kLanes) != 0;
    const f32h gf = load<f32h>(in.gain.data() + px);
    const u32h pdq = load<u32h>(in.pixeldq.data() + px);
    lane_bad |= __builtin_convertvector(~(gf > 0.0f), i64v) != 0;
    lane_bad |= __builtin_convertvector((pdq & (dq::kDoNotUse | dq::kSaturated)) != 0, i64v) != 0;
    bad[b] = lane_bits(lane_bad);
    if (bad[b] != kAllF64Lanes) todo |= 1u << b;
  }

  // Phase 2: the per-pixel variances of the full-length segment, the same in every integration.
  struct PixelVars {
    f64v gain, rn, invrn2, var_r, inv_r, ivr, inv_p, ivp, ierr;
  };
  PixelVars pv[kStripBlocks];
  for (int b = 0; b < nb; ++b) {
    if (!(todo >> b & 1)) continue;
    const std::int64_t px = pix0 + b * kLanes;
    const f32h gf = load<f32h>(in.gain.data() + px);
    const f32h rf = load<f32h>(in.readnoise.data() + px);
    const f32h rne = scaled_readnoise_lanes(rf, gf, numpy1, root);
    PixelVars& x = pv[b];
    x.gain = __builtin_convertvector(gf, f64v);
    x.rn = __builtin_convertvector(rne, f64v);
    const f64v dc = in.average_dark_current.empty()
                        ? zero
                        : load_f32_as_f64(in.average_dark_current.data() + px);
    const f64v num_p = mr[b] > 0. ? mr[b] + dc : dc;
    f64v var_p;
    segment_variances_lanes(G, num_p, x.rn, x.gain, c.tgroup, var_p, x.var_r);
    x.inv_r = 1. / x.var_r;
    const f64v recip_p = 1. / var_p;
    x.inv_p = var_p > 0. ? recip_p : zero;
    const f64v var_e = var_p + x.var_r;
    const f64v inv_e = 0. + 1. / var_e;  // fit_pixel sums from +0
    integration_variances_lanes(x.inv_p, x.inv_r, inv_e, x.ivp, x.ivr, x.ierr);
    x.invrn2 = 1. / (x.rn * x.rn);
  }

  // Phase 3: the slope of each integration, its products, and the exposure's.
  const PowerRow* wt = c.len_weights.data() + G * G;
  for (int b = 0; b < nb; ++b) {
    if (!(todo >> b & 1)) continue;
    const std::int64_t px = pix0 + b * kLanes;
    const PixelVars& x = pv[b];
    const u32h pdq = load<u32h>(in.pixeldq.data() + px);
    f64v rsl = zero;
    for (std::int64_t i = 0; i < N; ++i) {
      const f64v* v = vbuf + (b * N + i) * G;
      f64v slope;
      if (G == 2)
        slope = (v[1] - v[0]) / c.tgroup;
      else
        slope = ols_slope_lanes(c, v, 0, G, wt, x.gain, x.rn, x.invrn2);
      const f64v num = 0. + slope / x.var_r;  // fit_pixel sums from +0
      rsl += num;
      const std::int64_t oi = i * P + px;
      store_f64_as_f32(o.rateints.slope.data() + oi, num * x.ivr);
      store_f64_as_f32(o.rateints.var_poisson.data() + oi, x.ivp);
      store_f64_as_f32(o.rateints.var_rnoise.data() + oi, x.ivr);
      store_f64_as_f32(o.rateints.err.data() + oi, x.ierr);
      store(o.rateints.dq.data() + oi, pdq);
    }
    // The exposure: sums over the integrations of the same inverse variances (with one
    // integration they are the integration's).
    f64v evp = x.ivp, evr = x.ivr;
    if (N != 1) {
      f64v rvp = zero, rvr = zero;
      for (std::int64_t i = 0; i < N; ++i) {
        rvp += x.inv_p;  // inv_p is 0 when var_p <= 0
        rvr += x.inv_r;
      }
      evp = rvp > 0. ? 1. / rvp : rvp;  // stcal keeps the sum otherwise
      evp = (evp >= kLargeVariance) | (evp < 0.) ? zero : evp;
      evr = rvr > 0. ? 1. / rvr : rvr;  // (NaN read noise stays NaN)
      evr = evr >= kLargeVariance ? zero : evr;
    }
    store_f64_as_f32(o.rate.slope.data() + px, rsl * evr);
    store_f64_as_f32(o.rate.err.data() + px, sqrt_lanes(evp + evr));
    store_f64_as_f32(o.rate.var_poisson.data() + px, evp);
    store_f64_as_f32(o.rate.var_rnoise.data() + px, evr);
    store(o.rate.dq.data() + px, pdq);
  }
}

// A ramp of one integration (ngroups >= 3) that fit_pixel would fit as two segments split at a
// single jump: every groupdq byte is 0 except one exactly JUMP_DET in group j >= 1, finite data,
// pixeldq without DNU/SAT, finite gain > 0 and finite read noise > 0. Sets j.
bool single_jump_ramp(const Consts& c, const RampFitInputs& in, std::int64_t pix, int& j) {
  const std::int64_t G = c.ngroups, P = c.npix;
  if (in.pixeldq[pix] & (dq::kDoNotUse | dq::kSaturated)) return false;
  const float g = in.gain[pix], r = in.readnoise[pix];
  if (!(g > 0.0f) || !std::isfinite(g) || !(r > 0.0f) || !std::isfinite(r)) return false;
  j = -1;
  for (std::int64_t k = 0; k < G; ++k) {
    const std::uint8_t q = in.groupdq[k * P + pix];
    if (q != 0) {
      if (q != kJump || k == 0 || j >= 0) return false;
      j = static_cast<int>(k);
    }
    if (!std::isfinite(in.data[k * P + pix])) return false;
  }
  return j >= 1;
}

// Fits n <= kLanes single-jump ramps (single_jump_ramp), all with their jump in group j, one per
// lane: fit_pixel's arithmetic for this case, operation for operation, across lanes (the median
// rate over the G - 2 first differences that do not end at the jump; the segments [0, j) and
// [j, G), a length-1 one dropped; their inverse-variance combination). Lanes n.. repeat pixel
// pix[0] and are not stored. GT > 0 is ngroups known at compile time; 0 takes it from `c`.
template <int GT>
void fit_jump_batch(const Consts& c, const RampFitInputs& in, bool numpy1, int j,
                    const std::int64_t* pix, int n, const std::vector<std::pair<int, int>>& net,
                    const Outs& o) {
  constexpr int kCap = GT > 0 ? GT : static_cast<int>(kMaxBlockGroups);
  const std::int64_t G = GT > 0 ? GT : c.ngroups, P = c.npix;
  const f64v zero = {};
  std::int64_t at[kLanes];
  for (int l = 0; l < kLanes; ++l) at[l] = pix[l < n ? l : 0];
  f64v v[kCap];
  for (std::int64_t g = 0; g < G; ++g)
    for (int l = 0; l < kLanes; ++l) v[g][l] = static_cast<double>(in.data[g * P + at[l]]);
  f32h gf, rf;
  f64v dc = zero;
  u32h pdq;
  for (int l = 0; l < kLanes; ++l) {
    gf[l] = in.gain[at[l]];
    rf[l] = in.readnoise[at[l]];
    pdq[l] = in.pixeldq[at[l]] | dq::kJumpDet;
    if (!in.average_dark_current.empty()) dc[l] = in.average_dark_current[at[l]];
  }
  const f64v gain = __builtin_convertvector(gf, f64v);
  const f64v rn = __builtin_convertvector(
      scaled_readnoise_lanes(rf, gf, numpy1, std::sqrt(2.0 * in.timing.nframes)), f64v);

  // The median rate: differences of v / tgroup, the one ending at the jump left out.
  f64v dlt[kCap];
  {
    f64v wprev = v[0] / c.tgroup;
    int m = 0;
    for (std::int64_t k = 0; k + 1 < G; ++k) {
      const f64v w = v[k + 1] / c.tgroup;
      if (k + 1 != j) dlt[m++] = w - wprev;
      wprev = w;
    }
  }
  const int m = static_cast<int>(G - 2);
  if constexpr (GT > 0)
    sort_rows_n<f64v, GT - 2>(dlt);
  else
    sort_rows(dlt, m, net);
  const int hi = m / 2, lo = (m - 1) / 2;
  f64v med = lo == hi ? dlt[hi] : (dlt[hi] + dlt[lo]) / 2.;
  med = med == med ? med : zero;
  const f64v mr = zero + med;  // fit_pixel's sum over one integration, divided by 1
  const f64v num_p = mr > 0. ? mr + dc : dc;
  const f64v invrn2 = 1. / (rn * rn);

  f64v inv_r = zero, inv_p = zero, inv_e = zero, num = zero;
  const std::int64_t bounds[3] = {0, j, G};
  for (int sgi = 0; sgi < 2; ++sgi) {
    const std::int64_t start = bounds[sgi], L = bounds[sgi + 1] - bounds[sgi];
    if (L < 2) continue;  // a length-1 segment beside a longer one is dropped
    const f64v slope =
        L == 2 ? (v[start + 1] - v[start]) / c.tgroup
               : ols_slope_lanes(c, v, start, L, c.len_weights.data() + L * G, gain, rn, invrn2);
    f64v var_p, var_r;
    segment_variances_lanes(L, num_p, rn, gain, c.tgroup, var_p, var_r);
    const f64v var_e = var_p + var_r;
    inv_r += 1. / var_r;
    const f64v recip_p = 1. / var_p;
    inv_p += var_p > 0. ? recip_p : zero;
    inv_e += 1. / var_e;
    num += slope / var_r;
  }
  f64v ivp, ivr, ierr;
  integration_variances_lanes(inv_p, inv_r, inv_e, ivp, ivr, ierr);
  const f64v islope = num * ivr;
  // With one integration (gain and read noise > 0) the exposure's sums are the integration's,
  // and so are its variances and slope.
  const f64v eerr = sqrt_lanes(ivp + ivr);
  for (int l = 0; l < n; ++l) {
    const std::int64_t p = at[l];
    o.rateints.slope[p] = static_cast<float>(islope[l]);
    o.rateints.dq[p] = pdq[l];
    o.rateints.var_poisson[p] = static_cast<float>(ivp[l]);
    o.rateints.var_rnoise[p] = static_cast<float>(ivr[l]);
    o.rateints.err[p] = static_cast<float>(ierr[l]);
    o.rate.slope[p] = static_cast<float>(islope[l]);
    o.rate.dq[p] = pdq[l];
    o.rate.var_poisson[p] = static_cast<float>(ivp[l]);
    o.rate.var_rnoise[p] = static_cast<float>(ivr[l]);
    o.rate.err[p] = static_cast<float>(eerr[l]);
  }
}

using JumpFn = void (*)(const Consts&, const RampFitInputs&, bool, int, const std::int64_t*, int,
                        const std::vector<std::pair<int, int>>&, const Outs&);

template <std::size_t... K>
constexpr auto make_jump_fitters(std::index_sequence<K...>) {
  return std::array<JumpFn, sizeof...(K)>{&fit_jump_batch<static_cast<int>(K) + 3>...};
}

// The single-jump batch fitter for ngroups >= 3: unrolled for 3..20 groups, generic otherwise.
JumpFn jump_fitter_for(std::int64_t ngroups) {
  static constexpr auto kFitters = make_jump_fitters(std::make_index_sequence<18>{});
  return ngroups >= 3 && ngroups < 21 ? kFitters[ngroups - 3] : &fit_jump_batch<0>;
}

using BlockFn = void (*)(const Consts&, const RampFitInputs&, bool, std::int64_t, int,
                         const std::vector<std::pair<int, int>>&, const Outs&, f64v*, unsigned*);

template <std::size_t... K>
constexpr auto make_blocks(std::index_sequence<K...>) {
  return std::array<BlockFn, sizeof...(K)>{&fit_clean_strip<static_cast<int>(K)>...};
}

// The block fitter for ngroups: unrolled for 2..20 groups, generic otherwise.
BlockFn block_for(std::int64_t ngroups) {
  static constexpr auto kBlocks = make_blocks(std::make_index_sequence<21>{});
  return ngroups >= 2 && ngroups < static_cast<std::int64_t>(kBlocks.size()) ? kBlocks[ngroups]
                                                                             : &fit_clean_strip<0>;
}

constexpr std::int64_t kTileRows = 4;

}  // namespace

float scaled_readnoise(float readnoise, float gain, int nframes, bool numpy1) {
  const double root = std::sqrt(2.0 * nframes);
  if (numpy1) return readnoise * (gain / static_cast<float>(root));
  return static_cast<float>(static_cast<double>(readnoise) * (static_cast<double>(gain) / root));
}

RampFitStats fit_ramps(const RampFitInputs& in, const RampFitParams& params, const RateArrays& rate,
                       const RateArrays& rateints, RampFitOptional* opt, RowRange rows) {
  const RampShape& sh = in.shape;
  if (sh.nints <= 0 || sh.ngroups <= 0 || sh.ny <= 0 || sh.nx <= 0)
    throw std::invalid_argument("fit_ramps: empty or negative ramp shape");
  const std::int64_t row0 = rows.begin, row1 = rows.end < 0 ? sh.ny : rows.end;
  if (row0 < 0 || row1 > sh.ny || row0 >= row1)
    throw std::invalid_argument("fit_ramps: row range [" + std::to_string(row0) + ", " +
                                std::to_string(row1) + ") is empty or outside the " +
                                std::to_string(sh.ny) + " rows");
  const auto cube = static_cast<std::size_t>(sh.size());
  const auto plane = static_cast<std::size_t>(sh.npix());
  if (in.data.size() != cube || in.groupdq.size() != cube)
    throw std::invalid_argument("fit_ramps: data/groupdq size does not match the ramp shape");
  if (in.pixeldq.size() != plane || in.gain.size() != plane || in.readnoise.size() != plane)
    throw std::invalid_argument("fit_ramps: pixeldq/gain/readnoise must be ny*nx");
  if (!in.average_dark_current.empty() && in.average_dark_current.size() != plane)
    throw std::invalid_argument("fit_ramps: average_dark_current must be ny*nx or empty");
  if (!in.zeroframe.empty() && in.zeroframe.size() != plane * sh.nints)
    throw std::invalid_argument("fit_ramps: zeroframe must be nints*ny*nx or empty");
  if (in.timing.nframes <= 0) throw std::invalid_argument("fit_ramps: nframes must be positive");
  check_rate(rate, plane, "rate");
  check_rate(rateints, plane * sh.nints, "rateints");
  if (params.save_opt && opt == nullptr)
    throw std::invalid_argument("fit_ramps: save_opt needs an optional-results destination");
  if (params.save_opt && (row0 != 0 || row1 != sh.ny))
    throw std::invalid_argument("fit_ramps: save_opt fits the whole detector, not a row range");

  Consts c;
  c.nints = sh.nints;
  c.ngroups = sh.ngroups;
  c.npix = sh.npix();
  c.tgroup = static_cast<double>(static_cast<float>(in.timing.group_time));
  c.tframe = static_cast<double>(static_cast<float>(in.timing.frame_time));
  c.t1 = (static_cast<double>(static_cast<float>(in.timing.nframes)) + 1.) * c.tframe / 2.;
  c.ped_tmp = ((in.timing.nframes + 1) / 2. + in.drop_frames1) /
              static_cast<double>(in.timing.nframes + in.timing.groupgap);
  c.suppress = params.suppress_one_group && sh.ngroups > 1;
  c.save_opt = params.save_opt;
  c.opt_slots = sh.ngroups;
  // Fixsen weights, tabulated with glibc powf (scalar calls only).
  c.weights.assign((sh.ngroups + 1) * kNumPowers * sh.ngroups, 0.0);
  for (std::int64_t L = 3; L <= sh.ngroups; ++L) {
    const double mid = static_cast<double>(L - 1) / 2.;
    const double invmid = 1. / mid;
    for (int p = 0; p < kNumPowers; ++p)
      for (std::int64_t k = 0; k < L; ++k) {
        volatile float base =
            static_cast<float>(std::fabs((static_cast<double>(k) - mid) * invmid));
        c.weights[(L * kNumPowers + p) * sh.ngroups + k] =
            static_cast<double>(::powf(base, kPowers[p]));
      }
  }

  c.len_weights.assign((sh.ngroups + 1) * sh.ngroups, PowerRow{});
  for (std::int64_t L = 3; L <= sh.ngroups; ++L)
    for (std::int64_t k = 0; k < L; ++k)
      for (int p = 0; p < kNumPowers; ++p)
        c.len_weights[L * sh.ngroups + k].w[p] = c.weights[(L * kNumPowers + p) * sh.ngroups + k];

  if (params.save_opt) {
    const std::size_t n = static_cast<std::size_t>(sh.nints * c.opt_slots) * plane;
    for (auto* a : {&opt->slope, &opt->sigslope, &opt->var_poisson, &opt->var_rnoise, &opt->yint,
                    &opt->sigyint, &opt->weights, &opt->crmag})
      a->assign(n, 0.0f);
    opt->pedestal.assign(plane * sh.nints, 0.0f);
  }

  Outs o{rate, rateints, opt};
  const bool use_blocks = !params.save_opt && sh.ngroups >= 2 && sh.ngroups <= kMaxBlockGroups &&
                          c.tgroup > 0. && c.tgroup < std::numeric_limits<double>::infinity();
  const BlockFn fit_block = block_for(sh.ngroups);
  const auto net = sort_network(static_cast<int>(std::max<std::int64_t>(sh.ngroups - 1, 1)));
  // Single-jump ramps of one-integration exposures are batched by jump group for the SIMD fit.
  const bool use_jumps = use_blocks && sh.nints == 1 && sh.ngroups >= 3;
  const JumpFn fit_jumps = jump_fitter_for(sh.ngroups);
  const auto net2 = sort_network(static_cast<int>(std::max<std::int64_t>(sh.ngroups - 2, 1)));
  const std::int64_t ntiles = (row1 - row0 + kTileRows - 1) / kTileRows;
  std::int64_t max_segs = -1, max_crs = 0;
  int all_sat = 1;
  std::int64_t slow = 0, batched = 0;
#pragma omp parallel if (ntiles > 1) reduction(max : max_segs, max_crs) reduction(&& : all_sat) reduction(+ : slow, batched)
  {
    Scratch s(c);
    // The strip's ramps as doubles, kept from the clean check for the fit: the group planes
    // are a power of two apart in many exposures (2048^2 floats), and re-reading them there
    // thrashes a few cache sets.
    std::vector<f64v> vbuf(use_blocks ? kStripBlocks * sh.nints * sh.ngroups : 0);
    // Per jump group: pixels waiting for a batch.
    std::vector<std::int64_t> queued(use_jumps ? sh.ngroups * kLanes : 0);
    std::vector<int> nqueued(use_jumps ? sh.ngroups : 0, 0);
#pragma omp for schedule(dynamic, 4)
    for (std::int64_t t = 0; t < ntiles; ++t)
      for (std::int64_t y = row0 + t * kTileRows; y < std::min(row1, row0 + (t + 1) * kTileRows);
           ++y) {
        std::int64_t x = 0;
        if (use_blocks) {
          while (x + kLanes <= sh.nx) {
            const int nb =
                static_cast<int>(std::min<std::int64_t>(kStripBlocks, (sh.nx - x) / kLanes));
            unsigned bad[kStripBlocks];
            fit_block(c, in, params.numpy1_readnoise, y * sh.nx + x, nb, net, o, vbuf.data(), bad);
            for (int b = 0; b < nb; ++b, x += kLanes) {
              if (bad[b] != kAllF64Lanes) all_sat = 0;
              if (bad[b] == 0) continue;
              for (int l = 0; l < kLanes; ++l)
                if (bad[b] & (1u << l)) {
                  int j = 0;
                  const std::int64_t p = y * sh.nx + x + l;
                  if (use_jumps && single_jump_ramp(c, in, p, j)) {
                    all_sat = 0;
                    ++batched;
                    queued[j * kLanes + nqueued[j]] = p;
                    if (++nqueued[j] == kLanes) {
                      fit_jumps(c, in, params.numpy1_readnoise, j, &queued[j * kLanes], kLanes,
                                net2, o);
                      nqueued[j] = 0;
                    }
                    continue;
                  }
                  ++slow;
                  const bool a = fit_pixel(c, in, params.numpy1_readnoise, y * sh.nx + x + l, s, o,
                                           max_segs, max_crs);
                  all_sat = all_sat && a;
                }
            }
          }
        }
        for (; x < sh.nx; ++x, ++slow) {
          const bool a =
              fit_pixel(c, in, params.numpy1_readnoise, y * sh.nx + x, s, o, max_segs, max_crs);
          all_sat = all_sat && a;
        }
      }
    for (std::size_t j = 0; j < nqueued.size(); ++j)
      if (nqueued[j] > 0)
        fit_jumps(c, in, params.numpy1_readnoise, static_cast<int>(j), &queued[j * kLanes],
                  nqueued[j], net2, o);
  }
  if (params.save_opt) {
    max_segs = std::max<std::int64_t>(max_segs, 0);
    opt->max_segs = max_segs;
    opt->max_crs = max_crs;
    for (auto* a : {&opt->slope, &opt->sigslope, &opt->var_poisson, &opt->var_rnoise, &opt->yint,
                    &opt->sigyint, &opt->weights})
      compact(*a, sh.nints, c.opt_slots, max_segs, c.npix);
    compact(opt->crmag, sh.nints, c.opt_slots, max_crs, c.npix);
  }
  return RampFitStats{all_sat != 0, slow, batched};
}

RampFitResult fit_ramps(const RampFitInputs& in, const RampFitParams& params) {
  RampFitResult r;
  const auto plane = static_cast<std::size_t>(in.shape.npix());
  r.rate = RateProduct(plane);
  r.rateints =
      RateProduct(plane * static_cast<std::size_t>(std::max<std::int64_t>(in.shape.nints, 0)));
  const RampFitStats st =
      fit_ramps(in, params, r.rate.view(), r.rateints.view(), params.save_opt ? &r.opt : nullptr);
  r.all_saturated = st.all_saturated;
  r.scalar_pixels = st.scalar_pixels;
  r.jump_pixels = st.jump_pixels;
  return r;
}

}  // namespace stpipe::steps
