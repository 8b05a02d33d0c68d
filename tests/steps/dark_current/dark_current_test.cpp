// Tests of the dark_current kernel: stcal golden vectors (direct and frame-averaged), edge cases.
#include "stpipe/steps/dark_current.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <span>

#include "../dq_init/stage_vectors.h"

namespace st = stpipe::steps;
using namespace stpipe::testing;

TEST(DarkCurrent, MatchesStcalVectorsBitExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    auto data = stage_input<float>(c, "dark_current", "data");
    auto pdq = stage_input<std::uint32_t>(c, "dark_current", "pixeldq");
    auto dark = load_vec<float>(c, "inputs/dark");
    auto ddq = load_vec<std::uint32_t>(c, "inputs/dark_dq");
    st::DarkReadout dr;
    dr.ngroups = dark.shape[0];  // frame-resolved: nframes 1, groupgap 0
    const auto shape = ramp_shape_of(data.shape);
    EXPECT_EQ(st::subtract_dark(shape, c.nframes, c.groupgap, data.v, pdq.v, dark.v, dr, ddq.v),
              st::DarkStatus::kComplete);
    EXPECT_EQ(count_diff(data.v, load_vec<float>(c, "stages/dark_current/data").v), 0);
    EXPECT_EQ(count_diff(pdq.v, load_vec<std::uint32_t>(c, "stages/dark_current/pixeldq").v), 0);
    // The averaged dark product: group g = mean of frames g*(nf+gg) .. +nf-1 (NaN -> 0).
    auto avg = st::averaged_dark(shape, c.nframes, c.groupgap, dark.v, dr);
    ASSERT_EQ(static_cast<std::int64_t>(avg.size()), shape.ngroups * shape.npix());
    const std::int64_t p = 1234, g = shape.ngroups - 1, npix = shape.npix();
    float s = 0.0f;
    for (int k = 0; k < c.nframes; ++k) {
      const float v = dark.v[(g * (c.nframes + c.groupgap) + k) * npix + p];
      s = k == 0 ? (std::isnan(v) ? 0.0f : v) : s + (std::isnan(v) ? 0.0f : v);
    }
    EXPECT_EQ(avg[g * npix + p], c.nframes == 1 ? s : s / static_cast<float>(c.nframes));
  }
}

TEST(DarkCurrent, SkippedWhenDarkHasMoreFramesPerGroup) {
  st::RampShape s{1, 2, 1, 2};
  std::vector<float> d(4, 5.0f), dark(6, 1.0f);
  std::vector<std::uint32_t> p(2, 0), ddq(2, 1);
  st::DarkReadout dr{false, 1, 3, 2, 0};
  EXPECT_EQ(st::subtract_dark(s, 1, 0, d, p, dark, dr, ddq), st::DarkStatus::kSkipped);
  EXPECT_EQ(d, std::vector<float>(4, 5.0f));
  EXPECT_EQ(p, std::vector<std::uint32_t>(2, 0));
  EXPECT_TRUE(st::averaged_dark(s, 1, 0, dark, dr).empty());
}

TEST(DarkCurrent, ExtrapolatesInFloat64LikeStcal) {
  // Science 4 groups, dark 2 groups (nframes 1): groups 2,3 are last + k*rate in float64 and
  // the subtraction rounds once from float64. Expected values computed with numpy 1.24 running
  // stcal's extrapolate_dark/subtract_dark; group 3 differs by 1 ulp from a float32 dark.
  st::RampShape s{1, 4, 1, 1};
  std::vector<float> d(4, 76.07228f);
  std::vector<std::uint32_t> p(1, 0), ddq(1, 0);
  std::vector<float> dark = {0.4024064f, 1.9764378f};
  st::DarkReadout dr{false, 1, 2, 1, 0};
  ASSERT_EQ(st::subtract_dark(s, 1, 0, d, p, dark, dr, ddq), st::DarkStatus::kComplete);
  EXPECT_EQ(d, (std::vector<float>{75.66987609863281f, 74.09584045410156f, 72.52181243896484f,
                                   70.9477767944336f}));
  EXPECT_NE(d[3], 70.94778442382812f);  // what a float32 extrapolated dark would give
  EXPECT_THROW(st::subtract_dark(s, 1, 0, d, p, std::span<const float>(dark).first(1),
                                 st::DarkReadout{false, 1, 1, 1, 0}, ddq),
               std::invalid_argument);
}

TEST(DarkCurrent, NanDarkIsZeroAndSaturatedGroupsAreSubtracted) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  st::RampShape s{1, 2, 1, 2};
  std::vector<float> d = {5.0f, nan, 5.0f, 5.0f};
  std::vector<float> dark = {1.0f, nan, nan, 2.0f};
  std::vector<std::uint32_t> p(2, 0), ddq = {0, 1u << 23};
  ASSERT_EQ(st::subtract_dark(s, 1, 0, d, p, dark, {false, 1, 2, 1, 0}, ddq),
            st::DarkStatus::kComplete);
  EXPECT_EQ(d[0], 4.0f);
  EXPECT_TRUE(std::isnan(d[1]));
  EXPECT_EQ(d[2], 5.0f);
  EXPECT_EQ(d[3], 3.0f);
  EXPECT_EQ(p[1], 1u << 23);
}

TEST(DarkCurrent, FourDDarkUsesMatchingIntegrationOrLast) {
  st::RampShape s{3, 1, 1, 1};
  std::vector<float> d = {10.0f, 10.0f, 10.0f};
  std::vector<float> dark = {1.0f, 2.0f};  // 2 integrations x 1 group
  std::vector<std::uint32_t> p(1, 0), ddq = {4, 8};
  st::DarkReadout dr{true, 2, 1, 1, 0};
  ASSERT_EQ(st::subtract_dark(s, 1, 0, d, p, dark, dr, ddq, 2), st::DarkStatus::kComplete);
  EXPECT_EQ(d, (std::vector<float>{9.0f, 8.0f, 8.0f}));
  EXPECT_EQ(p[0], 12u);
  std::vector<float> d2 = {10.0f, 10.0f, 10.0f};
  ASSERT_EQ(st::subtract_dark(s, 1, 0, d2, p, dark, dr, ddq, 2, /*integration_start=*/3),
            st::DarkStatus::kComplete);
  EXPECT_EQ(d2, (std::vector<float>{8.0f, 8.0f, 8.0f}));
}

TEST(DarkCurrent, IndependentOfThreadCount) {
  STPIPE_REQUIRE_SHARED_DATA();
  const auto& c = kVectorCases[1];
  auto dark = load_vec<float>(c, "inputs/dark");
  auto ddq = load_vec<std::uint32_t>(c, "inputs/dark_dq");
  auto want = load_vec<float>(c, "stages/dark_current/data");
  st::DarkReadout dr;
  dr.ngroups = dark.shape[0];
  const int saved = omp_get_max_threads();
  for (int t : {1, 3}) {
    omp_set_num_threads(t);
    auto data = stage_input<float>(c, "dark_current", "data");
    auto pdq = stage_input<std::uint32_t>(c, "dark_current", "pixeldq");
    st::subtract_dark(ramp_shape_of(data.shape), c.nframes, c.groupgap, data.v, pdq.v, dark.v, dr,
                      ddq.v);
    EXPECT_EQ(count_diff(data.v, want.v), 0) << t;
  }
  omp_set_num_threads(saved);
}

TEST(DarkCurrent, ZeroSizedAndWrongShapes) {
  std::vector<float> none;
  std::vector<std::uint32_t> nq;
  EXPECT_EQ(st::subtract_dark({0, 0, 0, 0}, 1, 0, none, nq, none, {}, nq),
            st::DarkStatus::kComplete);
  st::RampShape s{1, 2, 2, 2};
  std::vector<float> d(8), dark(7);
  std::vector<std::uint32_t> p(4), ddq(4);
  EXPECT_THROW(st::subtract_dark(s, 1, 0, d, p, dark, {false, 1, 2, 1, 0}, ddq),
               std::invalid_argument);
  std::vector<float> dark8(8);
  std::vector<std::uint32_t> ddq3(3);
  EXPECT_THROW(st::subtract_dark(s, 1, 0, d, p, dark8, {false, 1, 2, 1, 0}, ddq3),
               std::invalid_argument);
}

TEST(DarkCurrent, AverageDarkCurrentPriority) {
  std::vector<float> ref = {0.5f, 1.5f}, zeros = {0.0f, 0.0f}, wrong = {1.0f};
  EXPECT_EQ(st::resolve_average_dark_current(2, 3.0f, ref, 9.0f), (std::vector<float>{3.0f, 3.0f}));
  EXPECT_EQ(st::resolve_average_dark_current(2, std::nullopt, ref, 9.0f), ref);
  EXPECT_EQ(st::resolve_average_dark_current(2, std::nullopt, zeros, 9.0f),
            (std::vector<float>{9.0f, 9.0f}));
  EXPECT_EQ(st::resolve_average_dark_current(2, std::nullopt, wrong, std::nullopt),
            (std::vector<float>{0.0f, 0.0f}));
}

// Written in place, on every thread for a full plane: every value is overwritten, whatever the
// destination held (the step hands it an uninitialised plane).
TEST(DarkCurrent, AverageDarkCurrentWrittenInPlace) {
  const std::size_t n = 2048 * 2048;
  std::vector<float> ref(n), out(n, -7.0f);
  for (std::size_t p = 0; p < n; ++p) ref[p] = 0.001f * static_cast<float>(p % 977);
  st::resolve_average_dark_current(out, std::nullopt, ref, 9.0f);
  EXPECT_EQ(out, ref);
  std::fill(out.begin(), out.end(), -7.0f);
  st::resolve_average_dark_current(out, std::nullopt, std::span<const float>{}, 0.25f);
  EXPECT_EQ(std::count(out.begin(), out.end(), 0.25f), static_cast<std::ptrdiff_t>(n));
  std::fill(out.begin(), out.end(), -7.0f);
  st::resolve_average_dark_current(out, 3.0f, ref, 9.0f);
  EXPECT_EQ(std::count(out.begin(), out.end(), 3.0f), static_cast<std::ptrdiff_t>(n));
}

TEST(DarkCurrent, SingleGroupAndAllSaturatedStillSubtracted) {
  st::RampShape s{2, 1, 1, 2};
  std::vector<float> d = {70000.0f, 70000.0f, 70000.0f, 70000.0f};
  std::vector<float> dark = {1.0f, 2.0f};
  std::vector<std::uint32_t> p(2, 0), ddq(2, 0);
  ASSERT_EQ(st::subtract_dark(s, 1, 0, d, p, dark, {false, 1, 1, 1, 0}, ddq),
            st::DarkStatus::kComplete);
  EXPECT_EQ(d, (std::vector<float>{69999.0f, 69998.0f, 69999.0f, 69998.0f}));
}

namespace {
std::vector<std::uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<std::uint32_t> b(v.size());
  std::memcpy(b.data(), v.data(), v.size() * 4);
  return b;
}
std::vector<float> science_ramp(const st::RampShape& s) {
  std::vector<float> d(s.size());
  for (std::int64_t k = 0; k < s.size(); ++k) d[k] = static_cast<float>(k * 1.37 + 50.0);
  return d;
}
}  // namespace

// Extrapolation followed by frame averaging (the dark becomes float64 in stcal), and a 4-D
// averaged dark with fewer dark integrations than science ones. Expected bit patterns come from
// stcal 1.19.1 dark_sub.do_correction_data run under numpy 1.24 on the same inputs.
TEST(DarkCurrent, ExtrapolatedAveragedAndFourDMatchStcal) {
  const std::int64_t ny = 2, nx = 3, npix = ny * nx;
  {
    st::RampShape s{1, 4, ny, nx};
    auto d = science_ramp(s);
    std::vector<float> dark(6 * npix);
    for (std::int64_t k = 0; k < 6; ++k)
      for (std::int64_t p = 0; p < npix; ++p)
        dark[k * npix + p] = static_cast<float>(0.1 * (k + 1) * (1 + p) + 0.013 * p);
    dark[5 * npix + 1] = std::numeric_limits<float>::quiet_NaN();
    dark[2 * npix + 5] = std::numeric_limits<float>::quiet_NaN();
    std::vector<std::uint32_t> p(npix, 0), ddq(npix, 0);
    ASSERT_EQ(st::subtract_dark(s, 2, 1, d, p, dark, {false, 1, 6, 1, 0}, ddq),
              st::DarkStatus::kComplete);
    const std::vector<std::uint32_t> want = {
        0x42476666, 0x424c3a5e, 0x42510e56, 0x4255e24e, 0x425ab646, 0x425f8a3d,
        0x4267147b, 0x426ab540, 0x426e5604, 0x4271f6c9, 0x4275978e, 0x42793852,
        0x42836148, 0x42879eb8, 0x4285ced9, 0x428705a2, 0x42883c6a, 0x42897333,
        0x42933852, 0x42980f5c, 0x429472b0, 0x42950fdf, 0x4295ad0e, 0x42964a3e};
    EXPECT_EQ(bits_of(d), want);
  }
  {
    st::RampShape s{3, 1, ny, nx};
    auto d = science_ramp(s);
    std::vector<float> dark(2 * 3 * npix);
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t k = 0; k < 3; ++k)
        for (std::int64_t p = 0; p < npix; ++p)
          dark[(i * 3 + k) * npix + p] = static_cast<float>(0.3 * (k + 1) + 0.7 * i + 0.011 * p);
    std::vector<std::uint32_t> p(npix, 0), ddq(2 * npix, 0);
    ASSERT_EQ(st::subtract_dark(s, 2, 0, d, p, dark, {true, 2, 3, 1, 0}, ddq, 2),
              st::DarkStatus::kComplete);
    const std::vector<std::uint32_t> want = {
        0x42463333, 0x424ba2d1, 0x4251126f, 0x4256820c, 0x425bf1aa, 0x42616147,
        0x426447ae, 0x4269b74c, 0x426f26e9, 0x42749688, 0x427a0625, 0x427f75c2,
        0x4282947b, 0x42854c49, 0x42880419, 0x428abbe8, 0x428d73b6, 0x42902b85};
    EXPECT_EQ(bits_of(d), want);
  }
}
