// Memory for large arrays: 2 MiB-aligned blocks reused within the process.
#pragma once

#include <cstddef>

namespace stpipe::util {

/// At least `bytes` bytes, zero-filled when `zero` (never null; throws stpipe::Error when memory
/// is short). Blocks of 4 MiB and more are anonymous mappings aligned to 2 MiB; freed ones are
/// kept (up to STPIPE_BUFFER_CACHE_MB, default 1024) and handed out again, split or merged as
/// needed, because rewriting resident memory is several times faster than faulting in fresh
/// pages: a pipeline frees one step's reference arrays and allocates the next one's of the same
/// sizes. STPIPE_HUGEPAGES=1 also asks for transparent huge pages on new blocks (madvise).
/// Smaller blocks come from calloc/malloc. Release with big_free(p, bytes), the same size.
void* big_alloc(std::size_t bytes, bool zero = true);
void big_free(void* p, std::size_t bytes) noexcept;

}  // namespace stpipe::util
