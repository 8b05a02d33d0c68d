// Tests of the ramp-fit kernel: stcal golden vectors (rate, rateints, nosup, opt) and edge cases.
#include "stpipe/steps/ramp_fit.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/dqflags.h"
#include "test_support.h"

namespace st = stpipe::steps;
namespace dq = stpipe::dq;
using stpipe::testing::read_npy;
using stpipe::testing::shared_data;

namespace {

template <typename T>
std::vector<T> load(const std::string& c, const std::string& rel) {
  return read_npy(shared_data("vectors/" + c + "/" + rel)).as<T>();
}

// Distance in units in the last place between two floats (NaN == NaN counts as 0).
std::int64_t ulp_distance(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<std::int64_t>::max();
  auto ordered = [](float f) {
    std::int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::min()) - i
                 : static_cast<std::int64_t>(i);
  };
  const std::int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

struct Diff {
  std::int64_t ndiff = 0, maxulp = 0;
};

Diff compare_f32(const std::vector<float>& got, const std::vector<float>& want) {
  Diff d;
  EXPECT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < std::min(got.size(), want.size()); ++k) {
    const std::int64_t u = ulp_distance(got[k], want[k]);
    if (u != 0) ++d.ndiff;
    d.maxulp = std::max(d.maxulp, u);
  }
  return d;
}

std::int64_t compare_u32(const std::vector<std::uint32_t>& got,
                         const std::vector<std::uint32_t>& want) {
  EXPECT_EQ(got.size(), want.size());
  std::int64_t n = 0;
  for (std::size_t k = 0; k < std::min(got.size(), want.size()); ++k) n += got[k] != want[k];
  return n;
}

struct Case {
  std::string name;
  st::RampShape shape;
  st::ReadoutTiming timing;
  bool zeroframe;
};

const Case kRapid{"1x10x256x256", {1, 10, 256, 256}, {10.73677, 10.73677, 1, 0}, false};
const Case kNf4{"2x8x256x256_nf4gg1", {2, 8, 256, 256}, {10.73677, 53.68385, 4, 1}, true};

struct Loaded {
  std::vector<float> data, gain, rn, zf;
  std::vector<std::uint8_t> gdq;
  std::vector<std::uint32_t> pdq;
};

Loaded load_inputs(const Case& c) {
  Loaded l;
  l.data = load<float>(c.name, "stages/dark_current/data.npy.gz");
  l.gdq = load<std::uint8_t>(c.name, "stages/jump/groupdq.npy.gz");
  l.pdq = load<std::uint32_t>(c.name, "stages/jump/pixeldq.npy.gz");
  l.gain = load<float>(c.name, "inputs/gain.npy.gz");
  l.rn = load<float>(c.name, "inputs/readnoise.npy.gz");
  if (c.zeroframe) l.zf = load<float>(c.name, "stages/linearity/zeroframe.npy.gz");
  return l;
}

st::RampFitResult run(const Case& c, Loaded& l, const st::RampFitParams& p) {
  st::RampFitInputs in;
  in.shape = c.shape;
  in.timing = c.timing;
  in.data = l.data;
  in.groupdq = l.gdq;
  in.pixeldq = l.pdq;
  in.gain = l.gain;
  in.readnoise = l.rn;
  in.zeroframe = l.zf;
  return st::fit_ramps(in, p);
}

// Compares one product with a stage folder; returns the per-array differences.
void check_product(const Case& c, const std::string& stage, st::RateProduct& got, bool numpy1,
                   std::int64_t rnoise_tol_ulp) {
  const std::string dir = "stages/" + stage + "/";
  const auto dq_bad = compare_u32(got.dq, load<std::uint32_t>(c.name, dir + "dq.npy.gz"));
  const Diff slope = compare_f32(got.slope, load<float>(c.name, dir + "slope.npy.gz"));
  const Diff err = compare_f32(got.err, load<float>(c.name, dir + "err.npy.gz"));
  const Diff vp = compare_f32(got.var_poisson, load<float>(c.name, dir + "var_poisson.npy.gz"));
  const Diff vr = compare_f32(got.var_rnoise, load<float>(c.name, dir + "var_rnoise.npy.gz"));
  std::printf(
      "[%s %s %s] dq %lld differ; slope %lld (max %lld ulp); err %lld (%lld); "
      "var_poisson %lld (%lld); var_rnoise %lld (%lld) of %zu\n",
      c.name.c_str(), stage.c_str(), numpy1 ? "numpy1" : "numpy2", static_cast<long long>(dq_bad),
      static_cast<long long>(slope.ndiff), static_cast<long long>(slope.maxulp),
      static_cast<long long>(err.ndiff), static_cast<long long>(err.maxulp),
      static_cast<long long>(vp.ndiff), static_cast<long long>(vp.maxulp),
      static_cast<long long>(vr.ndiff), static_cast<long long>(vr.maxulp), got.slope.size());
  EXPECT_EQ(dq_bad, 0);
  EXPECT_EQ(slope.ndiff, 0);
  EXPECT_EQ(vp.ndiff, 0);
  if (numpy1) {
    EXPECT_EQ(err.ndiff, 0);
    EXPECT_EQ(vr.ndiff, 0);
  } else {
    // numpy-2 read-noise rounding differs from the numpy-1.24 baseline by a few ulp.
    EXPECT_LE(vr.maxulp, rnoise_tol_ulp);
    EXPECT_LE(err.maxulp, rnoise_tol_ulp);
  }
}

void run_rate_case(const Case& c, bool suppress, bool numpy1) {
  Loaded l = load_inputs(c);
  st::RampFitParams p;
  p.suppress_one_group = suppress;
  p.numpy1_readnoise = numpy1;
  auto r = run(c, l, p);
  EXPECT_FALSE(r.all_saturated);
  std::printf("[%s] %lld of %lld pixels fitted on the scalar path\n", c.name.c_str(),
              static_cast<long long>(r.scalar_pixels), static_cast<long long>(c.shape.npix()));
  const std::string sfx = suppress ? "" : "_nosup";
  check_product(c, "ramp_fit_rate" + sfx, r.rate, numpy1, 8);
  check_product(c, "ramp_fit_rateints" + sfx, r.rateints, numpy1, 8);
}

void run_opt_case(const Case& c) {
  Loaded l = load_inputs(c);
  st::RampFitParams p;
  p.save_opt = true;
  p.numpy1_readnoise = true;
  auto r = run(c, l, p);
  const std::string dir = "stages/ramp_fit_opt/";
  const auto want_shape =
      read_npy(shared_data("vectors/" + c.name + "/" + dir + "slope.npy.gz")).shape;
  const auto want_cr_shape =
      read_npy(shared_data("vectors/" + c.name + "/" + dir + "crmag.npy.gz")).shape;
  EXPECT_EQ(r.opt.max_segs, want_shape[1]);
  EXPECT_EQ(r.opt.max_crs, want_cr_shape[1]);
  const std::pair<const char*, std::vector<float>*> arrays[] = {{"slope", &r.opt.slope},
                                                                {"sigslope", &r.opt.sigslope},
                                                                {"var_poisson", &r.opt.var_poisson},
                                                                {"var_rnoise", &r.opt.var_rnoise},
                                                                {"yint", &r.opt.yint},
                                                                {"sigyint", &r.opt.sigyint},
                                                                {"weights", &r.opt.weights},
                                                                {"pedestal", &r.opt.pedestal},
                                                                {"crmag", &r.opt.crmag}};
  for (const auto& [name, arr] : arrays) {
    const Diff d = compare_f32(*arr, load<float>(c.name, dir + name + ".npy.gz"));
    std::printf("[%s opt numpy1] %s: %lld differ (max %lld ulp) of %zu\n", c.name.c_str(), name,
                static_cast<long long>(d.ndiff), static_cast<long long>(d.maxulp), arr->size());
    EXPECT_EQ(d.ndiff, 0) << name;
  }
}

}  // namespace

TEST(RampFitVectors, RapidRateNumpy1Exact) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_rate_case(kRapid, true, true);
}
TEST(RampFitVectors, RapidRateNumpy2) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_rate_case(kRapid, true, false);
}
TEST(RampFitVectors, RapidNosupNumpy1Exact) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_rate_case(kRapid, false, true);
}
TEST(RampFitVectors, Nf4RateNumpy1Exact) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_rate_case(kNf4, true, true);
}
TEST(RampFitVectors, Nf4RateNumpy2) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_rate_case(kNf4, true, false);
}
TEST(RampFitVectors, Nf4NosupZeroframeNumpy1Exact) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_rate_case(kNf4, false, true);
}
TEST(RampFitVectors, RapidOptional) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_opt_case(kRapid);
}
TEST(RampFitVectors, Nf4Optional) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_opt_case(kNf4);
}

// Synthetic ramps: ny=1 row of nx pixels, 10 s groups, gain 2, read noise 5 DN.
namespace {
struct Synth {
  st::RampShape shape;
  std::vector<float> data, gain, rn;
  std::vector<std::uint8_t> gdq;
  std::vector<std::uint32_t> pdq;
  Synth(std::int64_t nints, std::int64_t ngroups, std::int64_t nx, float rate = 3.0f)
      : shape{nints, ngroups, 1, nx},
        data(shape.size()),
        gain(nx, 2.0f),
        rn(nx, 5.0f),
        gdq(shape.size(), 0),
        pdq(nx, 0) {
    for (std::int64_t i = 0; i < nints; ++i)
      for (std::int64_t g = 0; g < ngroups; ++g)
        for (std::int64_t p = 0; p < nx; ++p)
          at(i, g, p) = 50.0f + rate * 10.0f * static_cast<float>(g);
  }
  float& at(std::int64_t i, std::int64_t g, std::int64_t p) {
    return data[(i * shape.ngroups + g) * shape.npix() + p];
  }
  std::uint8_t& q(std::int64_t i, std::int64_t g, std::int64_t p) {
    return gdq[(i * shape.ngroups + g) * shape.npix() + p];
  }
  st::RampFitResult run(st::RampFitParams p = {}) {
    st::RampFitInputs in;
    in.shape = shape;
    in.timing = {10.0, 10.0, 1, 0};
    in.data = data;
    in.groupdq = gdq;
    in.pixeldq = pdq;
    in.gain = gain;
    in.readnoise = rn;
    return st::fit_ramps(in, p);
  }
};
}  // namespace

TEST(RampFitEdge, CleanRampGivesItsRate) {
  Synth s(2, 10, 3);
  auto r = s.run();
  for (int p = 0; p < 3; ++p) {
    EXPECT_NEAR(r.rate.slope[p], 3.0f, 1e-5f);
    EXPECT_EQ(r.rate.dq[p], 0u);
    EXPECT_GT(r.rate.var_poisson[p], 0.0f);
    // Exposure read-noise variance: two integrations of 12 rn_e^2 / (tg^2 (L^3 - L) g^2)
    // with rn_e = 5 * 2 / sqrt(2).
    const double rne = 5.0 * 2.0 / std::sqrt(2.0);
    const double one = 12.0 * (rne / 10.0) * (rne / 10.0) / (990.0 * 4.0);
    EXPECT_NEAR(r.rate.var_rnoise[p], one / 2.0, one * 1e-6);
    EXPECT_FLOAT_EQ(r.rate.err[p], std::sqrt(r.rate.var_poisson[p] + r.rate.var_rnoise[p]));
  }
}

TEST(RampFitEdge, JumpSplitsTheRamp) {
  Synth s(1, 10, 2);
  for (std::int64_t g = 5; g < 10; ++g) s.at(0, g, 1) += 1000.0f;
  s.q(0, 5, 1) = dq::kJumpDet;
  auto r = s.run();
  EXPECT_NEAR(r.rate.slope[1], 3.0f, 1e-5f);
  EXPECT_EQ(r.rate.dq[1], dq::kJumpDet);
  EXPECT_EQ(r.rate.dq[0], 0u);
}

TEST(RampFitEdge, AllSaturatedPixel) {
  Synth s(1, 6, 2);
  for (std::int64_t g = 0; g < 6; ++g) s.q(0, g, 0) = dq::kSaturated;
  auto r = s.run();
  EXPECT_TRUE(std::isnan(r.rate.slope[0]));
  EXPECT_EQ(r.rate.dq[0], dq::kDoNotUse | dq::kSaturated);
  EXPECT_EQ(r.rate.var_poisson[0], 0.0f);
  EXPECT_EQ(r.rate.var_rnoise[0], 0.0f);
  EXPECT_EQ(r.rate.err[0], 0.0f);
  EXPECT_TRUE(std::isnan(r.rateints.slope[0]));
  EXPECT_FALSE(std::isnan(r.rate.slope[1]));
  EXPECT_FALSE(r.all_saturated);
  // Partial saturation keeps the slope and sets SAT.
  Synth t(1, 6, 1);
  t.q(0, 4, 0) = t.q(0, 5, 0) = dq::kSaturated;
  auto r2 = t.run();
  EXPECT_NEAR(r2.rate.slope[0], 3.0f, 1e-5f);
  EXPECT_EQ(r2.rate.dq[0], dq::kSaturated);
}

TEST(RampFitEdge, EverythingSaturatedInGroupZero) {
  Synth s(1, 4, 2);
  for (std::int64_t p = 0; p < 2; ++p)
    for (std::int64_t g = 0; g < 4; ++g) s.q(0, g, p) = dq::kSaturated;
  EXPECT_TRUE(s.run().all_saturated);
}

TEST(RampFitEdge, SingleGroupExposure) {
  Synth s(1, 1, 1);
  s.at(0, 0, 0) = 40.0f;
  auto r = s.run();  // suppress_one_group is forced off for ngroups == 1
  // One good 0th group: slope = v / ((nframes + 1) * tframe / 2) = 40 / 10.
  EXPECT_FLOAT_EQ(r.rate.slope[0], 4.0f);
  EXPECT_EQ(r.rate.dq[0], 0u);
  EXPECT_GT(r.rate.var_rnoise[0], 0.0f);
}

TEST(RampFitEdge, OneGoodGroupSuppressedOrNot) {
  Synth s(1, 5, 1);
  for (std::int64_t g = 1; g < 5; ++g) s.q(0, g, 0) = dq::kSaturated;
  auto r = s.run();
  EXPECT_TRUE(std::isnan(r.rate.slope[0]));
  EXPECT_TRUE(r.rate.dq[0] & dq::kDoNotUse);
  EXPECT_EQ(s.q(0, 0, 0), dq::kDoNotUse);  // groupdq is mutated as stcal does
  Synth t(1, 5, 1);
  for (std::int64_t g = 1; g < 5; ++g) t.q(0, g, 0) = dq::kSaturated;
  st::RampFitParams p;
  p.suppress_one_group = false;
  auto r2 = t.run(p);
  EXPECT_FLOAT_EQ(r2.rate.slope[0], 50.0f / 10.0f);  // v / t1, t1 = tframe for nframes 1
  EXPECT_EQ(r2.rate.dq[0], dq::kSaturated);
  EXPECT_EQ(t.q(0, 0, 0), 0);
}

TEST(RampFitEdge, ZeroAndNanGain) {
  Synth s(1, 6, 3);
  s.gain[0] = 0.0f;
  s.gain[1] = std::numeric_limits<float>::quiet_NaN();
  auto r = s.run();
  for (int p = 0; p < 2; ++p) {
    EXPECT_TRUE(std::isnan(r.rate.slope[p]));
    EXPECT_EQ(r.rate.dq[p], dq::kDoNotUse | dq::kNoGainValue);
    EXPECT_EQ(r.rate.var_poisson[p], 0.0f);
    EXPECT_EQ(r.rate.err[p], 0.0f);
    EXPECT_EQ(r.rateints.dq[p], dq::kDoNotUse | dq::kNoGainValue);
  }
  EXPECT_NEAR(r.rate.slope[2], 3.0f, 1e-5f);
}

TEST(RampFitEdge, NanDataInsideASegmentCountsAsZero) {
  // stcal replaces a NaN inside a segment by 0 in the weighted sums.
  Synth a(1, 8, 1), b(1, 8, 1);
  a.at(0, 3, 0) = std::numeric_limits<float>::quiet_NaN();
  b.at(0, 3, 0) = 0.0f;
  auto ra = a.run(), rb = b.run();
  EXPECT_FLOAT_EQ(ra.rate.slope[0], rb.rate.slope[0]);
  EXPECT_NE(ra.rate.slope[0], 3.0f);
  // Flagged DNU, the same NaN group splits the ramp and the slope is the true rate.
  Synth c(1, 8, 1);
  c.at(0, 3, 0) = std::numeric_limits<float>::quiet_NaN();
  c.q(0, 3, 0) = dq::kDoNotUse;
  EXPECT_NEAR(c.run().rate.slope[0], 3.0f, 1e-5f);
}

TEST(RampFitEdge, ChargeLossRecomputesReadNoiseOnly) {
  Synth s(1, 10, 1);
  for (std::int64_t g = 5; g < 10; ++g) s.q(0, g, 0) = dq::kChargeLoss | dq::kDoNotUse;
  auto r = s.run();
  EXPECT_NEAR(r.rate.slope[0], 3.0f, 1e-5f);
  // var_rnoise comes from the whole 10-group ramp; the slope from the first 5 groups.
  const double rne = static_cast<double>(st::scaled_readnoise(5.0f, 2.0f, 1, false));
  const double want = 12.0 * (rne / 10.0) * (rne / 10.0) / (990.0 * 2.0 * 2.0);
  EXPECT_FLOAT_EQ(r.rateints.var_rnoise[0], static_cast<float>(want));
  EXPECT_FLOAT_EQ(r.rate.var_rnoise[0], static_cast<float>(want));
}

TEST(RampFitEdge, ShapeMismatchThrows) {
  Synth s(1, 5, 2);
  st::RampFitInputs in;
  in.shape = s.shape;
  in.timing = {10.0, 10.0, 1, 0};
  in.data = s.data;
  in.groupdq = s.gdq;
  in.pixeldq = s.pdq;
  in.gain = s.gain;
  std::vector<float> rn(1, 5.0f);
  in.readnoise = rn;
  EXPECT_THROW(st::fit_ramps(in), std::invalid_argument);
  in.readnoise = s.rn;
  std::vector<float> zf(3);
  in.zeroframe = zf;
  EXPECT_THROW(st::fit_ramps(in), std::invalid_argument);
}

TEST(RampFitEdge, ReadnoiseScalingModes) {
  // numpy-1 rounds the quotient to float32 first; numpy-2 keeps it in double.
  const float rn = 7.3f, g = 1.83f;
  const float n1 = st::scaled_readnoise(rn, g, 4, true);
  const float n2 = st::scaled_readnoise(rn, g, 4, false);
  EXPECT_EQ(n1, rn * (g / static_cast<float>(std::sqrt(8.0))));
  EXPECT_EQ(n2, static_cast<float>(7.3f * (static_cast<double>(g) / std::sqrt(8.0))));
}

// Random clean and flagged ramps (JUMP or SAT in some groups, DO_NOT_USE, zero and NaN gain
// or read noise), npix pixels, deterministic for a seed.
struct RandomRamp {
  std::vector<float> data, gain, rn, dc;
  std::vector<std::uint8_t> gdq;
  std::vector<std::uint32_t> pdq;
};

RandomRamp random_ramp(std::int64_t nints, std::int64_t ngroups, std::int64_t npix,
                       std::uint64_t s) {
  auto rnd = [&s]() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  RandomRamp r;
  r.data.resize(nints * ngroups * npix);
  r.gain.resize(npix);
  r.rn.resize(npix);
  r.dc.resize(npix);
  r.gdq.assign(r.data.size(), 0);
  r.pdq.assign(npix, 0);
  for (std::int64_t p = 0; p < npix; ++p) {
    r.gain[p] = rnd() % 200 == 0 ? 0.0f : 0.5f + static_cast<float>(rnd() % 1000) / 250.0f;
    r.rn[p] = rnd() % 150 == 0   ? std::numeric_limits<float>::quiet_NaN()
              : rnd() % 150 == 0 ? 0.0f
                                 : 1.0f + static_cast<float>(rnd() % 1000) / 100.0f;
    r.dc[p] = static_cast<float>(rnd() % 10) / 100.0f;
    r.pdq[p] = rnd() % 300 == 0 ? dq::kDoNotUse : 0;
    const double rate = static_cast<double>(rnd() % 100000) / 100.0;  // up to 1000 DN/group
    for (std::int64_t i = 0; i < nints; ++i)
      for (std::int64_t g = 0; g < ngroups; ++g) {
        const std::int64_t k = (i * ngroups + g) * npix + p;
        r.data[k] = static_cast<float>(rate * g + static_cast<double>(rnd() % 2000) / 100.0 - 10.0);
        if (rnd() % std::max<std::uint64_t>(40, 8 * nints * ngroups) == 0)
          r.gdq[k] = rnd() % 2 ? dq::kJumpDet : dq::kSaturated;
      }
  }
  return r;
}

// The fit inputs of `r` laid out as rows of `nx` pixels, with groupdq `q`.
st::RampFitInputs layout_inputs(const RandomRamp& r, std::int64_t nints, std::int64_t ngroups,
                                std::int64_t nx, std::vector<std::uint8_t>& q,
                                const st::ReadoutTiming& timing) {
  const auto npix = static_cast<std::int64_t>(r.gain.size());
  st::RampFitInputs in;
  in.shape = {nints, ngroups, npix / nx, nx};
  in.timing = timing;
  in.data = r.data;
  in.groupdq = q;
  in.pixeldq = r.pdq;
  in.gain = r.gain;
  in.readnoise = r.rn;
  in.average_dark_current = r.dc;
  return in;
}

// Both products hold the same values, bit for bit, in every array.
void expect_same_rates(const st::RateProduct& x, const st::RateProduct& y,
                       const std::string& what) {
  EXPECT_EQ(x.dq, y.dq) << what;
  EXPECT_EQ(compare_f32(x.slope, y.slope).ndiff, 0) << what;
  EXPECT_EQ(compare_f32(x.err, y.err).ndiff, 0) << what;
  EXPECT_EQ(compare_f32(x.var_poisson, y.var_poisson).ndiff, 0) << what;
  EXPECT_EQ(compare_f32(x.var_rnoise, y.var_rnoise).ndiff, 0) << what;
}

// The SIMD blocks (rows of 40 pixels: strips of blocks of 2, 4 or 8 lanes, whatever the target's
// vector width) and the per-pixel routine (one-pixel rows, never a block) must agree bit for bit on
// random clean and flagged ramps, for 1 to 4 integrations, short ramps and ramps longer than the
// unrolled sizes (20 groups); with one integration the single-jump ramps are fitted in SIMD
// batches.
TEST(RampFitEdge, SimdBlocksMatchPerPixelRoutine) {
  for (auto [nints, ngroups] :
       {std::pair<std::int64_t, std::int64_t>{1, 10}, {3, 4}, {2, 2}, {1, 3}, {1, 25}, {4, 21}}) {
    const std::int64_t npix = 56 * 30;
    RandomRamp r = random_ramp(nints, ngroups, npix, 777 + nints * 10 + ngroups);
    auto fit = [&](std::int64_t nx, std::vector<std::uint8_t>& q) {
      return st::fit_ramps(layout_inputs(r, nints, ngroups, nx, q, {10.73677, 21.47354, 2, 0}));
    };
    auto qa = r.gdq, qb = r.gdq;
    auto ra = fit(40, qa), rb = fit(1, qb);
    EXPECT_LT(ra.scalar_pixels, npix / 2);
    EXPECT_EQ(rb.scalar_pixels, npix);
    // One-integration single-jump ramps go through the SIMD jump batches, and match too.
    if (nints == 1 && ngroups >= 3) {
      EXPECT_GT(ra.jump_pixels, 20) << ngroups;
    }
    EXPECT_EQ(rb.jump_pixels, 0);
    EXPECT_EQ(qa, qb);
    const std::string what = std::to_string(nints) + "x" + std::to_string(ngroups);
    expect_same_rates(ra.rate, rb.rate, what + " rate");
    expect_same_rates(ra.rateints, rb.rateints, what + " rateints");
  }
}

// A NaN or infinite group value in an otherwise clean ramp (no groupdq bit) takes the pixel out
// of the SIMD blocks, which fit finite ramps only: the result is the per-pixel routine's, bit
// for bit, wherever the value is (first, middle or last group) and whichever lane holds it.
TEST(RampFitEdge, NonFiniteDataInCleanRampsLeaveTheBlocks) {
  for (std::int64_t nints : {1, 2}) {
    const std::int64_t ngroups = 10, nx = 64, npix = 3 * nx;
    RandomRamp r;
    auto& data = r.data;
    data.resize(nints * ngroups * npix);
    r.gain.assign(npix, 2.0f);
    r.rn.assign(npix, 6.0f);
    r.gdq.assign(data.size(), 0);
    r.pdq.assign(npix, 0);
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(data.size()); ++k)
      data[k] =
          100.0f + 12.5f * static_cast<float>((k / npix) % ngroups) + static_cast<float>(k % 7);
    const float bad_values[] = {std::numeric_limits<float>::quiet_NaN(),
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity()};
    std::int64_t nbad = 0;
    for (std::int64_t p = 0; p < npix; p += 5, ++nbad) {
      const std::int64_t g = (nbad % 3 == 0) ? 0 : (nbad % 3 == 1) ? 4 : ngroups - 1;
      const std::int64_t i = nbad % nints;
      data[(i * ngroups + g) * npix + p] = bad_values[nbad % 3];
    }
    auto fit = [&](std::int64_t width, std::vector<std::uint8_t>& q) {
      return st::fit_ramps(layout_inputs(r, nints, ngroups, width, q, {10.73677, 10.73677, 1, 0}));
    };
    auto qa = r.gdq, qb = r.gdq;
    const auto ra = fit(nx, qa), rb = fit(1, qb);
    EXPECT_GE(ra.scalar_pixels, nbad) << "every non-finite ramp goes to the per-pixel routine";
    EXPECT_LT(ra.scalar_pixels, npix / 2) << "the clean ramps stay in the blocks";
    EXPECT_EQ(rb.scalar_pixels, npix);
    expect_same_rates(ra.rate, rb.rate, std::to_string(nints) + " rate");
    expect_same_rates(ra.rateints, rb.rateints, std::to_string(nints) + " rateints");
  }
}

// Fitting a detector in bands of rows (as RampFitStep does with a ramp it consumes) writes
// exactly what one call writes, and leaves the other rows' outputs alone.
TEST(RampFitEdge, RowBandsMatchOneCall) {
  for (auto [nints, ngroups] : {std::pair<std::int64_t, std::int64_t>{1, 10}, {2, 5}}) {
    const std::int64_t ny = 37, nx = 48, npix = ny * nx;
    RandomRamp r = random_ramp(nints, ngroups, npix, 4242 + nints);
    auto inputs = [&](std::vector<std::uint8_t>& q) {
      return layout_inputs(r, nints, ngroups, nx, q, {10.73677, 21.47354, 2, 0});
    };
    auto qa = r.gdq, qb = r.gdq;
    st::RateProduct ra(npix), ria(nints * npix), rb(npix), rib(nints * npix);
    st::fit_ramps(inputs(qa), {}, ra.view(), ria.view(), nullptr);
    const float kUntouched = -123.0f;
    std::fill(rb.slope.begin(), rb.slope.end(), kUntouched);
    st::fit_ramps(inputs(qb), {}, rb.view(), rib.view(), nullptr, {5, 21});
    for (std::int64_t p = 0; p < npix; ++p) {
      const bool in_band = p >= 5 * nx && p < 21 * nx;
      if (!in_band) {
        ASSERT_EQ(rb.slope[p], kUntouched) << p;
      }
    }
    for (st::RowRange band : {st::RowRange{0, 5}, st::RowRange{21, 33}, st::RowRange{33, -1}})
      st::fit_ramps(inputs(qb), {}, rb.view(), rib.view(), nullptr, band);
    EXPECT_EQ(qa, qb);
    const std::string what = std::to_string(nints) + "x" + std::to_string(ngroups);
    expect_same_rates(ra, rb, what + " rate");
    expect_same_rates(ria, rib, what + " rateints");
    auto qc = r.gdq;
    EXPECT_THROW(st::fit_ramps(inputs(qc), {}, rb.view(), rib.view(), nullptr, {30, 40}),
                 std::invalid_argument);
    EXPECT_THROW(st::fit_ramps(inputs(qc), {}, rb.view(), rib.view(), nullptr, {7, 7}),
                 std::invalid_argument);
  }
}

// The fit writes every element of both products for every pixel it fits, whatever the ramp
// (clean, flagged, saturated from the first group, one good group, NaN or zero gain and read
// noise): outputs that start out holding other bytes end up bit for bit as zeroed ones do.
// RampFitStep relies on it when the products take over the memory of the ramp it consumes.
TEST(RampFitEdge, EveryOutputElementIsWritten) {
  for (auto [nints, ngroups] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {1, 10}, {2, 5}, {3, 3}, {1, 2}, {1, 1}}) {
    const std::int64_t ny = 23, nx = 48, npix = ny * nx;
    RandomRamp r = random_ramp(nints, ngroups, npix, 99 + nints * 7 + ngroups);
    for (std::int64_t p = 0; p < npix; p += 29)  // saturated from the first group
      for (std::int64_t k = p; k < static_cast<std::int64_t>(r.gdq.size()); k += npix)
        r.gdq[k] = dq::kSaturated;
    for (std::int64_t p = 3; p < npix; p += 31)  // one good group (the first) in every integration
      for (std::int64_t i = 0; i < nints; ++i)
        for (std::int64_t g = 1; g < ngroups; ++g)
          r.gdq[(i * ngroups + g) * npix + p] = dq::kSaturated;
    auto fit = [&](unsigned char fill) {
      auto q = r.gdq;
      st::RateProduct rate(npix), ri(nints * npix);
      for (st::RateProduct* x : {&rate, &ri}) {
        for (auto* v : {&x->slope, &x->err, &x->var_poisson, &x->var_rnoise})
          std::memset(v->data(), fill, v->size() * sizeof(float));
        std::memset(x->dq.data(), fill, x->dq.size() * sizeof(std::uint32_t));
      }
      st::fit_ramps(layout_inputs(r, nints, ngroups, nx, q, {10.73677, 21.47354, 2, 0}), {},
                    rate.view(), ri.view(), nullptr);
      return std::pair{std::move(rate), std::move(ri)};
    };
    auto [za, zi] = fit(0x00);
    auto [sa, si] = fit(0xA5);
    auto same_bytes = [](const auto& a, const auto& b) {
      return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0;
    };
    const std::string what = std::to_string(nints) + "x" + std::to_string(ngroups);
    for (auto [x, y] : {std::pair{&za, &sa}, std::pair{&zi, &si}}) {
      EXPECT_TRUE(same_bytes(x->slope, y->slope)) << what << " slope";
      EXPECT_TRUE(same_bytes(x->err, y->err)) << what << " err";
      EXPECT_TRUE(same_bytes(x->var_poisson, y->var_poisson)) << what << " var_poisson";
      EXPECT_TRUE(same_bytes(x->var_rnoise, y->var_rnoise)) << what << " var_rnoise";
      EXPECT_TRUE(same_bytes(x->dq, y->dq)) << what << " dq";
    }
  }
}

// Results do not depend on the number of threads.
TEST(RampFitVectors, ThreadCountInvariant) {
  STPIPE_REQUIRE_SHARED_DATA();
  std::vector<st::RampFitResult> out;
  const int saved = omp_get_max_threads();
  for (int nt : {1, 3}) {
    omp_set_num_threads(nt);
    Loaded l = load_inputs(kNf4);
    out.push_back(run(kNf4, l, {}));
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(compare_f32(out[0].rate.slope, out[1].rate.slope).ndiff, 0);
  EXPECT_EQ(compare_f32(out[0].rateints.err, out[1].rateints.err).ndiff, 0);
  EXPECT_EQ(out[0].rateints.dq, out[1].rateints.dq);
}
