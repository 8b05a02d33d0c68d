// SIMD helpers shared by the jump and ramp_fit kernels: Batcher sorting networks for 8 pixels at
// a time (medians of each pixel's differences) and lane-wise square roots.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

namespace stpipe::steps::detail {

// Batcher odd-even merge sort comparators for n keys (any n).
inline std::vector<std::pair<int, int>> sort_network(int n) {
  std::vector<std::pair<int, int>> net;
  for (int p = 1; p < n; p <<= 1)
    for (int k = p; k >= 1; k >>= 1)
      for (int j = k % p; j + k < n; j += 2 * k)
        for (int i = 0; i < std::min(k, n - j - k); ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) net.emplace_back(i + j, i + j + k);
  return net;
}

constexpr int kLanes = 8;  // pixels per SIMD block

// Square roots of kLanes (8) aligned doubles in place: correctly rounded like std::sqrt, but
// without errno handling, so it stays vectorised.
inline void sqrt_lanes(double* x) {
#if defined(__AVX512F__)
  _mm512_store_pd(x, _mm512_sqrt_pd(_mm512_load_pd(x)));
#elif defined(__AVX__)
  _mm256_store_pd(x, _mm256_sqrt_pd(_mm256_load_pd(x)));
  _mm256_store_pd(x + 4, _mm256_sqrt_pd(_mm256_load_pd(x + 4)));
#else
  for (int l = 0; l < 8; ++l) x[l] = std::sqrt(x[l]);
#endif
}

// Batcher odd-even merge sort for n keys, as a compile-time comparator list.
constexpr int batcher_count(int n) {
  int c = 0;
  for (int p = 1; p < n; p <<= 1)
    for (int k = p; k >= 1; k >>= 1)
      for (int j = k % p; j + k < n; j += 2 * k)
        for (int i = 0; i < std::min(k, n - j - k); ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) ++c;
  return c;
}

template <int N>
constexpr std::array<std::pair<int, int>, batcher_count(N)> batcher_pairs() {
  std::array<std::pair<int, int>, batcher_count(N)> out{};
  int c = 0;
  for (int p = 1; p < N; p <<= 1)
    for (int k = p; k >= 1; k >>= 1)
      for (int j = k % p; j + k < N; j += 2 * k)
        for (int i = 0; i < std::min(k, N - j - k); ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) out[c++] = {i + j, i + j + k};
  return out;
}

// Compare-exchange of two 8-lane rows: x gets (y < x ? y : x), y gets (y < x ? x : y).
inline void cswap_lanes(double* x, double* y) {
#if defined(__AVX512F__)
  const __m512d a = _mm512_load_pd(x), b = _mm512_load_pd(y);
  _mm512_store_pd(x, _mm512_min_pd(b, a));
  _mm512_store_pd(y, _mm512_max_pd(a, b));
#else
  for (int l = 0; l < 8; ++l) {
    const double a = x[l], b = y[l];
    const bool sw = b < a;
    x[l] = sw ? b : a;
    y[l] = sw ? a : b;
  }
#endif
}

template <int N, std::size_t... I>
inline void sort_lanes_fixed([[maybe_unused]] double (*a)[8], std::index_sequence<I...>) {
  [[maybe_unused]] constexpr auto pairs = batcher_pairs<N>();
  (cswap_lanes(a[pairs[I].first], a[pairs[I].second]), ...);
}

// Sorts rows a[0..n) lane-wise with the fixed network for n keys.
template <int N>
void sort_lanes_n(double (*a)[8]) {
  sort_lanes_fixed<N>(a, std::make_index_sequence<batcher_count(N)>{});
}

template <std::size_t... K>
constexpr auto make_sorters(std::index_sequence<K...>) {
  return std::array<void (*)(double(*)[8]), sizeof...(K)>{&sort_lanes_n<static_cast<int>(K)>...};
}

constexpr int kMaxUnrolledSort = 32;

// Sorts rows a[0..n) lane-wise (ascending, no NaNs); unrolled networks for n <= 32.
inline void sort_lanes(double (*a)[8], int n, const std::vector<std::pair<int, int>>& net) {
  static constexpr auto kSorters = make_sorters(std::make_index_sequence<kMaxUnrolledSort + 1>{});
  if (n <= kMaxUnrolledSort) {
    kSorters[n](a);
    return;
  }
  for (const auto& [x, y] : net) cswap_lanes(a[x], a[y]);
}

}  // namespace stpipe::steps::detail
