// Tests of the linearity kernel: stcal golden vectors, coefficient preparation, edge cases.
#include "stpipe/steps/linearity.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <limits>

#include "../dq_init/stage_vectors.h"
#include "stpipe/steps/dqflags.h"

namespace st = stpipe::steps;
namespace dq = stpipe::dq;
using namespace stpipe::testing;

TEST(Linearity, MatchesStcalVectorsBitExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    auto data = stage_input<float>(c, "linearity", "data");
    auto gdq = stage_input<std::uint8_t>(c, "linearity", "groupdq");
    auto pdq = stage_input<std::uint32_t>(c, "linearity", "pixeldq");
    auto coeffs = load_vec<float>(c, "inputs/lin_coeffs");
    auto ldq = load_vec<std::uint32_t>(c, "inputs/lin_dq");
    std::vector<float> zf;
    if (c.zero_frame) zf = stage_input<float>(c, "linearity", "zeroframe").v;
    const auto before = data.v;
    st::correct_linearity(ramp_shape_of(data.shape), data.v, gdq.v, pdq.v, coeffs.v,
                          coeffs.shape[0], ldq.v, zf);
    EXPECT_EQ(count_diff(data.v, load_vec<float>(c, "stages/linearity/data").v), 0);
    EXPECT_EQ(count_diff(pdq.v, load_vec<std::uint32_t>(c, "stages/linearity/pixeldq").v), 0);
    if (c.zero_frame) {
      EXPECT_EQ(count_diff(zf, load_vec<float>(c, "stages/linearity/zeroframe").v), 0);
    }
    // saturated groups keep their values
    for (std::size_t k = 0; k < data.v.size(); ++k)
      if (gdq.v[k] & dq::kSaturated) {
        ASSERT_EQ(count_diff(std::vector<float>{data.v[k]}, {before[k]}), 0);
      }
  }
}

TEST(Linearity, PrepareCoefficientsFlagsAndBenignValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // 4 pixels, 3 coefficients: good, NO_LIN_CORR in ref dq, NaN, zero linear term.
  std::vector<float> c = {1,    2, nan, 4,  //
                          2,    2, 2,   0,  //
                          0.5f, 7, 7,   7};
  std::vector<std::uint32_t> ldq = {0, dq::kNoLinCorr, 0, dq::kHot}, p = {8, 0, 0, 0};
  st::prepare_linearity_coefficients(c, 3, ldq, p);
  EXPECT_EQ(p, (std::vector<std::uint32_t>{8, dq::kNoLinCorr, dq::kNoLinCorr,
                                           dq::kHot | dq::kNoLinCorr}));
  EXPECT_EQ(c, (std::vector<float>{1, 0, 0, 0, 2, 1, 1, 1, 0.5f, 0, 0, 0}));
  EXPECT_THROW(st::prepare_linearity_coefficients(std::span<float>(c).first(6), 1,
                                                  std::span<const std::uint32_t>(ldq), p),
               std::invalid_argument);
}

TEST(Linearity, HornerOrderSaturationNanAndZeroframe) {
  st::RampShape s{1, 3, 1, 2};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> d = {3.0f, 1.5f, nan, 1000.0f, 7.0f, 2.0f};
  std::vector<std::uint8_t> q = {0, 0, 0, dq::kSaturated, 0, 0};
  // c0 + c1 x + c2 x^2 + c3 x^3 for pixel 0 and 1
  std::vector<float> c = {0.1f, 0.2f, 1.0f, 1.1f, 0.01f, 0.02f, 0.001f, 0.002f};
  std::vector<float> zf = {0.0f, 2.0f};
  st::apply_linearity(s, d, q, c, 4, zf);
  auto poly = [&](int p, float x) {
    float r = c[6 + p] * x;
    r = r + c[4 + p];
    r = r * x;
    r = r + c[2 + p];
    r = r * x;
    return r + c[p];
  };
  EXPECT_EQ(d[0], poly(0, 3.0f));
  EXPECT_EQ(d[1], poly(1, 1.5f));
  EXPECT_TRUE(std::isnan(d[2]));
  EXPECT_EQ(d[3], 1000.0f);
  EXPECT_EQ(d[4], poly(0, 7.0f));
  EXPECT_EQ(zf[0], 0.0f);
  EXPECT_EQ(zf[1], poly(1, 2.0f));
}

TEST(Linearity, IndependentOfThreadCountAndLongPolynomials) {
  st::RampShape s{2, 3, 37, 29};
  std::vector<float> d(s.size());
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = 100.0f + static_cast<float>(i % 977);
  std::vector<std::uint8_t> q(s.size(), 0);
  for (std::int64_t n : {2, 7, 20}) {
    std::vector<float> c(n * s.npix());
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::size_t j = i / s.npix();
      c[i] = j == 0 ? 0.25f * (i % 7 + 1) : j == 1 ? 1.0f : 1e-7f * (i % 11);
    }
    omp_set_num_threads(1);
    auto a = d;
    st::apply_linearity(s, a, q, c, n);
    omp_set_num_threads(3);
    auto b = d;
    st::apply_linearity(s, b, q, c, n);
    EXPECT_EQ(count_diff(a, b), 0) << n;
    EXPECT_GT(count_diff(a, d), 0) << n;
  }
}

TEST(Linearity, ZeroSizedAndWrongShapes) {
  std::vector<float> none;
  std::vector<std::uint8_t> nq;
  EXPECT_NO_THROW(st::apply_linearity({0, 0, 0, 0}, none, nq, none, 5));
  st::RampShape s{1, 2, 2, 2};
  std::vector<float> d(8), c(5 * 3);
  std::vector<std::uint8_t> q(8);
  EXPECT_THROW(st::apply_linearity(s, d, q, c, 5), std::invalid_argument);
  std::vector<float> c4(5 * 4);
  std::vector<std::uint32_t> p(4), ldq(3);
  EXPECT_THROW(st::correct_linearity(s, d, q, p, c4, 5, ldq), std::invalid_argument);
}

TEST(Linearity, AllSaturatedAndSingleGroupKeepOrCorrect) {
  st::RampShape s{1, 1, 1, 3};
  std::vector<float> d = {5.0f, 6.0f, 7.0f};
  std::vector<std::uint8_t> sat(3, static_cast<std::uint8_t>(dq::kSaturated)), none(3, 0);
  std::vector<float> c = {1, 1, 1, 2, 2, 2};  // 1 + 2x
  auto d1 = d;
  st::apply_linearity(s, d1, sat, c, 2);
  EXPECT_EQ(d1, d);
  st::apply_linearity(s, d, none, c, 2);
  EXPECT_EQ(d, (std::vector<float>{11.0f, 13.0f, 15.0f}));
}

// The read-level path on a small synthetic exposure (nframes 3, cubic inverse), compared bit
// for bit with stcal 1.19.1 linearity_correction(ilin_coeffs=..., read_pattern=...) run under
// numpy 1.24 on the same inputs (expected float32 bit patterns below).
TEST(Linearity, ReadLevelPathMatchesStcalBitExactly) {
  const std::int64_t nints = 2, G = 5, ny = 3, nx = 4, npix = ny * nx;
  const int nf = 3;
  st::RampShape s{nints, G, ny, nx};
  std::vector<float> d(s.size());
  std::vector<std::uint8_t> q(s.size(), 0);
  for (std::int64_t i = 0; i < nints; ++i)
    for (std::int64_t g = 0; g < G; ++g)
      for (std::int64_t p = 0; p < npix; ++p)
        d[(i * G + g) * npix + p] =
            static_cast<float>(100.0 + 37.0 * p + 900.0 * g + 13.0 * i + 0.25 * (p * g % 7));
  auto at = [&](std::int64_t i, std::int64_t g, std::int64_t y, std::int64_t x) {
    return (i * G + g) * npix + y * nx + x;
  };
  for (std::int64_t g = 3; g < G; ++g) q[at(0, g, 1, 2)] = dq::kSaturated;
  for (std::int64_t g = 1; g < G; ++g) q[at(1, g, 0, 0)] = dq::kSaturated;
  for (std::int64_t g = 0; g < G; ++g) q[at(1, g, 2, 3)] = dq::kSaturated;
  std::vector<float> c(3 * npix), ic(4 * npix);
  for (std::int64_t p = 0; p < npix; ++p) {
    c[p] = static_cast<float>(0.5 * (p % 2));
    c[npix + p] = static_cast<float>(1.0 + 0.001 * (p % 5));
    c[2 * npix + p] = static_cast<float>(2e-6 * (1 + p % 3));
    ic[p] = static_cast<float>(-0.5 * (p % 2));
    ic[npix + p] = static_cast<float>(1.0 - 0.001 * (p % 5));
    ic[2 * npix + p] = static_cast<float>(-2e-6 * (1 + p % 3));
    ic[3 * npix + p] = static_cast<float>(1e-11 * (p % 4));
  }
  const std::uint32_t want[] = {
      0x42c84858, 0x4309f519, 0x432ee6da, 0x435457e8, 0x43797bc0, 0x438f2df8, 0x43a1533a,
      0x43b47d46, 0x43c74018, 0x43d9dd3b, 0x43eb907f, 0x43fef5ed, 0x447a87b5, 0x44826aa5,
      0x44877e17, 0x448bc5b0, 0x4490e3cb, 0x449571d1, 0x44997acc, 0x449e9333, 0x44a3d2b0,
      0x44a7e059, 0x44ac503e, 0x44b1c556, 0x44ee6ade, 0x44f46621, 0x44fa56b6, 0x44fd683e,
      0x45019766, 0x45040b53, 0x45056824, 0x45086b38, 0x450b8648, 0x450cd898, 0x450f4609,
      0x451265a9, 0x452ffcc7, 0x4533988b, 0x4537335d, 0x45379cea, 0x453b412e, 0x453df917,
      0x453cf000, 0x4541f486, 0x4545bed4, 0x4545f4e9, 0x4548af17, 0x454ca105, 0x4568f7f7,
      0x456d65c3, 0x4571b9bd, 0x4570d5f2, 0x457535e6, 0x45789f82, 0x45752c00, 0x457be582,
      0x4580497e, 0x457f288f, 0x45814e41, 0x4583ad6c, 0x42e24a75, 0x4316fc3f, 0x433bf4b7,
      0x436164c9, 0x438347eb, 0x4395b3ca, 0x43a7d726, 0x43bb0577, 0x43cdcd1f, 0x43e066d0,
      0x43f216d7, 0x44020000, 0x447d4000, 0x44840e89, 0x44892451, 0x448d68cc, 0x4492894d,
      0x449717c5, 0x449b1d47, 0x44a0383e, 0x44a57a70, 0x44a9843e, 0x44adf4d3, 0x44b1a000,
      0x44ef2000, 0x44f60d03, 0x44fc016f, 0x44ff0cd9, 0x45026ba6, 0x4504e08c, 0x45063a21,
      0x45093f3d, 0x450c5c68, 0x450dab4a, 0x451019d3, 0x45110400, 0x452fd000, 0x45346d7c,
      0x45380af9, 0x45386ff7, 0x453c16ee, 0x453ed08e, 0x453f196f, 0x4542ca0a, 0x45469733,
      0x4546c85b, 0x45498461, 0x45495400, 0x45681000, 0x456e3c34, 0x45729398, 0x4571a9bf,
      0x45760d26, 0x4579793a, 0x45782c8c, 0x457cbc86, 0x4580b6cd, 0x457ffcc1, 0x4581b9a6,
      0x4580c400};
  ASSERT_EQ(sizeof(want) / sizeof(want[0]), d.size());
  const auto before = d;
  st::apply_linearity_read_level(s, d, q, c, 3, ic, 4, nf);
  std::int64_t mismatches = 0;
  for (std::size_t k = 0; k < d.size(); ++k) {
    std::uint32_t bits;
    std::memcpy(&bits, &d[k], 4);
    mismatches += bits != want[k];
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(d[at(1, 3, 2, 3)], before[at(1, 3, 2, 3)]);  // saturated: unchanged
  std::vector<float> one_group(12);
  std::vector<std::uint8_t> q1(12);
  EXPECT_THROW(st::apply_linearity_read_level({1, 1, 3, 4}, one_group, q1, c, 3, ic, 4, nf),
               std::invalid_argument);
}
