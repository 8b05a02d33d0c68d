// Tests of the guider_cds kernel: count rates and jwst's ERR in every FGS mode.
#include "stpipe/steps/guider_cds.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace st = stpipe::steps;

namespace {

// jwst's ERR for one pixel, written out in float32 as numpy evaluates it.
float jwst_err(float diff, float gain, float rn, float t) {
  const float q = rn / t;
  const float var_rn = 2.0f * (q * q);
  float var_pn = diff / (gain * t);
  if (var_pn < 0.0f) var_pn = 0.0f;
  return std::sqrt(var_rn + var_pn);
}

}  // namespace

TEST(GuiderCds, AcqTrackRatesAndErrors) {
  const st::RampShape shape{2, 2, 1, 3};
  // int 0: groups {10, 20, 30} then {110, 15, 30}; int 1: {0, 0, 0} then {5, 5, 5}.
  const std::vector<float> data = {10, 20, 30, 110, 15, 30, 0, 0, 0, 5, 5, 5};
  const std::vector<float> gain = {2.0f, 1.5f, 3.0f}, rn = {5.0f, 7.0f, 0.0f};
  std::vector<float> out(6), err(6);
  st::guider_cds(shape, data, 0.5, st::GuiderMode::kAcqTrack, out, gain, rn, err);
  EXPECT_EQ(out, (std::vector<float>{200.0f, -10.0f, 0.0f, 10.0f, 10.0f, 10.0f}));
  const float diffs[6] = {100, -5, 0, 5, 5, 5};
  for (int k = 0; k < 6; ++k)
    EXPECT_EQ(err[k], jwst_err(diffs[k], gain[k % 3], rn[k % 3], 0.5f)) << k;
  // A negative difference adds no Poisson variance: sqrt(2 (7 / 0.5)^2).
  EXPECT_FLOAT_EQ(err[1], std::sqrt(2.0f * 14.0f * 14.0f));
  EXPECT_EQ(err[2], 0.0f);  // no read noise, no signal
}

TEST(GuiderCds, FineGuideMeansOfFourGroupsAndIdMinimum) {
  const st::RampShape fg{1, 8, 1, 1};
  const std::vector<float> ramp = {1, 2, 3, 4, 11, 12, 13, 14};
  std::vector<float> out(1), err(1);
  const std::vector<float> gain = {2.0f}, rn = {3.0f};
  st::guider_cds(fg, ramp, 2.0, st::GuiderMode::kFineGuide, out, gain, rn, err);
  EXPECT_EQ(out[0], 5.0f);  // (12.5 - 2.5) / 2
  EXPECT_EQ(err[0], jwst_err(10.0f, 2.0f, 3.0f, 2.0f));
  // ID: the minimum of the differences of integrations 0 and 1 (a third is not used); a NaN
  // difference wins, as np.minimum.
  const st::RampShape id{3, 2, 1, 2};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> d = {0, 0, 8, nan, 0, 0, 4, 1, 0, 0, -100, -100};
  std::vector<float> o2(2), e2(2);
  const std::vector<float> g2(2, st::kGuiderDefaultGain), r2(2, st::kGuiderDefaultReadnoise);
  st::guider_cds(id, d, 4.0, st::GuiderMode::kId, o2, g2, r2, e2);
  EXPECT_EQ(o2[0], 1.0f);
  EXPECT_TRUE(std::isnan(o2[1]));
  EXPECT_EQ(e2[0], jwst_err(4.0f, st::kGuiderDefaultGain, st::kGuiderDefaultReadnoise, 4.0f));
  EXPECT_TRUE(std::isnan(e2[1]));
}

TEST(GuiderCds, SizeErrors) {
  const st::RampShape shape{1, 2, 2, 2};
  std::vector<float> data(8, 1.0f), out(4), err(4), gain(3, 1.0f), rn(4, 1.0f);
  EXPECT_THROW(st::guider_cds(shape, data, 1.0, st::GuiderMode::kAcqTrack, out, gain, rn, err),
               std::invalid_argument);
  EXPECT_THROW(st::guider_cds(shape, data, 0.0, st::GuiderMode::kAcqTrack, out),
               std::invalid_argument);
  EXPECT_THROW(
      st::guider_cds({1, 1, 2, 2}, std::vector<float>(4), 1.0, st::GuiderMode::kAcqTrack, out),
      std::invalid_argument);
}
