// Large blocks for arrays, reused within the process (see util/big_alloc.h).
#include "stpipe/util/big_alloc.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // mremap
#endif
#include <sys/mman.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "stpipe/util/error.h"

namespace stpipe::util {

namespace {

constexpr std::size_t kGrain = kHugePageBytes;                    // block sizes and alignment
constexpr std::size_t kThreshold = std::size_t{4} << 20;          // below this, calloc/malloc
constexpr std::size_t kParallelPopulate = std::size_t{16} << 20;  // populated on every thread

std::size_t mapped_size(std::size_t bytes) { return (bytes + kGrain - 1) / kGrain * kGrain; }

bool env_flag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  const std::string s(v);
  return !(s == "0" || s == "no" || s == "false" || s == "off");
}

std::size_t cache_limit() {
  const char* v = std::getenv("STPIPE_BUFFER_CACHE_MB");
  if (v && *v) return static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) << 20;
  return std::size_t{1} << 30;  // 1 GiB
}

// Freed blocks kept mapped (and so already backed by memory) for the next allocations: a
// pipeline frees each step's reference arrays and allocates the next step's of the same sizes,
// and touching fresh pages costs far more than rewriting resident ones. Address-ordered so
// neighbours coalesce; best fit with splitting.
class BlockCache {
 public:
  void* take(std::size_t size) {
    std::lock_guard lock(mutex_);
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
    if (best == free_.end()) return grow_largest(size);
    const std::uintptr_t addr = best->first;
    const std::size_t have = best->second;
    free_.erase(best);
    if (have > size) free_.emplace(addr + size, have - size);
    cached_ -= size;
    return reinterpret_cast<void*>(addr);
  }

 private:
  // No cached block is large enough: extend the largest one (its resident pages are kept, only
  // the extension is fresh) and unmap other cached blocks for as many bytes as the process
  // grows, so the cache never raises the peak memory. Null when the cache is empty.
  void* grow_largest(std::size_t size) {
    if (free_.empty()) return nullptr;
    auto largest = free_.begin();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second > largest->second) largest = it;
    void* old = reinterpret_cast<void*>(largest->first);
    const std::size_t have = largest->second;
    free_.erase(largest);
    cached_ -= have;
    void* p = mremap(old, have, size, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) {
      munmap(old, have);
      return nullptr;
    }
    std::size_t released = 0;
    while (released < size - have && !free_.empty()) {
      auto big = free_.begin();
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->second > big->second) big = it;
      munmap(reinterpret_cast<void*>(big->first), big->second);
      released += big->second;
      cached_ -= big->second;
      free_.erase(big);
    }
    return p;
  }

 public:
  void give(void* p, std::size_t size) {
    std::lock_guard lock(mutex_);
    auto addr = reinterpret_cast<std::uintptr_t>(p);
    auto next = free_.lower_bound(addr);
    if (next != free_.end() && next->first == addr + size) {  // merge with the block after
      size += next->second;
      next = free_.erase(next);
    }
    if (next != free_.begin()) {  // merge with the block before
      auto prev = std::prev(next);
      if (prev->first + prev->second == addr) {
        addr = prev->first;
        size += prev->second;
        free_.erase(prev);
      }
    }
    free_.emplace(addr, size);
    recount();
    while (cached_ > limit_ && !free_.empty()) {  // over the limit: unmap the largest blocks
      auto largest = free_.begin();
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->second > largest->second) largest = it;
      munmap(reinterpret_cast<void*>(largest->first), largest->second);
      cached_ -= largest->second;
      free_.erase(largest);
    }
  }

 private:
  void recount() {
    cached_ = 0;
    for (auto& [a, s] : free_) cached_ += s;
  }

  std::mutex mutex_;
  std::map<std::uintptr_t, std::size_t> free_;
  std::size_t cached_ = 0;
  const std::size_t limit_ = cache_limit();
};

BlockCache& cache() {
  static auto* c = new BlockCache();  // never destroyed: blocks may be freed during exit
  return *c;
}

// Backs [p, p + size) with memory now (MADV_POPULATE_WRITE, Linux >= 5.14; elsewhere the pages
// fault in on use). Blocks of 16 MiB and more are split into one run of whole 2 MiB pages per
// thread: on a virtual machine whose host backs guest memory lazily, zeroing pages that the host
// has not backed yet is bound by the faults each CPU takes, and 168 MB measured 224-370 ms on one
// thread against 157-197 ms on two (the same block, back to back in one process: ~10 ms).
void populate_block(void* p, std::size_t size) {
#ifdef MADV_POPULATE_WRITE
  const std::size_t grains = size / kGrain;
#ifdef _OPENMP
  const int nt = size >= kParallelPopulate && !omp_in_parallel()
                     ? static_cast<int>(std::min<std::size_t>(omp_get_max_threads(), grains))
                     : 1;
#else
  const int nt = 1;  // built without OpenMP (the fuzzers): one call
#endif
  auto* base = static_cast<char*>(p);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int t = 0; t < nt; ++t) {
    const std::size_t g0 = grains * t / nt, g1 = grains * (t + 1) / nt;
    const std::size_t end = t + 1 == nt ? size : g1 * kGrain;
    madvise(base + g0 * kGrain, end - g0 * kGrain, MADV_POPULATE_WRITE);
  }
#else
  (void)p;
  (void)size;
#endif
}

void* map_block(std::size_t size, bool populate) {
  // One grain more than needed, trimmed so the block starts on a 2 MiB boundary (huge pages
  // can only back aligned ranges).
  void* raw =
      mmap(nullptr, size + kGrain, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kGrain - 1) & ~(kGrain - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const std::uintptr_t tail = start + size + kGrain - (aligned + size);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
  void* p = reinterpret_cast<void*>(aligned);
  // Huge pages first (advisory: without THP the block still works), so that populating, or
  // the first writes, fault once per 2 MiB instead of once per 4 KiB page; on a virtual
  // machine each fault is an exit to the hypervisor, and 160 MB of 4 KiB faults measured
  // ~300 ms against ~6 ms in huge pages.
  static const bool huge = env_flag("STPIPE_HUGEPAGES", true);
  if (huge) madvise(p, size, MADV_HUGEPAGE);
  if (populate) populate_block(p, size);
  return p;
}

[[noreturn]] void out_of_memory(std::size_t bytes) {
  throw Error("cannot allocate " + std::to_string(bytes) + " bytes for an array");
}

}  // namespace

void* big_alloc(std::size_t bytes, bool zero) {
  if (bytes < kThreshold) {
    void* p = zero ? std::calloc(bytes == 0 ? 1 : bytes, 1) : std::malloc(bytes == 0 ? 1 : bytes);
    if (!p) out_of_memory(bytes);
    return p;
  }
  const std::size_t size = mapped_size(bytes);
  if (void* p = cache().take(size)) {
    if (zero) std::memset(p, 0, bytes);
    return p;
  }
  // Fresh anonymous pages are zero. A block the caller fills at once (zero == false: a file
  // read, a conversion) is populated in one go, cheaper than a fault per page.
  void* p = map_block(size, !zero);
  if (!p) out_of_memory(bytes);
  return p;
}

void big_free(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  if (bytes < kThreshold) {
    std::free(p);
    return;
  }
  try {
    cache().give(p, mapped_size(bytes));
  } catch (...) {
    munmap(p, mapped_size(bytes));
  }
}

}  // namespace stpipe::util
