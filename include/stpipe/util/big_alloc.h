// Memory for large arrays: 2 MiB-aligned blocks reused within the process.
#pragma once

#include <cstddef>

namespace stpipe::util {

/// Alignment and size grain of big_alloc's blocks: one transparent huge page.
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

/// At least `bytes` bytes, zero-filled when `zero` (never null; throws stpipe::Error when memory
/// is short). Blocks of 4 MiB and more are anonymous mappings aligned to 2 MiB; freed ones are
/// kept (up to STPIPE_BUFFER_CACHE_MB, default 1024) and handed out again, split or merged as
/// needed, because rewriting resident memory is several times faster than faulting in fresh
/// pages: a pipeline frees one step's reference arrays and allocates the next one's of the same
/// sizes. New blocks ask for transparent huge pages (madvise; STPIPE_HUGEPAGES=0 turns that
/// off), and blocks allocated without zeroing (filled at once by a read) are populated in one
/// call (MADV_POPULATE_WRITE) after that, so they are huge-page backed too.
/// Smaller blocks come from calloc/malloc. Release with big_free(p, bytes), the same size.
void* big_alloc(std::size_t bytes, bool zero = true);
void big_free(void* p, std::size_t bytes) noexcept;

/// `n` elements of scratch from big_alloc (uninitialised), given back on destruction, so a
/// kernel's large temporaries return to the block cache for the next step instead of staying
/// resident. Move-only.
template <class T>
class BigBuffer {
 public:
  BigBuffer() = default;
  explicit BigBuffer(std::size_t n)
      : p_(n ? static_cast<T*>(big_alloc(n * sizeof(T), false)) : nullptr), n_(n) {}
  BigBuffer(BigBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  BigBuffer& operator=(BigBuffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = o.p_;
      n_ = o.n_;
      o.p_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }
  BigBuffer(const BigBuffer&) = delete;
  BigBuffer& operator=(const BigBuffer&) = delete;
  ~BigBuffer() { release(); }
  T* data() const { return p_; }
  std::size_t size() const { return n_; }

 private:
  void release() {
    if (p_) big_free(p_, n_ * sizeof(T));
    p_ = nullptr;
  }
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace stpipe::util
