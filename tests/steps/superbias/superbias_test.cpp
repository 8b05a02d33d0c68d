// Tests of the superbias kernel: stcal/jwst golden vectors and edge cases.
#include "stpipe/steps/superbias.h"

#include <gtest/gtest.h>

#include <limits>

#include "../dq_init/stage_vectors.h"

namespace st = stpipe::steps;
using namespace stpipe::testing;

TEST(Superbias, MatchesStcalVectorsBitExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    auto data = stage_input<float>(c, "superbias", "data");
    auto pdq = stage_input<std::uint32_t>(c, "superbias", "pixeldq");
    auto bias = load_vec<float>(c, "inputs/superbias");
    auto bdq = load_vec<std::uint32_t>(c, "inputs/bias_dq");
    std::vector<float> zf;
    if (c.zero_frame) zf = stage_input<float>(c, "superbias", "zeroframe").v;
    st::subtract_superbias(ramp_shape_of(data.shape), data.v, pdq.v, bias.v, bdq.v, zf);
    EXPECT_EQ(count_diff(data.v, load_vec<float>(c, "stages/superbias/data").v), 0);
    EXPECT_EQ(count_diff(pdq.v, load_vec<std::uint32_t>(c, "stages/superbias/pixeldq").v), 0);
    if (c.zero_frame) {
      EXPECT_EQ(count_diff(zf, load_vec<float>(c, "stages/superbias/zeroframe").v), 0);
    }
  }
}

TEST(Superbias, NanBiasIsZeroZeroframeZerosStay) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  st::RampShape s{2, 2, 1, 3};
  std::vector<float> d(s.size(), 10.0f);
  d[0] = nan;
  std::vector<std::uint32_t> p(3, 0), bdq = {0, 4u << 20, 0};
  std::vector<float> bias = {1.0f, nan, 2.5f};
  std::vector<float> zf = {0.0f, 5.0f, 7.0f, 3.0f, 0.0f, -1.0f};
  st::subtract_superbias(s, d, p, bias, bdq, zf);
  EXPECT_TRUE(std::isnan(d[0]));
  EXPECT_EQ(d[1], 10.0f);
  EXPECT_EQ(d[2], 7.5f);
  EXPECT_EQ(d[3], 9.0f);
  EXPECT_EQ(p[1], 4u << 20);
  EXPECT_EQ(zf, (std::vector<float>{0.0f, 5.0f, 4.5f, 2.0f, 0.0f, -3.5f}));
}

TEST(Superbias, ZeroSizedAndWrongShapes) {
  EXPECT_NO_THROW(st::subtract_superbias({0, 0, 0, 0}, {}, {}, {}, {}));
  st::RampShape s{1, 1, 2, 2};
  std::vector<float> d(4), b3(3), b4(4), zf3(3);
  std::vector<std::uint32_t> p(4), bdq(4);
  EXPECT_THROW(st::subtract_superbias(s, d, p, b3, bdq), std::invalid_argument);
  EXPECT_THROW(st::subtract_superbias(s, d, p, b4, bdq, zf3), std::invalid_argument);
}
