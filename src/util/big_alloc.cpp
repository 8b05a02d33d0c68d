// Large zero-filled blocks on transparent huge pages (see util/big_alloc.h).
#include "stpipe/util/big_alloc.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "stpipe/util/error.h"

namespace stpipe::util {

namespace {
constexpr std::size_t kHuge = std::size_t{2} << 20;     // 2 MiB, the x86-64 huge page
constexpr std::size_t kThreshold = std::size_t{4} << 20;  // below this, calloc

std::size_t mapped_size(std::size_t bytes) { return (bytes + kHuge - 1) / kHuge * kHuge; }
}  // namespace

void* big_alloc(std::size_t bytes) {
  if (bytes < kThreshold) {
    void* p = std::calloc(bytes == 0 ? 1 : bytes, 1);
    if (!p) throw Error("cannot allocate " + std::to_string(bytes) + " bytes for an array");
    return p;
  }
  const std::size_t size = mapped_size(bytes);
  // Map one huge page more than needed, then trim both ends so the block starts on a 2 MiB
  // boundary (a huge page can only back an aligned range).
  void* raw = mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0);
  if (raw == MAP_FAILED)
    throw Error("cannot allocate " + std::to_string(bytes) + " bytes for an array");
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHuge - 1) & ~(kHuge - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const std::uintptr_t tail = start + size + kHuge - (aligned + size);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, size, MADV_HUGEPAGE);  // advisory: without THP the block still works
  return p;
}

void big_free(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  if (bytes < kThreshold) {
    std::free(p);
    return;
  }
  munmap(p, mapped_size(bytes));
}

}  // namespace stpipe::util
