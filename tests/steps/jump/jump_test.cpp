// Tests of the jump kernel: stcal golden vectors for both exposures, and edge cases.
#include "stpipe/steps/jump.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/detail/sort_finite.h"
#include "stpipe/steps/dqflags.h"
#include "test_support.h"

namespace st = stpipe::steps;
using stpipe::testing::read_npy;
using stpipe::testing::shared_data;

namespace {

struct VectorCase {
  std::string name;
  st::RampShape shape;
  st::ReadoutTiming timing;
};

std::vector<float> load_f32(const std::string& c, const std::string& rel) {
  return read_npy(shared_data("vectors/" + c + "/" + rel)).as<float>();
}
std::vector<std::uint8_t> load_u8(const std::string& c, const std::string& rel) {
  return read_npy(shared_data("vectors/" + c + "/" + rel)).as<std::uint8_t>();
}
std::vector<std::uint32_t> load_u32(const std::string& c, const std::string& rel) {
  return read_npy(shared_data("vectors/" + c + "/" + rel)).as<std::uint32_t>();
}

void run_vector_case(const VectorCase& vc) {
  const auto data = load_f32(vc.name, "stages/dark_current/data.npy.gz");
  auto gdq = load_u8(vc.name, "stages/saturation/groupdq.npy.gz");
  auto pdq = load_u32(vc.name, "stages/dark_current/pixeldq.npy.gz");
  const auto gain = load_f32(vc.name, "inputs/gain.npy.gz");
  const auto rn = load_f32(vc.name, "inputs/readnoise.npy.gz");
  const auto want_gdq = load_u8(vc.name, "stages/jump/groupdq.npy.gz");
  const auto want_pdq = load_u32(vc.name, "stages/jump/pixeldq.npy.gz");
  ASSERT_EQ(static_cast<std::int64_t>(data.size()), vc.shape.size());

  const auto res = st::detect_jumps(vc.shape, vc.timing, data, gdq, pdq, gain, rn);
  EXPECT_FALSE(res.skipped);
  EXPECT_STREQ(res.mode, "iterative");

  std::int64_t bad_g = 0, bad_p = 0, njump = 0;
  for (std::size_t k = 0; k < gdq.size(); ++k) {
    bad_g += gdq[k] != want_gdq[k];
    njump += (want_gdq[k] & stpipe::dq::kJumpDet) != 0;
  }
  for (std::size_t k = 0; k < pdq.size(); ++k) bad_p += pdq[k] != want_pdq[k];
  std::printf(
      "[%s] groupdq differs in %lld of %zu, pixeldq in %lld; %lld JUMP groups, %lld primary, "
      "%lld neighbour events, %lld pixels on the scalar path\n",
      vc.name.c_str(), static_cast<long long>(bad_g), gdq.size(), static_cast<long long>(bad_p),
      static_cast<long long>(njump), static_cast<long long>(res.primary_crs),
      static_cast<long long>(res.neighbor_events), static_cast<long long>(res.scalar_pixels));
  EXPECT_GT(njump, 100);
  EXPECT_EQ(bad_g, 0);
  EXPECT_EQ(bad_p, 0);
}

}  // namespace

TEST(JumpVectors, Rapid1x10) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_vector_case({"1x10x256x256", {1, 10, 256, 256}, {10.73677, 10.73677, 1, 0}});
}

TEST(JumpVectors, Nframes4Groupgap1_2x8) {
  STPIPE_REQUIRE_SHARED_DATA();
  run_vector_case({"2x8x256x256_nf4gg1", {2, 8, 256, 256}, {10.73677, 53.68385, 4, 1}});
}

// Small synthetic ramps: one pixel row of nx pixels, linear ramps of 10 DN/group.
namespace {
struct Synth {
  st::RampShape shape;
  std::vector<float> data;
  std::vector<std::uint8_t> gdq;
  std::vector<std::uint32_t> pdq;
  std::vector<float> gain, rn;
  Synth(std::int64_t nints, std::int64_t ngroups, std::int64_t ny, std::int64_t nx)
      : shape{nints, ngroups, ny, nx},
        data(shape.size()),
        gdq(shape.size(), 0),
        pdq(ny * nx, 0),
        gain(ny * nx, 2.0f),
        rn(ny * nx, 5.0f) {
    for (std::int64_t i = 0; i < nints; ++i)
      for (std::int64_t g = 0; g < ngroups; ++g)
        for (std::int64_t p = 0; p < ny * nx; ++p)
          at(i, g, p) =
              100.0f + 10.0f * static_cast<float>(g) + 0.5f * static_cast<float>((p + g) % 3);
  }
  float& at(std::int64_t i, std::int64_t g, std::int64_t p) {
    return data[(i * shape.ngroups + g) * shape.npix() + p];
  }
  std::uint8_t& q(std::int64_t i, std::int64_t g, std::int64_t p) {
    return gdq[(i * shape.ngroups + g) * shape.npix() + p];
  }
  st::JumpResult run(const st::JumpParams& p = {}) {
    return st::detect_jumps(shape, {10.0, 10.0, 1, 0}, data, gdq, pdq, gain, rn, p);
  }
};
constexpr std::uint8_t kJ = stpipe::dq::kJumpDet;
constexpr std::uint8_t kS = stpipe::dq::kSaturated;
}  // namespace

TEST(JumpEdge, SingleCosmicRayAndNeighbours) {
  Synth s(1, 8, 5, 5);
  const std::int64_t c = 2 * 5 + 2;  // centre pixel
  for (std::int64_t g = 4; g < 8; ++g) s.at(0, g, c) += 1000.0f;
  s.run();
  for (std::int64_t g = 0; g < 8; ++g) EXPECT_EQ(s.q(0, g, c), g == 4 ? kJ : 0) << g;
  // The 4 neighbours get JUMP in group 4, diagonals do not.
  EXPECT_EQ(s.q(0, 4, c - 1), kJ);
  EXPECT_EQ(s.q(0, 4, c + 1), kJ);
  EXPECT_EQ(s.q(0, 4, c - 5), kJ);
  EXPECT_EQ(s.q(0, 4, c + 5), kJ);
  EXPECT_EQ(s.q(0, 4, c - 6), 0);
  EXPECT_EQ(s.q(0, 3, c - 1), 0);
}

TEST(JumpEdge, NeighboursOffAndNegativeJumpFlagged) {
  Synth s(1, 8, 3, 3);
  for (std::int64_t g = 5; g < 8; ++g) s.at(0, g, 4) -= 500.0f;  // negative jump
  st::JumpParams p;
  p.flag_4_neighbors = false;
  s.run(p);
  EXPECT_EQ(s.q(0, 5, 4), kJ);
  EXPECT_EQ(s.q(0, 5, 3), 0);
}

TEST(JumpEdge, AllSaturatedAndDnuPixelUntouchedAndNoJumpOnSat) {
  Synth s(1, 6, 1, 4);
  for (std::int64_t g = 0; g < 6; ++g) s.q(0, g, 0) = stpipe::dq::kSaturated;
  // A pre-existing JUMP on a DNU group is removed by the cleanup.
  s.q(0, 3, 1) = stpipe::dq::kDoNotUse | kJ;
  s.run();
  for (std::int64_t g = 0; g < 6; ++g) EXPECT_EQ(s.q(0, g, 0), stpipe::dq::kSaturated);
  EXPECT_EQ(s.q(0, 3, 1), stpipe::dq::kDoNotUse);
}

TEST(JumpEdge, ZeroAndNanGainFlagPixelDq) {
  Synth s(1, 6, 1, 3);
  s.gain[0] = 0.0f;
  s.gain[1] = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t g = 3; g < 6; ++g) {
    s.at(0, g, 0) += 1e4f;
    s.at(0, g, 1) += 1e4f;
  }
  s.run();
  const std::uint32_t ngv = stpipe::dq::kNoGainValue | stpipe::dq::kDoNotUse;
  EXPECT_EQ(s.pdq[0], ngv);
  EXPECT_EQ(s.pdq[1], ngv);
  EXPECT_EQ(s.pdq[2], 0u);
  // Zero gain: all diffs are 0 in electrons and sigma is NaN, so no jump; NaN gain likewise.
  EXPECT_EQ(s.q(0, 3, 0), 0);
  EXPECT_EQ(s.q(0, 3, 1), 0);
}

TEST(JumpEdge, NanDataIsIgnored) {
  Synth s(1, 8, 1, 2);
  s.at(0, 2, 0) = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t g = 6; g < 8; ++g) s.at(0, g, 0) += 800.0f;
  s.run();
  EXPECT_EQ(s.q(0, 6, 0), kJ);
  EXPECT_EQ(s.q(0, 2, 0), 0);
  EXPECT_EQ(s.q(0, 3, 0), 0);
}

TEST(JumpEdge, TooFewGroupsSkips) {
  Synth s(1, 2, 1, 2);
  s.at(0, 1, 0) += 1e4f;
  const auto r = s.run();
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(s.q(0, 1, 0), 0);
}

TEST(JumpEdge, TwoUsableDiffsUseThreeGroupThreshold) {
  // 3 groups: 2 diffs; the smaller |diff| is the median, threshold 6 sigma applies.
  Synth s(1, 3, 1, 1);
  s.rn[0] = 1.0f;
  s.gain[0] = 1.0f;
  s.at(0, 0, 0) = 0.0f;
  s.at(0, 1, 0) = 10.0f;
  // sigma = sqrt(10 + 1) = 3.317; ratio = (d - 10) / 3.317 must exceed 6 -> d > 29.9
  s.at(0, 2, 0) = 10.0f + 29.0f;
  s.run();
  EXPECT_EQ(s.q(0, 2, 0), 0);
  s.at(0, 2, 0) = 10.0f + 31.0f;
  s.run();
  EXPECT_EQ(s.q(0, 2, 0), kJ);
}

TEST(JumpEdge, SinglePassWithManyGroups) {
  Synth s(1, 14, 1, 2);
  for (std::int64_t g = 9; g < 14; ++g) s.at(0, g, 1) += 2000.0f;
  const auto r = s.run();
  EXPECT_STREQ(r.mode, "single_pass");
  EXPECT_EQ(s.q(0, 9, 1), kJ);
  EXPECT_EQ(s.q(0, 8, 1), 0);
  EXPECT_EQ(s.q(0, 9, 0), kJ);  // neighbour, since the ratio is between 10 and 1000
}

TEST(JumpEdge, ShapeMismatchThrows) {
  Synth s(1, 5, 2, 2);
  std::vector<float> short_gain(3, 1.0f);
  EXPECT_THROW(
      st::detect_jumps(s.shape, {10.0, 10.0, 1, 0}, s.data, s.gdq, s.pdq, short_gain, s.rn),
      std::invalid_argument);
  std::vector<float> short_data(s.data.size() - 1);
  EXPECT_THROW(
      st::detect_jumps(s.shape, {10.0, 10.0, 1, 0}, short_data, s.gdq, s.pdq, s.gain, s.rn),
      std::invalid_argument);
}

TEST(JumpEdge, AfterJumpFlagging) {
  Synth s(1, 10, 1, 1);
  for (std::int64_t g = 4; g < 10; ++g) s.at(0, g, 0) += 5000.0f;
  st::JumpParams p;
  p.after_jump_flag_dn1 = 100.0;
  p.after_jump_flag_time1 = 25.0;  // 2 groups of 10 s
  s.run(p);
  for (std::int64_t g = 0; g < 10; ++g) EXPECT_EQ(s.q(0, g, 0), (g >= 4 && g <= 6) ? kJ : 0) << g;
}

// The screened SIMD blocks (16 pixels a row: one or more blocks of 4, 8 or 16 lanes, whatever the
// target's vector width) and the per-pixel routine (one-pixel rows, never a block) must agree on
// every pixel: random ramps with ties, NaNs, flags and bad gains.
TEST(JumpEdge, SimdBlocksMatchPerPixelRoutine) {
  for (auto [nints, ngroups] :
       {std::pair<std::int64_t, std::int64_t>{1, 9}, {2, 9}, {3, 5}, {1, 14}, {2, 12}}) {
    const std::int64_t npix = 240 * 10;
    std::uint64_t s = 12345 + nints;
    auto rnd = [&s]() {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      return s;
    };
    st::RampShape a{nints, ngroups, npix / 16, 16}, b{nints, ngroups, npix, 1};
    std::vector<float> data(a.size()), gain(npix), rn(npix);
    std::vector<std::uint8_t> gdq(a.size());
    for (std::int64_t p = 0; p < npix; ++p) {
      gain[p] = rnd() % 50 == 0 ? 0.0f : 1.0f + static_cast<float>(rnd() % 3);
      rn[p] = rnd() % 60 == 0 ? std::numeric_limits<float>::quiet_NaN()
                              : static_cast<float>(rnd() % 4);  // zero read noise happens too
    }
    for (std::size_t k = 0; k < data.size(); ++k) {
      const std::uint64_t r = rnd();
      const auto g = static_cast<std::int64_t>((k / npix) % ngroups);
      data[k] = static_cast<float>(10 * g + static_cast<std::int64_t>(r % 7));  // many ties
      if (r % 97 == 0) data[k] += 300.0f;
      if (r % 401 == 0) data[k] = std::numeric_limits<float>::quiet_NaN();
      const std::uint64_t f = rnd() % 100;
      gdq[k] = f < 3 ? stpipe::dq::kDoNotUse : f < 6 ? stpipe::dq::kSaturated : f < 7 ? kJ : 0;
    }
    st::JumpParams p;
    p.flag_4_neighbors = false;
    auto gdq_a = gdq, gdq_b = gdq;
    std::vector<std::uint32_t> pdq_a(npix, 0), pdq_b(npix, 0);
    const auto ra = st::detect_jumps(a, {10.0, 10.0, 1, 0}, data, gdq_a, pdq_a, gain, rn, p);
    const auto rb = st::detect_jumps(b, {10.0, 10.0, 1, 0}, data, gdq_b, pdq_b, gain, rn, p);
    EXPECT_LT(ra.scalar_pixels, npix / 2) << "the SIMD path was not exercised";
    EXPECT_EQ(rb.scalar_pixels, npix);
    EXPECT_EQ(ra.primary_crs, rb.primary_crs);
    std::int64_t bad = 0;
    for (std::size_t k = 0; k < gdq.size(); ++k) bad += gdq_a[k] != gdq_b[k];
    EXPECT_EQ(bad, 0) << "nints " << nints << " ngroups " << ngroups;
    EXPECT_STREQ(ra.mode, ngroups > 11 ? "single_pass" : "iterative");
    EXPECT_EQ(pdq_a, pdq_b);
    EXPECT_GT(ra.primary_crs, 100);
  }
}

// Jumps whose ratio to sigma lies within a few parts per million of the rejection threshold
// (4 for 9 usable differences, 5 for 3, 6 for 2; the single-pass threshold for 13): the
// screened blocks must send every one of them to the exact routine, so that both layouts flag
// exactly the same groups, and some jumps must fall on either side of the threshold.
TEST(JumpEdge, ScreenIsExactAtTheThreshold) {
  struct Case {
    std::int64_t ngroups, usable;  // usable: groups not DO_NOT_USE (first ones)
    double thr;
  };
  for (const Case cs : {Case{10, 10, 4.0}, Case{10, 4, 5.0}, Case{10, 3, 6.0}, Case{14, 14, 4.0}}) {
    const std::int64_t npix = 240 * 20, G = cs.ngroups;
    std::uint64_t s = 99 + G + cs.usable;
    auto uni = [&s]() {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      return static_cast<double>(s >> 11) * (1.0 / 9007199254740992.0);
    };
    std::vector<float> data(G * npix), gain(npix, 1.0f), rn(npix);
    std::vector<std::uint8_t> gdq(data.size(), 0);
    for (std::int64_t p = 0; p < npix; ++p) {
      rn[p] = static_cast<float>(3.0 + 5.0 * uni());
      const double step = 20.0 + 200.0 * uni();  // electrons per group
      // Differences: step with small jitter; one of them carries the jump.
      std::vector<double> d(G - 1);
      for (auto& x : d) x = step + 0.5 * (uni() - 0.5);
      const std::int64_t n = cs.usable - 1, jk = static_cast<std::int64_t>(uni() * n);
      std::vector<double> rest;
      for (std::int64_t k = 0; k < n; ++k)
        if (k != jk) rest.push_back(d[k]);
      std::sort(rest.begin(), rest.end());
      // stcal's centre: single pass (10 or more diffs), the median of all (the jump is the
      // maximum); iterative with u >= 4 the median of the others (the jump is clipped);
      // u == 3: the middle of three, the larger other; u == 2: the minimum.
      const std::size_t r = rest.size();
      const double centre = n >= 10  ? rest[r / 2]
                            : n >= 4 ? (r % 2 ? rest[r / 2] : (rest[r / 2 - 1] + rest[r / 2]) / 2)
                            : n == 3 ? rest[1]
                                     : rest[0];
      const double sig = std::sqrt(std::fabs(centre) + static_cast<double>(rn[p]) * rn[p]);
      d[jk] = centre + cs.thr * sig * (1.0 + 4e-6 * (uni() - 0.5));
      double acc = 1000.0;
      for (std::int64_t g = 0; g < G; ++g) {
        if (g > 0) acc += d[g - 1];
        data[g * npix + p] = static_cast<float>(acc);
        if (g >= cs.usable) gdq[g * npix + p] = stpipe::dq::kDoNotUse;
      }
    }
    st::JumpParams prm;
    prm.flag_4_neighbors = false;
    st::RampShape a{1, G, npix / 16, 16}, b{1, G, npix, 1};
    auto qa = gdq, qb = gdq;
    std::vector<std::uint32_t> pa(npix, 0), pb(npix, 0);
    const auto ra = st::detect_jumps(a, {10.0, 10.0, 1, 0}, data, qa, pa, gain, rn, prm);
    const auto rb = st::detect_jumps(b, {10.0, 10.0, 1, 0}, data, qb, pb, gain, rn, prm);
    EXPECT_EQ(rb.scalar_pixels, npix);
    std::int64_t diff = 0;
    for (std::size_t k = 0; k < qa.size(); ++k) diff += qa[k] != qb[k];
    EXPECT_EQ(diff, 0) << "ngroups " << G << " usable " << cs.usable;
    EXPECT_EQ(ra.primary_crs, rb.primary_crs);
    // Near the threshold both outcomes occur (the test would be empty otherwise).
    EXPECT_GT(ra.primary_crs, npix / 20) << G << " " << cs.usable;
    EXPECT_LT(ra.primary_crs, npix - npix / 20) << G << " " << cs.usable;
  }
}

// Results do not depend on the number of threads (row tiles, neighbour flags across tiles).
TEST(JumpVectors, ThreadCountInvariant) {
  STPIPE_REQUIRE_SHARED_DATA();
  const std::string c = "2x8x256x256_nf4gg1";
  const st::RampShape shape{2, 8, 256, 256};
  const auto data = load_f32(c, "stages/dark_current/data.npy.gz");
  const auto gdq0 = load_u8(c, "stages/saturation/groupdq.npy.gz");
  const auto pdq0 = load_u32(c, "stages/dark_current/pixeldq.npy.gz");
  const auto gain = load_f32(c, "inputs/gain.npy.gz");
  const auto rn = load_f32(c, "inputs/readnoise.npy.gz");
  std::vector<std::vector<std::uint8_t>> out;
  const int saved = omp_get_max_threads();
  for (int nt : {1, 3}) {
    omp_set_num_threads(nt);
    auto gdq = gdq0;
    auto pdq = pdq0;
    st::detect_jumps(shape, {10.73677, 53.68385, 4, 1}, data, gdq, pdq, gain, rn);
    out.push_back(gdq);
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(out[0], out[1]);
}

TEST(JumpEdge, SigmaClipModeWithManyIntegrations) {
  Synth s(100, 4, 2, 2);
  std::uint64_t r = 99;
  for (std::int64_t i = 0; i < 100; ++i)
    for (std::int64_t g = 0; g < 4; ++g)
      for (std::int64_t p = 0; p < 4; ++p) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        s.at(i, g, p) =
            100.0f + 10.0f * static_cast<float>(g) + static_cast<float>(r >> 60) * 0.25f;
      }
  for (std::int64_t g = 2; g < 4; ++g) s.at(57, g, 3) += 500.0f;
  const auto res = s.run();
  EXPECT_STREQ(res.mode, "sigma_clip");
  EXPECT_EQ(s.q(57, 2, 3), kJ);
  EXPECT_EQ(s.q(57, 3, 3), 0);
  std::int64_t njump = 0;
  for (auto q : s.gdq) njump += (q & kJ) != 0;
  EXPECT_LT(njump, 10);  // the other diffs are within 4 sigma of their integration set
}

// Snowballs (flag_large_events): a jump disc around a new saturated core becomes a snowball
// drawn twice as large in its group; the grown core is SATURATED in later groups and JUMP_DET in
// the first groups of the next integration; a disc without a core far from the edge is left
// alone. (tests/python/test_snowballs.py compares whole random exposures with a scikit-image
// reference of stcal's algorithm.)
TEST(JumpLargeEvents, SnowballCoreAndPersistence) {
  const std::int64_t N = 2, G = 5, ny = 90, nx = 90, np_ = ny * nx;
  std::vector<std::uint8_t> q(N * G * np_, 0);
  auto at = [&](std::int64_t i, std::int64_t g, std::int64_t y, std::int64_t x) -> std::uint8_t& {
    return q[((i * G + g) * ny + y) * nx + x];
  };
  for (std::int64_t y = 0; y < ny; ++y)
    for (std::int64_t x = 0; x < nx; ++x) {
      const double r2 = (y - 45.0) * (y - 45.0) + (x - 45.0) * (x - 45.0);
      if (r2 < 16.0)
        for (std::int64_t g = 2; g < G; ++g) at(0, g, y, x) = kS;  // core, new in group 2
      else if (r2 < 64.0)
        at(0, 2, y, x) = kJ;
      // a coreless disc in integration 1, group 3
      const double s2 = (y - 45.0) * (y - 45.0) + (x - 30.0) * (x - 30.0);
      if (s2 < 36.0) at(1, 3, y, x) = kJ;
    }
  auto before = q;
  st::LargeEventParams p;
  p.persist_groups_flagged = 3;
  const auto n = st::flag_large_events({N, G, ny, nx}, q, p);
  EXPECT_EQ(n, 1);
  std::int64_t jump2 = 0, jump2_before = 0;
  for (std::int64_t k = 0; k < np_; ++k) {
    jump2 += (q[2 * np_ + k] & kJ) != 0;
    jump2_before += (before[2 * np_ + k] & kJ) != 0;
  }
  // Radius 8 -> 16 (expand_factor 2): about 4x the pixels, minus the saturated core.
  EXPECT_GT(jump2, 3 * jump2_before);
  EXPECT_EQ(at(0, 2, 45, 45 + 14) & kJ, kJ);
  EXPECT_EQ(at(0, 2, 45, 45 + 20) & kJ, 0);
  EXPECT_EQ(at(0, 1, 45, 45 + 14), 0);  // only the event's group
  // The core (r^2 < 16: axes 6.7, above 2.5) grew by sat_expand to a radius-5 disc: (+3, +3)
  // (r^2 = 18, a jump pixel before) is SATURATED, exactly, in groups 2..4; (0, +5) is not.
  EXPECT_EQ(before[(0 * G + 2) * np_ + 48 * nx + 48], kJ);
  EXPECT_EQ(at(0, 4, 48, 48), kS);
  EXPECT_EQ(at(0, 2, 48, 48), kS);
  EXPECT_EQ(at(0, 1, 48, 48), 0);
  EXPECT_EQ(at(0, 4, 45, 50), 0);
  // ... and JUMP_DET in groups 1..2 of integration 1 where the (ungrown) core was.
  EXPECT_EQ(at(1, 1, 45, 45) & kJ, kJ);
  EXPECT_EQ(at(1, 2, 45, 46) & kJ, kJ);
  EXPECT_EQ(at(1, 3, 45, 45) & kJ, 0);
  // The coreless disc in integration 1 is not a snowball.
  for (std::int64_t k = 0; k < np_; ++k)
    EXPECT_EQ(q[(1 * G + 3) * np_ + k] & kJ, before[(1 * G + 3) * np_ + k] & kJ);
  std::vector<std::uint8_t> small(3);
  EXPECT_THROW(st::flag_large_events({N, G, ny, nx}, small, p), std::invalid_argument);
}

// The ellipse raster of scikit-image's draw.ellipse (counts as scikit-image gives them): a
// circle of radius 3 has 25 pixels, a 2 x 4 ellipse 21 (also turned by 90 degrees); clipped at
// the image edge (9 in the corner quadrant).
TEST(JumpLargeEvents, EllipseRaster) {
  auto count = [](double col, double row, double a1, double a2, double deg, std::int64_t ny = 50,
                  std::int64_t nx = 50) {
    std::int64_t n = 0;
    st::draw_large_event_ellipse(ny, nx, col, row, a1, a2, deg,
                                 [&](std::int64_t, std::int64_t) { ++n; });
    return n;
  };
  EXPECT_EQ(count(20, 20, 6, 6, 0), 25);
  EXPECT_EQ(count(20, 20, 4, 8, 0), 21);
  EXPECT_EQ(count(20, 20, 8, 4, 90), 21);
  EXPECT_EQ(count(0, 0, 6, 6, 0), 9);
  EXPECT_EQ(count(20, 20, 0.9, 6, 0), 0);  // a zero radius draws nothing
}

// The pixel sort of jump and ramp_fit: networks up to 32 values, insertion beyond; NaN dropped,
// infinities and ties kept; in place or not. Checked against std::sort of the non-NaN values.
TEST(SortFinite, MatchesStdSortWithNaNsInfinitiesAndTies) {
  std::uint64_t s = 12345;
  auto next = [&s]() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double pool[] = {nan, inf, -inf, 0.0, 1.5, 1.5, -2.25, 3.0, 1e300, -1e-300};
  for (int n = 0; n <= 40; ++n)
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<double> v(n), out(n, -99.0), want;
      for (auto& x : v) {
        const std::uint64_t r = next();
        x = r % 3 == 0 ? pool[r / 3 % 10] : static_cast<double>(r % 1000) / 7.0 - 70.0;
        if (!std::isnan(x)) want.push_back(x);
      }
      std::sort(want.begin(), want.end());
      const int m = stpipe::steps::detail::sort_finite(v.data(), n, out.data());
      ASSERT_EQ(m, static_cast<int>(want.size())) << "n=" << n;
      EXPECT_TRUE(std::equal(want.begin(), want.end(), out.begin())) << "n=" << n;
      std::vector<double> in_place = v;
      ASSERT_EQ(stpipe::steps::detail::sort_finite(in_place.data(), n, in_place.data()), m);
      EXPECT_TRUE(std::equal(want.begin(), want.end(), in_place.begin())) << "n=" << n;
    }
}
