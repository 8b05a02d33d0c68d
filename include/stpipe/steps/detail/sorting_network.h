// Batcher odd-even merge sorting networks: the comparator lists, at run time and compile time.
#pragma once

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

namespace stpipe::steps::detail {

/// Batcher odd-even merge sort comparators for n keys (any n), as a runtime list.
inline std::vector<std::pair<int, int>> sort_network(int n) {
  std::vector<std::pair<int, int>> net;
  for (int p = 1; p < n; p <<= 1)
    for (int k = p; k >= 1; k >>= 1)
      for (int j = k % p; j + k < n; j += 2 * k)
        for (int i = 0; i < std::min(k, n - j - k); ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) net.emplace_back(i + j, i + j + k);
  return net;
}

/// Number of comparators of the Batcher network for n keys.
constexpr int batcher_count(int n) {
  int c = 0;
  for (int p = 1; p < n; p <<= 1)
    for (int k = p; k >= 1; k >>= 1)
      for (int j = k % p; j + k < n; j += 2 * k)
        for (int i = 0; i < std::min(k, n - j - k); ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) ++c;
  return c;
}

/// The Batcher comparators for N keys, at compile time.
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

}  // namespace stpipe::steps::detail
