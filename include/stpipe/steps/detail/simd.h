// SIMD helpers shared by the jump and ramp_fit kernels: 512-bit lane vectors (GCC vector
// extensions, so the code also builds without AVX-512), Batcher sorting networks over rows of
// lanes, lane selection by a per-lane index, and lane masks.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "stpipe/steps/detail/sorting_network.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace stpipe::steps::detail {

/// 16 floats, 16 int32, 8 doubles, 8 int64: one 512-bit register each with AVX-512.
typedef float f32x16 __attribute__((vector_size(64)));
typedef std::int32_t i32x16 __attribute__((vector_size(64)));
typedef double f64x8 __attribute__((vector_size(64)));
typedef std::int64_t i64x8 __attribute__((vector_size(64)));
/// Half-width companions (8 lanes of 32 bits) for loads, stores and conversions.
typedef float f32x8 __attribute__((vector_size(32)));
typedef std::int32_t i32x8 __attribute__((vector_size(32)));
typedef std::uint32_t u32x8 __attribute__((vector_size(32)));

/// Unaligned load of a vector from p.
template <class V, class T>
inline V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

/// Unaligned store of v to p.
template <class V, class T>
inline void store(T* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}

/// 16 bytes widened to 16 int32 lanes.
inline i32x16 widen_u8(const std::uint8_t* p) {
#if defined(__AVX512F__)
  return reinterpret_cast<i32x16>(
      _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#else
  typedef std::uint8_t u8x16 __attribute__((vector_size(16)));
  u8x16 b;
  std::memcpy(&b, p, sizeof b);
  return __builtin_convertvector(b, i32x16);
#endif
}

/// 8 bytes widened to 8 int64 lanes.
inline i64x8 widen_u8x8(const std::uint8_t* p) {
#if defined(__AVX512F__)
  return reinterpret_cast<i64x8>(
      _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#else
  typedef std::uint8_t u8x8 __attribute__((vector_size(8)));
  u8x8 b;
  std::memcpy(&b, p, sizeof b);
  return __builtin_convertvector(b, i64x8);
#endif
}

/// 8 floats at p, as doubles (exact).
inline f64x8 load_f32_as_f64(const float* p) {
#if defined(__AVX512F__)
  return reinterpret_cast<f64x8>(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#else
  return __builtin_convertvector(load<f32x8>(p), f64x8);
#endif
}

/// 8 doubles rounded to float (round to nearest even) and stored at p.
inline void store_f64_as_f32(float* p, f64x8 v) {
#if defined(__AVX512F__)
  _mm256_storeu_ps(p, _mm512_cvtpd_ps(reinterpret_cast<__m512d>(v)));
#else
  store(p, __builtin_convertvector(v, f32x8));
#endif
}

/// Bit l set where lane l of the comparison mask m (all ones / zero) is set.
inline unsigned lane_bits(i32x16 m) {
#if defined(__AVX512DQ__)
  return _mm512_movepi32_mask(reinterpret_cast<__m512i>(m));
#else
  unsigned b = 0;
  for (int l = 0; l < 16; ++l) b |= m[l] ? (1u << l) : 0u;
  return b;
#endif
}

inline unsigned lane_bits(i64x8 m) {
#if defined(__AVX512DQ__)
  return _mm512_movepi64_mask(reinterpret_cast<__m512i>(m));
#else
  unsigned b = 0;
  for (int l = 0; l < 8; ++l) b |= m[l] ? (1u << l) : 0u;
  return b;
#endif
}

/// Correctly rounded square roots of 8 doubles (like std::sqrt, without errno handling).
inline f64x8 sqrt_lanes(f64x8 x) {
#if defined(__AVX512F__)
  return reinterpret_cast<f64x8>(_mm512_sqrt_pd(reinterpret_cast<__m512d>(x)));
#else
  for (int l = 0; l < 8; ++l) x[l] = __builtin_sqrt(x[l]);
  return x;
#endif
}

/// Lane-wise b < a ? b : a and b < a ? a : b: the x86 MIN/MAX semantics, which GCC does not
/// always find by itself in the vector ternary.
template <class V>
inline V min_lanes(V a, V b) {
#if defined(__AVX512F__)
  if constexpr (sizeof(a[0]) == 4)
    return reinterpret_cast<V>(
        _mm512_min_ps(reinterpret_cast<__m512>(b), reinterpret_cast<__m512>(a)));
  else
    return reinterpret_cast<V>(
        _mm512_min_pd(reinterpret_cast<__m512d>(b), reinterpret_cast<__m512d>(a)));
#else
  return b < a ? b : a;
#endif
}
template <class V>
inline V max_lanes(V a, V b) {
#if defined(__AVX512F__)
  if constexpr (sizeof(a[0]) == 4)
    return reinterpret_cast<V>(
        _mm512_max_ps(reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b)));
  else
    return reinterpret_cast<V>(
        _mm512_max_pd(reinterpret_cast<__m512d>(a), reinterpret_cast<__m512d>(b)));
#else
  return b < a ? a : b;
#endif
}

/// Compare-exchange of two rows: a gets the lane-wise min, b the max (no NaNs in the rows).
template <class V>
inline void cswap(V& a, V& b) {
  const V lo = min_lanes(a, b);
  const V hi = max_lanes(a, b);
  a = lo;
  b = hi;
}

template <class V, int N, std::size_t... I>
inline void sort_rows_fixed([[maybe_unused]] V* rows, std::index_sequence<I...>) {
  [[maybe_unused]] constexpr auto pairs = batcher_pairs<N>();
  (cswap(rows[pairs[I].first], rows[pairs[I].second]), ...);
}

template <class V, int N>
void sort_rows_n(V* rows) {
  sort_rows_fixed<V, N>(rows, std::make_index_sequence<batcher_count(N)>{});
}

template <class V, std::size_t... K>
constexpr auto make_row_sorters(std::index_sequence<K...>) {
  return std::array<void (*)(V*), sizeof...(K)>{&sort_rows_n<V, static_cast<int>(K)>...};
}

constexpr int kMaxUnrolledSort = 32;

/// Sorts rows[0..n) lane-wise, ascending (no NaNs): unrolled networks for n <= 32, else `net`
/// (sort_network(n)).
template <class V>
inline void sort_rows(V* rows, int n, const std::vector<std::pair<int, int>>& net) {
  static constexpr auto kSorters =
      make_row_sorters<V>(std::make_index_sequence<kMaxUnrolledSort + 1>{});
  if (n <= kMaxUnrolledSort) {
    kSorters[n](rows);
    return;
  }
  for (const auto& [x, y] : net) cswap(rows[x], rows[y]);
}

/// Lane l of the result is rows[idx[l]][l] (idx in [0, n)); `fallback` where idx is out of range.
template <class V, class I>
inline V pick_rows(const V* rows, int n, I idx, V fallback) {
  V r = fallback;
  for (int j = 0; j < n; ++j) r = idx == j ? rows[j] : r;
  return r;
}

}  // namespace stpipe::steps::detail
