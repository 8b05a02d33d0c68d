// Tests of the flat_field kernel (imaging): the jwst golden vector and edge cases.
#include "stpipe/steps/flat_field.h"

#include <gtest/gtest.h>

#include <limits>

#include "../dq_init/stage_vectors.h"
#include "stpipe/steps/dqflags.h"

namespace st = stpipe::steps;
namespace dq = stpipe::dq;
using namespace stpipe::testing;

TEST(FlatField, MatchesJwstVectorsBitExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    auto data = load_vec<float>(c, "stages/ramp_fit_rate/slope");
    auto dqa = load_vec<std::uint32_t>(c, "stages/ramp_fit_rate/dq");
    auto err = load_vec<float>(c, "stages/ramp_fit_rate/err");
    auto vp = load_vec<float>(c, "stages/ramp_fit_rate/var_poisson");
    auto vr = load_vec<float>(c, "stages/ramp_fit_rate/var_rnoise");
    std::vector<float> vf(data.v.size());
    auto flat = load_vec<float>(c, "inputs/flat");
    auto fdq = load_vec<std::uint32_t>(c, "inputs/flat_dq");
    auto ferr = load_vec<float>(c, "inputs/flat_err");
    st::FlatFieldTarget t{1, data.shape[0], data.shape[1], data.v, dqa.v, err.v, vp.v, vr.v, vf};
    st::apply_flat_field(t, flat.v, fdq.v, ferr.v);
    const std::string s = "stages/flat_field/";
    EXPECT_EQ(count_diff(data.v, load_vec<float>(c, s + "data").v), 0);
    EXPECT_EQ(count_diff(dqa.v, load_vec<std::uint32_t>(c, s + "dq").v), 0);
    EXPECT_EQ(count_diff(err.v, load_vec<float>(c, s + "err").v), 0);
    EXPECT_EQ(count_diff(vp.v, load_vec<float>(c, s + "var_poisson").v), 0);
    EXPECT_EQ(count_diff(vr.v, load_vec<float>(c, s + "var_rnoise").v), 0);
    EXPECT_EQ(count_diff(vf, load_vec<float>(c, s + "var_flat").v), 0);
  }
}

TEST(FlatField, BadFlatsNanMatchingAndInverse) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // pixels: good flat 2, NaN flat, zero flat, NO_FLAT_FIELD flat, NaN data
  std::vector<float> flat = {2.0f, nan, 0.0f, 3.0f, 2.0f};
  std::vector<std::uint32_t> fdq = {0, 0, 0, dq::kNoFlatField, 0};
  std::vector<float> ferr = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  std::vector<float> data = {8.0f, 8.0f, 8.0f, 8.0f, nan}, err(5, 1.0f), vp(5, 4.0f), vr(5, 8.0f),
                     vf(5, -1.0f);
  std::vector<std::uint32_t> q(5, 0);
  st::FlatFieldTarget t{1, 1, 5, data, q, err, vp, vr, vf};
  st::apply_flat_field(t, flat, fdq, ferr);
  EXPECT_EQ(data[0], 4.0f);
  EXPECT_EQ(vp[0], 1.0f);
  EXPECT_EQ(vr[0], 2.0f);
  EXPECT_EQ(vf[0], 16.0f / 4.0f * 0.25f);
  EXPECT_EQ(err[0], std::sqrt(1.0f + 2.0f + 1.0f));
  EXPECT_EQ(q[0], 0u);
  for (int p = 1; p < 5; ++p) {
    EXPECT_TRUE(std::isnan(data[p]) && std::isnan(err[p]) && std::isnan(vp[p]) &&
                std::isnan(vr[p]) && std::isnan(vf[p]))
        << p;
    EXPECT_TRUE(q[p] & dq::kDoNotUse) << p;
  }
  EXPECT_EQ(q[1], dq::kDoNotUse | dq::kNoFlatField);
  EXPECT_EQ(q[2], dq::kDoNotUse | dq::kNoFlatField);
  EXPECT_EQ(q[3], dq::kDoNotUse | dq::kNoFlatField);
  EXPECT_EQ(q[4], dq::kDoNotUse);

  std::vector<float> d2 = {3.0f}, e2 = {1.0f}, p2 = {4.0f}, r2 = {4.0f}, f2 = {7.0f};
  std::vector<std::uint32_t> q2 = {0};
  st::FlatFieldTarget inv{1, 1, 1, d2, q2, e2, p2, r2, f2};
  std::vector<float> fl = {2.0f}, fe = {0.1f};
  std::vector<std::uint32_t> fq = {0};
  st::apply_flat_field(inv, fl, fq, fe, /*inverse=*/true);
  EXPECT_EQ(d2[0], 6.0f);
  EXPECT_EQ(f2[0], 0.0f);
  EXPECT_EQ(p2[0], 1.0f);
  EXPECT_EQ(e2[0], std::sqrt(2.0f));
}

TEST(FlatField, CubeAndWrongShapes) {
  std::vector<float> d = {2.0f, 4.0f}, e(2), vp(2), vr(2), vf(2), flat = {2.0f}, ferr = {0.0f};
  std::vector<std::uint32_t> q(2), fdq = {0};
  st::FlatFieldTarget t{2, 1, 1, d, q, e, vp, vr, vf};
  st::apply_flat_field(t, flat, fdq, ferr);
  EXPECT_EQ(d, (std::vector<float>{1.0f, 2.0f}));
  std::vector<float> flat2(2);
  EXPECT_THROW(st::apply_flat_field(t, flat2, fdq, ferr), std::invalid_argument);
  std::vector<float> vf1(1);
  st::FlatFieldTarget bad{2, 1, 1, d, q, e, vp, vr, vf1};
  EXPECT_THROW(st::apply_flat_field(bad, flat, fdq, ferr), std::invalid_argument);
  st::FlatFieldTarget empty{0, 0, 0, {}, {}, {}, {}, {}, {}};
  EXPECT_NO_THROW(st::apply_flat_field(empty, {}, {}, {}));
}

// Guider data (jwst's GuiderCalModel branch): no Poisson or read-noise variance; the ERR from
// guider_cds combined with var_flat in quadrature. NON_SCIENCE pixels get DO_NOT_USE (and are
// then NaN) in both branches.
TEST(FlatField, GuiderErrAndNonScience) {
  std::vector<float> d = {6.0f, 8.0f}, e = {3.0f, 1.0f}, vf(2), flat = {2.0f, 4.0f},
                     ferr = {0.5f, 0.0f};
  std::vector<std::uint32_t> q = {0, dq::kNonScience}, fdq = {0, 0};
  st::FlatFieldTarget t{1, 1, 2, d, q, e, {}, {}, vf};
  t.guider = true;
  st::apply_flat_field(t, flat, fdq, ferr);
  EXPECT_EQ(d[0], 3.0f);
  EXPECT_EQ(vf[0], 9.0f / 4.0f * 0.25f);
  EXPECT_EQ(e[0], std::sqrt(9.0f + vf[0]));
  EXPECT_EQ(q[0], 0u);
  EXPECT_EQ(q[1], dq::kNonScience | dq::kDoNotUse);
  EXPECT_TRUE(std::isnan(d[1]) && std::isnan(e[1]) && std::isnan(vf[1]));
  // Without the guider flag the variances are required.
  t.guider = false;
  EXPECT_THROW(st::apply_flat_field(t, flat, fdq, ferr), std::invalid_argument);
}
