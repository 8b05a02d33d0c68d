// SIMD helpers shared by the jump, ramp_fit and saturation kernels: lane vectors of the target's
// native width (GCC vector extensions: 512 bits with AVX-512, 256 with AVX, 128 otherwise),
// Batcher sorting networks over rows of lanes, lane selection by a per-lane index, and lane
// masks. A vector wider than the target's registers would be split by GCC into pieces kept in
// memory, which is many times slower, so the kernels take their block widths from here.
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

#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace stpipe::steps::detail {

/// Bytes in one vector register of the target.
#if defined(__AVX512F__)
inline constexpr int kVecBytes = 64;
#elif defined(__AVX__)
inline constexpr int kVecBytes = 32;
#else
inline constexpr int kVecBytes = 16;
#endif
/// Lanes of 32-bit and of 64-bit values in one vector.
inline constexpr int kF32Lanes = kVecBytes / 4;
inline constexpr int kF64Lanes = kVecBytes / 8;
/// lane_bits of a mask with every 32-bit (64-bit) lane set.
inline constexpr unsigned kAllF32Lanes = (1u << kF32Lanes) - 1;
inline constexpr unsigned kAllF64Lanes = (1u << kF64Lanes) - 1;

/// One register of floats, int32, doubles or int64.
typedef float f32v __attribute__((vector_size(kVecBytes)));
typedef std::int32_t i32v __attribute__((vector_size(kVecBytes)));
typedef double f64v __attribute__((vector_size(kVecBytes)));
typedef std::int64_t i64v __attribute__((vector_size(kVecBytes)));
/// Half-width companions (kF64Lanes lanes of 32 bits) for loads, stores and conversions.
typedef float f32h __attribute__((vector_size(kVecBytes / 2)));
typedef std::int32_t i32h __attribute__((vector_size(kVecBytes / 2)));
typedef std::uint32_t u32h __attribute__((vector_size(kVecBytes / 2)));
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

/// kF32Lanes bytes widened to int32 lanes.
inline i32v widen_u8(const std::uint8_t* p) {
#if defined(__AVX512F__)
  return reinterpret_cast<i32v>(
      _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#elif defined(__AVX2__)
  return reinterpret_cast<i32v>(
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#else
  typedef std::uint8_t u8s __attribute__((vector_size(kF32Lanes)));
  u8s b;
  std::memcpy(&b, p, sizeof b);
  return __builtin_convertvector(b, i32v);
#endif
}

/// kF64Lanes bytes widened to int64 lanes.
inline i64v widen_u8_i64(const std::uint8_t* p) {
#if defined(__AVX512F__)
  return reinterpret_cast<i64v>(
      _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#elif defined(__AVX2__)
  std::int32_t w;
  std::memcpy(&w, p, sizeof w);
  return reinterpret_cast<i64v>(_mm256_cvtepu8_epi64(_mm_cvtsi32_si128(w)));
#else
  typedef std::uint8_t u8s __attribute__((vector_size(kF64Lanes)));
  u8s b;
  std::memcpy(&b, p, sizeof b);
  return __builtin_convertvector(b, i64v);
#endif
}

/// kF64Lanes floats at p, as doubles (exact).
inline f64v load_f32_as_f64(const float* p) {
#if defined(__AVX512F__)
  return reinterpret_cast<f64v>(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#elif defined(__AVX__)
  return reinterpret_cast<f64v>(_mm256_cvtps_pd(_mm_loadu_ps(p)));
#else
  return __builtin_convertvector(load<f32h>(p), f64v);
#endif
}

/// kF64Lanes doubles rounded to float (round to nearest even) and stored at p.
inline void store_f64_as_f32(float* p, f64v v) {
#if defined(__AVX512F__)
  _mm256_storeu_ps(p, _mm512_cvtpd_ps(reinterpret_cast<__m512d>(v)));
#elif defined(__AVX__)
  _mm_storeu_ps(p, _mm256_cvtpd_ps(reinterpret_cast<__m256d>(v)));
#else
  store(p, __builtin_convertvector(v, f32h));
#endif
}

/// Bit l set where lane l of the comparison mask m (all ones / zero) is set.
inline unsigned lane_bits(i32v m) {
#if defined(__AVX512DQ__)
  return _mm512_movepi32_mask(reinterpret_cast<__m512i>(m));
#elif defined(__AVX512F__)
  return _mm512_cmpneq_epi32_mask(reinterpret_cast<__m512i>(m), _mm512_setzero_si512());
#elif defined(__AVX__)
  return static_cast<unsigned>(_mm256_movemask_ps(reinterpret_cast<__m256>(m)));
#elif defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_ps(reinterpret_cast<__m128>(m)));
#else
  unsigned b = 0;
  for (int l = 0; l < kF32Lanes; ++l) b |= m[l] ? (1u << l) : 0u;
  return b;
#endif
}

inline unsigned lane_bits(i64v m) {
#if defined(__AVX512DQ__)
  return _mm512_movepi64_mask(reinterpret_cast<__m512i>(m));
#elif defined(__AVX512F__)
  return _mm512_cmpneq_epi64_mask(reinterpret_cast<__m512i>(m), _mm512_setzero_si512());
#elif defined(__AVX__)
  return static_cast<unsigned>(_mm256_movemask_pd(reinterpret_cast<__m256d>(m)));
#elif defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_pd(reinterpret_cast<__m128d>(m)));
#else
  unsigned b = 0;
  for (int l = 0; l < kF64Lanes; ++l) b |= m[l] ? (1u << l) : 0u;
  return b;
#endif
}

/// Correctly rounded square roots of kF64Lanes doubles (like std::sqrt, without errno handling).
inline f64v sqrt_lanes(f64v x) {
#if defined(__AVX512F__)
  return reinterpret_cast<f64v>(_mm512_sqrt_pd(reinterpret_cast<__m512d>(x)));
#elif defined(__AVX__)
  return reinterpret_cast<f64v>(_mm256_sqrt_pd(reinterpret_cast<__m256d>(x)));
#elif defined(__SSE2__)
  return reinterpret_cast<f64v>(_mm_sqrt_pd(reinterpret_cast<__m128d>(x)));
#else
  for (int l = 0; l < kF64Lanes; ++l) x[l] = __builtin_sqrt(x[l]);
  return x;
#endif
}

/// x86 MINPS/MAXPS (and the pd forms) lane-wise: x < y ? x : y, or x > y ? x : y when Max (y
/// when either is NaN or they are equal).
template <bool Max, class V>
inline V x86_min_max(V x, V y) {
  constexpr bool f32 = sizeof(x[0]) == 4;
  // One ISA's MIN/MAX for float (F) or double (D) vectors.
#define STPIPE_X86_MIN_MAX(F, D, fmin, fmax, dmin, dmax)            \
  if constexpr (f32) {                                              \
    const F a = reinterpret_cast<F>(x), b = reinterpret_cast<F>(y); \
    return reinterpret_cast<V>(Max ? fmax(a, b) : fmin(a, b));      \
  } else {                                                          \
    const D a = reinterpret_cast<D>(x), b = reinterpret_cast<D>(y); \
    return reinterpret_cast<V>(Max ? dmax(a, b) : dmin(a, b));      \
  }
#if defined(__AVX512F__)
  STPIPE_X86_MIN_MAX(__m512, __m512d, _mm512_min_ps, _mm512_max_ps, _mm512_min_pd, _mm512_max_pd)
#elif defined(__AVX__)
  STPIPE_X86_MIN_MAX(__m256, __m256d, _mm256_min_ps, _mm256_max_ps, _mm256_min_pd, _mm256_max_pd)
#elif defined(__SSE2__)
  STPIPE_X86_MIN_MAX(__m128, __m128d, _mm_min_ps, _mm_max_ps, _mm_min_pd, _mm_max_pd)
#else
  (void)f32;
  return Max ? (x > y ? x : y) : (x < y ? x : y);
#endif
#undef STPIPE_X86_MIN_MAX
}

/// Lane-wise b < a ? b : a and b < a ? a : b: the x86 MIN/MAX semantics, which GCC does not
/// always find by itself in the vector ternary.
template <class V>
inline V min_lanes(V a, V b) {
  return x86_min_max<false>(b, a);
}
template <class V>
inline V max_lanes(V a, V b) {
  return x86_min_max<true>(a, b);
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
