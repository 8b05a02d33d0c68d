// Sorting the non-NaN values of a pixel's few differences, without data-dependent branches.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>

#include "stpipe/steps/detail/sorting_network.h"

namespace stpipe::steps::detail {

/// Branch-free sorting network (Batcher's) of N scalars without NaN, ascending.
template <int N, std::size_t... I>
inline void sort_scalars_fixed([[maybe_unused]] double* v, std::index_sequence<I...>) {
  [[maybe_unused]] constexpr auto pairs = batcher_pairs<N>();
  (
      [&] {
        const double a = v[pairs[I].first], b = v[pairs[I].second];
        v[pairs[I].first] = b < a ? b : a;
        v[pairs[I].second] = b < a ? a : b;
      }(),
      ...);
}

template <int N>
void sort_scalars(double* v) {
  sort_scalars_fixed<N>(v, std::make_index_sequence<batcher_count(N)>{});
}

template <std::size_t... K>
constexpr auto make_scalar_sorters(std::index_sequence<K...>) {
  return std::array<void (*)(double*), sizeof...(K)>{&sort_scalars<static_cast<int>(K)>...};
}

/// Longest input sorted by a network; longer ones use an insertion sort.
constexpr int kMaxNetworkSort = 32;

/// Sorts the non-NaN values of v[0..n) into out (ascending); returns their count. out may be v
/// (in place). Up to
// kMaxNetworkSort values go through a sorting network with NaN as +inf (no data-dependent
// branches: these pixels are the ones with jumps, whose order is anything but sorted); the
// values equal to +inf all sort last, so out[0..count) holds the non-NaN ones either way.
inline int sort_finite(const double* v, int n, double* out) {
  if (n <= kMaxNetworkSort) {
    static constexpr auto kSorters =
        make_scalar_sorters(std::make_index_sequence<kMaxNetworkSort + 1>{});
    int m = 0;
    for (int j = 0; j < n; ++j) {
      const bool nan = std::isnan(v[j]);
      out[j] = nan ? std::numeric_limits<double>::infinity() : v[j];
      m += !nan;
    }
    kSorters[n](out);
    return m;
  }
  int m = 0;
  for (int j = 0; j < n; ++j) {
    const double x = v[j];
    if (std::isnan(x)) continue;
    int k = m++;
    while (k > 0 && out[k - 1] > x) {
      out[k] = out[k - 1];
      --k;
    }
    out[k] = x;
  }
  return m;
}

}  // namespace stpipe::steps::detail
