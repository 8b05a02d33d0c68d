// Tests of the dq_init kernel and cut_to_subarray: stcal golden vectors and edge cases.
#include "stpipe/steps/dq_init.h"

#include <gtest/gtest.h>

#include "stage_vectors.h"
#include "stpipe/steps/dqflags.h"

namespace st = stpipe::steps;
using namespace stpipe::testing;

TEST(DqInit, MatchesStcalVectorsExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    auto gdq = stage_input<std::uint8_t>(c, "dq_init", "groupdq");
    auto pdq = stage_input<std::uint32_t>(c, "dq_init", "pixeldq");
    auto mask = load_vec<std::uint32_t>(c, "inputs/mask_dq");
    st::dq_init(ramp_shape_of(gdq.shape), gdq.v, pdq.v, mask.v);
    auto want_g = load_vec<std::uint8_t>(c, "stages/dq_init/groupdq");
    auto want_p = load_vec<std::uint32_t>(c, "stages/dq_init/pixeldq");
    EXPECT_EQ(count_diff(gdq.v, want_g.v), 0);
    EXPECT_EQ(count_diff(pdq.v, want_p.v), 0);
    std::int64_t dnu = 0;
    for (auto q : gdq.v) dnu += q & stpipe::dq::kDoNotUse;
    EXPECT_GT(dnu, 0);  // the mask really flags groups
  }
}

TEST(DqInit, UserDqIsOredIntoMaskAndDnuPropagatesToEveryGroup) {
  st::RampShape s{2, 3, 1, 2};
  std::vector<std::uint8_t> gdq(s.size(), 0);
  gdq[1] = 4;
  std::vector<std::uint32_t> pdq = {0, 8}, mask = {1u << 31 | 1, 0}, user = {0, 1 | 2048};
  st::dq_init(s, gdq, pdq, mask, user);
  EXPECT_EQ(pdq[0], (1u << 31) | 1u);
  EXPECT_EQ(pdq[1], 8u | 1u | 2048u);
  for (std::int64_t p = 0; p < s.nints * s.ngroups; ++p) {
    EXPECT_EQ(gdq[p * 2 + 0], 1);
    EXPECT_EQ(gdq[p * 2 + 1], p == 0 ? 5 : 1);
  }
}

TEST(DqInit, ZeroSizedAndWrongShapes) {
  st::RampShape empty{0, 0, 0, 0};
  std::vector<std::uint8_t> g;
  std::vector<std::uint32_t> p, m;
  EXPECT_NO_THROW(st::dq_init(empty, g, p, m));
  st::RampShape s{1, 2, 2, 2};
  std::vector<std::uint8_t> gdq(s.size());
  std::vector<std::uint32_t> pdq(4), mask3(3), mask4(4), user5(5);
  EXPECT_THROW(st::dq_init(s, gdq, pdq, mask3), std::invalid_argument);
  EXPECT_THROW(st::dq_init(s, gdq, pdq, mask4, user5), std::invalid_argument);
  std::vector<std::uint8_t> gdq_short(s.size() - 1);
  EXPECT_THROW(st::dq_init(s, gdq_short, pdq, mask4), std::invalid_argument);
}

TEST(CutToSubarray, SlicesLikeJwstGetSubarrayModel) {
  // Reference 2 planes of 4x5 starting at (1,1); science window xstart=3, ystart=2, 2x2.
  std::vector<float> ref(2 * 4 * 5);
  for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = static_cast<float>(i);
  st::SubarrayWindow rw{1, 1, 5, 4}, sw{3, 2, 2, 2};
  EXPECT_FALSE(st::ref_matches_sci(rw, sw));
  auto cut = st::cut_to_subarray<float>(ref, 2, rw, sw);
  ASSERT_EQ(cut.size(), 8u);
  // plane 0: rows 1..2, columns 2..3
  EXPECT_EQ(cut[0], 7.0f);
  EXPECT_EQ(cut[1], 8.0f);
  EXPECT_EQ(cut[2], 12.0f);
  EXPECT_EQ(cut[3], 13.0f);
  EXPECT_EQ(cut[4], 27.0f);
  st::SubarrayWindow outside{4, 1, 3, 2};
  EXPECT_THROW(st::cut_to_subarray<float>(ref, 2, rw, outside), std::invalid_argument);
  EXPECT_THROW(st::cut_to_subarray<float>(std::span<const float>(ref).first(10), 2, rw, sw),
               std::invalid_argument);
  EXPECT_TRUE(st::ref_matches_sci(rw, rw));
}
