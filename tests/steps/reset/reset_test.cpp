// Tests of the reset kernel (MIRI): the reset_side golden vector and edge cases.
#include "stpipe/steps/reset.h"

#include <gtest/gtest.h>

#include <limits>

#include "../dq_init/stage_vectors.h"

namespace st = stpipe::steps;
using namespace stpipe::testing;

TEST(Reset, MatchesStcalVectorsBitExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    // reset_side is applied to the dark_current output.
    auto data = load_vec<float>(c, "stages/dark_current/data");
    auto pdq = load_vec<std::uint32_t>(c, "stages/dark_current/pixeldq");
    auto reset = load_vec<float>(c, "inputs/reset");
    auto rdq = load_vec<std::uint32_t>(c, "inputs/reset_dq");
    st::subtract_reset(ramp_shape_of(data.shape), data.v, pdq.v, reset.v,
                       {reset.shape[0], reset.shape[1]}, rdq.v);
    EXPECT_EQ(count_diff(data.v, load_vec<float>(c, "stages/reset_side/data").v), 0);
    EXPECT_EQ(count_diff(pdq.v, load_vec<std::uint32_t>(c, "stages/reset_side/pixeldq").v), 0);
  }
}

TEST(Reset, IntegrationMappingGroupLimitAndNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  st::RampShape s{3, 3, 1, 1};
  std::vector<float> d(9, 10.0f);
  // reset: 2 integrations x 2 groups
  std::vector<float> r = {1.0f, 2.0f, nan, 4.0f};
  std::vector<std::uint32_t> p = {0}, rdq = {32};
  st::subtract_reset(s, d, p, r, {2, 2}, rdq);
  EXPECT_EQ(d, (std::vector<float>{9, 8, 10, 10, 6, 10, 10, 6, 10}));
  EXPECT_EQ(p[0], 32u);
  std::vector<float> d2(9, 10.0f);
  st::subtract_reset(s, d2, p, r, {2, 2}, rdq, /*integration_start=*/2);
  EXPECT_EQ(d2, (std::vector<float>{10, 6, 10, 10, 6, 10, 10, 6, 10}));
}

TEST(Reset, ZeroSizedAndWrongShapes) {
  std::vector<float> none;
  std::vector<std::uint32_t> nq;
  EXPECT_NO_THROW(st::subtract_reset({0, 0, 0, 0}, none, nq, none, {0, 0}, nq));
  st::RampShape s{1, 2, 2, 2};
  std::vector<float> d(8), r(7);
  std::vector<std::uint32_t> p(4), rdq(4);
  EXPECT_THROW(st::subtract_reset(s, d, p, r, {1, 2}, rdq), std::invalid_argument);
  std::vector<float> r8(8);
  std::vector<std::uint32_t> rdq5(5);
  EXPECT_THROW(st::subtract_reset(s, d, p, r8, {1, 2}, rdq5), std::invalid_argument);
}
