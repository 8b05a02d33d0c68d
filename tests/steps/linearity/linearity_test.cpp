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
