// Tests of the saturation kernel: stcal golden vectors (numpy-1 and numpy-2 modes) and edge cases.
#include "stpipe/steps/saturation.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <limits>

#include "../dq_init/stage_vectors.h"
#include "stpipe/steps/dqflags.h"

namespace st = stpipe::steps;
namespace dq = stpipe::dq;
using namespace stpipe::testing;

namespace {

struct SatRun {
  std::vector<std::uint8_t> gdq;
  std::vector<std::uint32_t> pdq;
  std::vector<float> zf;
};

SatRun run_case(const VectorCase& c, bool numpy1, int threads = 0) {
  auto data = stage_input<float>(c, "saturation", "data");
  auto gdq = stage_input<std::uint8_t>(c, "saturation", "groupdq");
  auto pdq = stage_input<std::uint32_t>(c, "saturation", "pixeldq");
  auto thr = load_vec<float>(c, "inputs/sat_thresh");
  auto sdq = load_vec<std::uint32_t>(c, "inputs/sat_dq");
  auto bias = load_vec<float>(c, "inputs/superbias");
  std::vector<float> zf;
  if (c.zero_frame) zf = load_vec<float>(c, "inputs/zeroframe").v;
  st::SaturationOptions o;
  o.nframes = c.nframes;
  o.numpy1_promotion = numpy1;
  const int saved = omp_get_max_threads();
  if (threads > 0) omp_set_num_threads(threads);
  st::flag_saturation(ramp_shape_of(data.shape), data.v, gdq.v, pdq.v, thr.v, sdq.v, bias.v, zf, o);
  omp_set_num_threads(saved);
  return {gdq.v, pdq.v, zf};
}

}  // namespace

TEST(Saturation, Numpy1ModeMatchesStcalVectorsExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    SatRun r = run_case(c, /*numpy1=*/true);
    EXPECT_EQ(count_diff(r.gdq, load_vec<std::uint8_t>(c, "stages/saturation/groupdq").v), 0);
    EXPECT_EQ(count_diff(r.pdq, load_vec<std::uint32_t>(c, "stages/saturation/pixeldq").v), 0);
    if (c.zero_frame) {
      EXPECT_EQ(count_diff(r.zf, load_vec<float>(c, "stages/saturation/zeroframe").v), 0);
    }
    std::int64_t sat = 0;
    for (auto q : r.gdq) sat += (q & dq::kSaturated) != 0;
    EXPECT_GT(sat, 0);
  }
}

// numpy 2 evaluates the group-2 test m1 in float64. On these vectors that may only change
// DO_NOT_USE in group index 1; the test records how many (and that nothing else differs).
TEST(Saturation, Numpy2ModeDiffersOnlyInGroup2Dnu) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    SatRun r = run_case(c, /*numpy1=*/false);
    auto want = load_vec<std::uint8_t>(c, "stages/saturation/groupdq");
    const std::int64_t npix = want.shape[2] * want.shape[3], G = want.shape[1];
    std::int64_t ndiff = 0;
    for (std::size_t k = 0; k < want.v.size(); ++k) {
      if (r.gdq[k] == want.v[k]) continue;
      ++ndiff;
      const std::int64_t g = (static_cast<std::int64_t>(k) / npix) % G;
      EXPECT_EQ(g, 1);
      EXPECT_EQ(r.gdq[k] ^ want.v[k], static_cast<int>(dq::kDoNotUse));
    }
    std::cout << "[ info ] " << c.name << ": numpy-2 group-2 test changes " << ndiff
              << " groupdq values versus the numpy-1.24 baseline\n";
    EXPECT_EQ(count_diff(r.pdq, load_vec<std::uint32_t>(c, "stages/saturation/pixeldq").v), 0);
  }
}

TEST(Saturation, IndependentOfThreadCount) {
  STPIPE_REQUIRE_SHARED_DATA();
  const auto& c = kVectorCases[1];
  SatRun a = run_case(c, true, 1), b = run_case(c, true, 2), d = run_case(c, true, 3);
  EXPECT_EQ(count_diff(a.gdq, b.gdq), 0);
  EXPECT_EQ(count_diff(a.gdq, d.gdq), 0);
  EXPECT_EQ(count_diff(a.zf, d.zf), 0);
}

namespace {
// A 1 x G x ny x nx ramp filled with `v`.
struct Small {
  st::RampShape s;
  std::vector<float> d;
  std::vector<std::uint8_t> q;
  std::vector<std::uint32_t> p;
  std::vector<float> thr;
  std::vector<std::uint32_t> sdq;
  Small(std::int64_t G, std::int64_t ny, std::int64_t nx, float v)
      : s{1, G, ny, nx},
        d(s.size(), v),
        q(s.size(), 0),
        p(s.npix(), 0),
        thr(s.npix(), 1000.0f),
        sdq(s.npix(), 0) {}
  std::uint8_t at(std::int64_t g, std::int64_t y, std::int64_t x) const {
    return q[(g * s.ny + y) * s.nx + x];
  }
  float& dat(std::int64_t g, std::int64_t y, std::int64_t x) {
    return d[(g * s.ny + y) * s.nx + x];
  }
};
}  // namespace

TEST(Saturation, StickyGrowFloorNanAndNoSatCheck) {
  Small t(3, 5, 6, 100.0f);
  t.dat(1, 2, 2) = 2000.0f;  // saturates in group 1, sticky into group 2
  t.dat(0, 0, 5) = 0.0f;     // A-to-D floor in group 0 only
  t.dat(2, 4, 0) = std::numeric_limits<float>::quiet_NaN();    // NaN: neither flag
  t.thr[1 * 6 + 1] = std::numeric_limits<float>::quiet_NaN();  // NaN threshold -> NO_SAT_CHECK
  t.sdq[0] = dq::kNoSatCheck;
  t.dat(0, 0, 0) = 60000.0f;  // would saturate, but NO_SAT_CHECK
  st::SaturationOptions o;
  o.use_read_pattern = false;
  st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, {}, o);
  EXPECT_EQ(t.at(0, 2, 2), 0);
  for (int g = 1; g < 3; ++g)
    for (int y = 1; y <= 3; ++y)
      for (int x = 1; x <= 3; ++x) EXPECT_EQ(t.at(g, y, x) & dq::kSaturated, dq::kSaturated);
  EXPECT_EQ(t.at(1, 0, 2), 0);  // outside the 3x3 box
  EXPECT_EQ(t.at(0, 0, 5), dq::kAdFloor | dq::kDoNotUse);
  EXPECT_EQ(t.at(1, 0, 5), 0);
  EXPECT_EQ(t.at(2, 4, 0), 0);
  EXPECT_EQ(t.at(0, 0, 0), 0);
  EXPECT_EQ(t.thr[0], 65536.0f);
  EXPECT_EQ(t.thr[7], 65536.0f);
  EXPECT_EQ(t.sdq[7], dq::kNoSatCheck);
  EXPECT_EQ(t.p[7], dq::kNoSatCheck);
  EXPECT_EQ(t.p[0], dq::kNoSatCheck);
}

TEST(Saturation, GrowClipsAtEdgesAndHonoursN) {
  Small t(1, 6, 6, 10.0f);
  t.dat(0, 0, 0) = 5000.0f;
  st::SaturationOptions o;
  o.n_pix_grow_sat = 2;
  o.use_read_pattern = false;
  st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, {}, o);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x)
      EXPECT_EQ(t.at(0, y, x), (y <= 2 && x <= 2) ? dq::kSaturated : 0u) << y << "," << x;
}

TEST(Saturation, AllSaturatedAndSingleGroup) {
  Small t(4, 3, 3, 70000.0f);
  st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, {}, {});
  for (auto q : t.q) EXPECT_EQ(q, dq::kSaturated);
  Small one(1, 2, 2, 10.0f);
  one.dat(0, 1, 1) = 1e6f;
  st::flag_saturation(one.s, one.d, one.q, one.p, one.thr, one.sdq, {}, {}, {});
  for (auto q : one.q) EXPECT_EQ(q, dq::kSaturated);  // grown to the whole 2x2
}

TEST(Saturation, DilutionPassFlagsDnuNotSat) {
  // nframes 4: group 0 mean read 2.5 of last 4 -> f = 0.625. Group 0 at 700 >= 1000*0.625 and
  // group 1 saturated -> group 0 gets DO_NOT_USE (grown), not SATURATED.
  Small t(3, 3, 3, 10.0f);
  t.dat(0, 1, 1) = 700.0f;
  t.dat(1, 1, 1) = 1500.0f;
  t.dat(2, 1, 1) = 1500.0f;
  st::SaturationOptions o;
  o.nframes = 4;
  o.n_pix_grow_sat = 0;
  st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, {}, o);
  EXPECT_EQ(t.at(0, 1, 1), dq::kDoNotUse);
  EXPECT_EQ(t.at(1, 1, 1), dq::kSaturated);
  EXPECT_EQ(t.at(0, 0, 0), 0);
}

TEST(Saturation, ZeroframeZeroedWhereSaturatedGrownOrFloor) {
  Small t(2, 3, 4, 10.0f);
  std::vector<float> zf(12, 50.0f);
  zf[0] = 5000.0f;  // saturated -> grows over (0..1, 0..1)
  zf[11] = -1.0f;   // floor
  st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, zf, {});
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) {
      const bool zero = (y <= 1 && x <= 1) || (y == 2 && x == 3);
      EXPECT_EQ(zf[y * 4 + x], zero ? 0.0f : 50.0f) << y << "," << x;
    }
}

TEST(Saturation, ZeroSizedAndWrongShapes) {
  st::RampShape e{0, 0, 0, 0};
  EXPECT_NO_THROW(st::flag_saturation(e, {}, {}, {}, {}, {}, {}, {}, {}));
  Small t(2, 3, 3, 1.0f);
  std::vector<float> bad_thr(8);
  EXPECT_THROW(st::flag_saturation(t.s, t.d, t.q, t.p, bad_thr, t.sdq, {}, {}, {}),
               std::invalid_argument);
  std::vector<float> bad_bias(10), bad_zf(10);
  EXPECT_THROW(st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, bad_bias, {}, {}),
               std::invalid_argument);
  EXPECT_THROW(st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, bad_zf, {}),
               std::invalid_argument);
  st::SaturationOptions o;
  o.n_pix_grow_sat = -1;
  EXPECT_THROW(st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, {}, o),
               std::invalid_argument);
}

// The numpy-1/numpy-2 switch: find a group-0 value where m1 = ((d0-b)/mean(rp0))*rp2[-1]+b < thr
// is false in float32 but true in float64, and check only numpy-2 mode flags group 2 DNU.
TEST(Saturation, Group2TestPromotionSwitch) {
  float thr = 1000.0f, d0 = 0.0f;
  const double mean0 = 2.5, last2 = 12.0;  // nframes 4
  bool found = false;
  for (int t = 0; t < 2000 && !found; ++t) {
    thr = 1000.0f + static_cast<float>(t) * 0.37f;
    d0 = static_cast<float>(thr / 4.8) - 0.001f;
    for (int k = 0; k < 400 && !found; ++k) {
      d0 = std::nextafter(d0, 1e6f);
      const bool m1_f32 = (d0 / 2.5f) * 12.0f < thr;
      const bool m1_f64 = (static_cast<double>(d0) / mean0) * last2 < static_cast<double>(thr);
      found = m1_f32 != m1_f64;
    }
  }
  const bool f64_true = (static_cast<double>(d0) / mean0) * last2 < static_cast<double>(thr);
  for (bool numpy1 : {true, false}) {
    Small t(3, 1, 1, 0.0f);
    t.thr[0] = thr;
    t.d = {d0, 500.0f, 2000.0f};
    st::SaturationOptions o;
    o.nframes = 4;
    o.numpy1_promotion = numpy1;
    st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, {}, o);
    EXPECT_EQ(t.q[2], dq::kSaturated);
    const bool flagged = (t.q[1] & dq::kDoNotUse) != 0;
    EXPECT_EQ(flagged, numpy1 ? !f64_true : f64_true) << "numpy1=" << numpy1;
  }
}

// A SAT bit already in the input groupdq (not explained by the threshold) is grown in its own
// group only, as stcal's per-group dilation does; this exercises the general forward path.
TEST(Saturation, InputSatBitsAreGrownInTheirGroup) {
  Small t(3, 5, 5, 10.0f);
  t.q[(1 * 5 + 2) * 5 + 2] = dq::kSaturated;  // group 1, pixel (2,2)
  t.dat(2, 0, 4) = 5000.0f;                   // threshold saturation in group 2 at (0,4)
  st::SaturationOptions o;
  o.use_read_pattern = false;
  st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, {}, {}, o);
  for (int g = 0; g < 3; ++g)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 5; ++x) {
        const bool grown_input = g == 1 && y >= 1 && y <= 3 && x >= 1 && x <= 3;
        const bool grown_thr = g == 2 && y <= 1 && x >= 3;
        EXPECT_EQ(t.at(g, y, x), (grown_input || grown_thr) ? dq::kSaturated : 0u)
            << g << ":" << y << "," << x;
      }
}

// The fast forward/backward passes (used when the input groupdq has no SAT bits of its own)
// and the general per-group passes (forced here by one input SAT bit in a corner) agree
// everywhere away from that corner, on random ramps with many saturating pixels.
TEST(Saturation, FastAndGeneralPathsAgree) {
  for (int n : {0, 1, 2})
    for (int nf : {1, 4}) {
      const std::int64_t G = 6, ny = 61, nx = 67;
      Small t(G, ny, nx, 0.0f);
      std::uint32_t seed = 12345u + static_cast<std::uint32_t>(n * 10 + nf);
      auto rnd = [&seed]() {
        seed = seed * 1664525u + 1013904223u;
        return static_cast<float>(seed >> 8) / 16777216.0f;
      };
      for (std::int64_t p = 0; p < ny * nx; ++p) {
        const float rate = 400.0f * rnd();
        for (std::int64_t g = 0; g < G; ++g)
          t.d[g * ny * nx + p] = rate * static_cast<float>(g + 1) - 30.0f * rnd() + 1.0f;
        if (rnd() < 0.05f) t.q[(p % G) * ny * nx + p] = dq::kDoNotUse;
        if (rnd() < 0.02f) t.sdq[p] = dq::kNoSatCheck;
      }
      Small general = t, no_pattern = t;
      general.q[0] |= dq::kSaturated;  // forces the per-group passes
      st::SaturationOptions o;
      o.n_pix_grow_sat = n;
      o.nframes = nf;
      std::vector<float> bias(ny * nx, 5.0f);
      st::flag_saturation(t.s, t.d, t.q, t.p, t.thr, t.sdq, bias, {}, o);
      st::flag_saturation(general.s, general.d, general.q, general.p, general.thr, general.sdq,
                          bias, {}, o);
      std::int64_t sat = 0, dnu_only = 0, compared = 0;
      for (std::int64_t g = 0; g < G; ++g)
        for (std::int64_t y = 0; y < ny; ++y)
          for (std::int64_t x = 0; x < nx; ++x) {
            if (y <= 2 * n + 2 && x <= 2 * n + 2) continue;
            const std::uint8_t a = t.at(g, y, x), b = general.at(g, y, x);
            ASSERT_EQ(a, b) << "n=" << n << " nf=" << nf << " at " << g << ":" << y << "," << x;
            sat += (a & dq::kSaturated) != 0;
            dnu_only += a == dq::kDoNotUse;
            ++compared;
          }
      EXPECT_GT(sat, compared / 10);
      // with nframes 4 the dilution / group-2 passes add DO_NOT_USE beyond the input flags
      st::SaturationOptions off = o;
      off.use_read_pattern = false;
      st::flag_saturation(no_pattern.s, no_pattern.d, no_pattern.q, no_pattern.p, no_pattern.thr,
                          no_pattern.sdq, bias, {}, off);
      std::int64_t dnu_off = 0;
      for (auto q : no_pattern.q) dnu_off += q == dq::kDoNotUse;
      if (nf == 4) {
        EXPECT_GT(dnu_only, dnu_off + 20) << "n=" << n;
      }
    }
}
