// Row blocks for the streaming kernels that visit every group plane of a band of rows in turn.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace stpipe::steps::detail {

/// Rows per block for a kernel that, for each block of rows, streams the block through every
/// group plane (plane stride = a whole image). One 2048-pixel float row is 8 KiB, two pages, and
/// the hardware prefetchers stop at page boundaries, so row-at-a-time streams restart every two
/// pages; a block makes each plane's share one contiguous run of about `target_bytes` (32 to
/// 128 KiB measured the same), while the block's reference values (read once, used for every
/// plane) stay in L2. Small images get at least four blocks per thread so the static schedule
/// stays balanced. Never less than 1. Only the traversal depends on it: every pixel's arithmetic
/// is the same for any block size.
inline std::int64_t rows_per_block(std::int64_t nx, std::int64_t ny, std::size_t bytes_per_pixel,
                                   std::size_t target_bytes = std::size_t{64} << 10) {
  if (nx <= 0 || ny <= 0) return 1;
  const auto row_bytes = static_cast<std::int64_t>(bytes_per_pixel) * nx;
  std::int64_t rows =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(target_bytes) / row_bytes);
  const std::int64_t per_thread = 4 * static_cast<std::int64_t>(omp_get_max_threads());
  rows = std::min(rows, std::max<std::int64_t>(1, ny / per_thread));
  return rows;
}

/// Where the traversal goes after the run of plane p (of nplanes, `stride` elements apart) that
/// starts at element r and is n long: the same rows of plane p + 1, or after the last plane the
/// next block's rows of the first plane (an offset from the first plane's start).
inline std::int64_t next_run_start(std::int64_t p, std::int64_t nplanes, std::int64_t stride,
                                   std::int64_t r, std::int64_t n) {
  return p + 1 < nplanes ? (p + 1) * stride + r : r + n;
}

/// A software-prefetch target `ahead` elements past element x of a run of n elements (one group
/// plane's share of a row block) whose traversal continues with the run at `next` (the next
/// group's, or after the last group the next block's first). The hardware prefetchers stop at
/// page boundaries and a run starts on a new page, so targets carry over from the end of one run
/// into the start of the next one: no run starts cold. Only an address, never dereferenced (it may
/// lie past the end of the array, so it is formed as an integer).
template <class T>
inline const void* prefetch_target(const T* run, const T* next, std::int64_t n, std::int64_t x,
                                   std::int64_t ahead) {
  const bool here = x + ahead < n;
  const auto base = reinterpret_cast<std::uintptr_t>(here ? run : next);
  const std::int64_t k = here ? x + ahead : x + ahead - n;
  return reinterpret_cast<const void*>(base + static_cast<std::uintptr_t>(k) * sizeof(T));
}

}  // namespace stpipe::steps::detail
