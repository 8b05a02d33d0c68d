// Tests of the lastframe kernel (MIRI): the lastframe_side golden vector and edge cases.
#include "stpipe/steps/lastframe.h"

#include <gtest/gtest.h>

#include "../dq_init/stage_vectors.h"
#include "stpipe/steps/dqflags.h"

namespace st = stpipe::steps;
using namespace stpipe::testing;

TEST(Lastframe, MatchesStcalVectorsExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    auto gdq = stage_input<std::uint8_t>(c, "dark_current", "groupdq");
    EXPECT_TRUE(st::flag_last_frame(ramp_shape_of(gdq.shape), gdq.v));
    EXPECT_EQ(count_diff(gdq.v, load_vec<std::uint8_t>(c, "stages/lastframe_side/groupdq").v), 0);
  }
}

TEST(Lastframe, SkippedForTwoGroupsOrFewer) {
  st::RampShape s{2, 2, 1, 2};
  std::vector<std::uint8_t> q(s.size(), 2);
  EXPECT_FALSE(st::flag_last_frame(s, q));
  EXPECT_EQ(q, std::vector<std::uint8_t>(s.size(), 2));
  st::RampShape s3{2, 3, 1, 1};
  std::vector<std::uint8_t> q3(6, 0);
  EXPECT_TRUE(st::flag_last_frame(s3, q3));
  EXPECT_EQ(q3, (std::vector<std::uint8_t>{0, 0, 1, 0, 0, 1}));
  std::vector<std::uint8_t> bad(5);
  EXPECT_THROW(st::flag_last_frame(s3, bad), std::invalid_argument);
  EXPECT_FALSE(st::flag_last_frame({0, 0, 0, 0}, {}));
}
