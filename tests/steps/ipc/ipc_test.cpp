// Tests of the ipc kernel: stcal/jwst golden vectors, reference borders, 4-D kernels, edge cases.
#include "stpipe/steps/ipc.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <limits>

#include "../dq_init/stage_vectors.h"

namespace st = stpipe::steps;
using namespace stpipe::testing;

TEST(Ipc, MatchesStcalVectorsBitExactly) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const auto& c : kVectorCases) {
    SCOPED_TRACE(c.name);
    auto data = stage_input<float>(c, "ipc", "data");
    auto kernel = load_vec<float>(c, "inputs/ipc_kernel");
    ASSERT_EQ(kernel.shape, (std::vector<std::int64_t>{3, 3}));
    const auto b = st::ipc_reference_borders(false, 1, 1, 256, 256);
    EXPECT_EQ(b.bottom, 4);
    EXPECT_EQ(b.left, 4);
    EXPECT_EQ(b.top, 0);
    EXPECT_EQ(b.right, 0);
    const auto before = data.v;
    st::ipc_convolve(ramp_shape_of(data.shape), data.v, kernel.v, 3, 3, b);
    auto want = load_vec<float>(c, "stages/ipc/data");
    EXPECT_EQ(count_diff(data.v, want.v), 0);
    EXPECT_EQ(max_ulp(data.v, want.v), 0);
    EXPECT_GT(count_diff(data.v, before), 0);
  }
}

TEST(Ipc, IndependentOfThreadCount) {
  STPIPE_REQUIRE_SHARED_DATA();
  const auto& c = kVectorCases[1];
  auto kernel = load_vec<float>(c, "inputs/ipc_kernel");
  auto want = load_vec<float>(c, "stages/ipc/data");
  const int saved = omp_get_max_threads();
  for (int t : {1, 3, 7}) {
    auto data = stage_input<float>(c, "ipc", "data");
    omp_set_num_threads(t);
    st::ipc_convolve(ramp_shape_of(data.shape), data.v, kernel.v, 3, 3,
                     st::ipc_reference_borders(false, 1, 1, 256, 256));
    EXPECT_EQ(count_diff(data.v, want.v), 0) << t << " threads";
  }
  omp_set_num_threads(saved);
}

TEST(Ipc, ReferenceBordersFollowJwst) {
  auto full = st::ipc_reference_borders(false, 1, 1, 2048, 2048);
  EXPECT_EQ(full.bottom, 4);
  EXPECT_EQ(full.top, 4);
  EXPECT_EQ(full.left, 4);
  EXPECT_EQ(full.right, 4);
  auto mid = st::ipc_reference_borders(false, 1025, 1025, 64, 64);
  EXPECT_EQ(mid.bottom + mid.top + mid.left + mid.right, 0);
  auto miri = st::ipc_reference_borders(true, 1, 1, 1032, 1024);
  EXPECT_EQ(miri.bottom, 0);
  EXPECT_EQ(miri.top, 0);
  EXPECT_EQ(miri.left, 4);
  EXPECT_EQ(miri.right, 4);
}

// Direct evaluation of the spec formula for one plane (zero padding, centre term last).
static std::vector<float> reference_convolve(const std::vector<float>& in, std::int64_t ny,
                                             std::int64_t nx, const std::vector<float>& k, int kh,
                                             int kw, st::RefPixelBorders b, bool four_d) {
  std::vector<float> out = in;
  const std::int64_t sny = ny - b.bottom - b.top, snx = nx - b.left - b.right;
  const int bb = kh / 2, lb = kw / 2;
  auto T = [&](std::int64_t ty, std::int64_t tx) {
    const std::int64_t sy = ty - bb, sx = tx - lb;
    if (sy < 0 || sy >= sny || sx < 0 || sx >= snx) return 0.0f;
    return in[(sy + b.bottom) * nx + sx + b.left];
  };
  for (std::int64_t y = 0; y < sny; ++y)
    for (std::int64_t x = 0; x < snx; ++x) {
      float o = 0.0f;
      auto K = [&](int j, int i) {
        return four_d ? k[((j * kw + i) * ny + y + b.bottom) * nx + x + b.left] : k[j * kw + i];
      };
      for (int j = 0; j < kh; ++j)
        for (int i = 0; i < kw; ++i)
          if (!(j == kh / 2 && i == kw / 2)) o += K(j, i) * T(kh - 1 - j + y, kw - 1 - i + x);
      o += K(kh / 2, kw / 2) * T(kh / 2 + y, kw / 2 + x);
      out[(y + b.bottom) * nx + x + b.left] = o;
    }
  return out;
}

TEST(Ipc, AsymmetricAndPerPixelKernelsMatchTheFormula) {
  const std::int64_t ny = 23, nx = 17;
  st::RampShape s{2, 2, ny, nx};
  std::vector<float> data(s.size());
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<float>((i * 7919) % 1013) * 0.37f;
  st::RefPixelBorders b{2, 1, 3, 0};
  // 3x5 kernel (even/odd borders differ) and a 4-D 3x3 per-pixel kernel.
  std::vector<float> k2(15);
  for (int i = 0; i < 15; ++i) k2[i] = (i == 7 ? 0.9f : -0.01f * (i + 1));
  std::vector<float> k4(9 * ny * nx);
  for (std::size_t i = 0; i < k4.size(); ++i)
    k4[i] = ((i / (ny * nx)) == 4 ? 1.0f : 0.0f) + 1e-3f * (i % 13);
  for (int t : {1, 2, 5}) {
    omp_set_num_threads(t);
    auto d2 = data, d4 = data;
    st::ipc_convolve(s, d2, k2, 3, 5, b);
    st::ipc_convolve(s, d4, k4, 3, 3, b);
    for (std::int64_t p = 0; p < s.nints * s.ngroups; ++p) {
      std::vector<float> plane(data.begin() + p * ny * nx, data.begin() + (p + 1) * ny * nx);
      auto w2 = reference_convolve(plane, ny, nx, k2, 3, 5, b, false);
      auto w4 = reference_convolve(plane, ny, nx, k4, 3, 3, b, true);
      std::vector<float> g2(d2.begin() + p * ny * nx, d2.begin() + (p + 1) * ny * nx);
      std::vector<float> g4(d4.begin() + p * ny * nx, d4.begin() + (p + 1) * ny * nx);
      EXPECT_EQ(count_diff(g2, w2), 0) << "plane " << p << " threads " << t;
      EXPECT_EQ(count_diff(g4, w4), 0) << "plane " << p << " threads " << t;
    }
  }
}

TEST(Ipc, NanSpreadsToNeighboursOnlyInsideScience) {
  st::RampShape s{1, 1, 6, 6};
  std::vector<float> d(36, 1.0f);
  d[2 * 6 + 2] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> k = {0, 0.1f, 0, 0.1f, 0.6f, 0.1f, 0, 0.1f, 0};
  st::ipc_convolve(s, d, k, 3, 3, {1, 1, 1, 1});
  // zero corner weights still multiply NaN -> NaN over the full 3x3 box
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) {
      const bool box = y >= 1 && y <= 3 && x >= 1 && x <= 3;
      EXPECT_EQ(std::isnan(d[y * 6 + x]), box) << y << "," << x;
    }
  EXPECT_EQ(d[0], 1.0f);  // reference pixel unchanged
}

TEST(Ipc, ZeroSizedAndWrongShapes) {
  std::vector<float> k(9, 0.1f), none;
  EXPECT_NO_THROW(st::ipc_convolve({0, 0, 0, 0}, none, k, 3, 3, {}));
  st::RampShape s{1, 1, 4, 4};
  std::vector<float> d(16, 1.0f);
  EXPECT_NO_THROW(st::ipc_convolve(s, d, k, 3, 3, {4, 0, 0, 0}));  // no science region
  EXPECT_EQ(d[5], 1.0f);
  std::vector<float> k8(8);
  EXPECT_THROW(st::ipc_convolve(s, d, k8, 3, 3, {}), std::invalid_argument);
  std::vector<float> d15(15);
  EXPECT_THROW(st::ipc_convolve(s, d15, k, 3, 3, {}), std::invalid_argument);
  EXPECT_THROW(st::ipc_convolve(s, d, k, 0, 3, {}), std::invalid_argument);
}
