// std::vector on the arrays' own allocator (util::big_alloc: 2 MiB-aligned anonymous mappings),
// so the kernel benchmarks run on memory laid out as the data models lay out theirs. A
// malloc'ed vector starts 16 bytes past a page boundary, and that alone makes the streaming
// kernels measurably slower than they are inside the pipeline.
#pragma once

#include <cstddef>
#include <vector>

#include "stpipe/util/big_alloc.h"

namespace stpipe::bench {

template <class T>
struct BigAllocator {
  using value_type = T;
  BigAllocator() = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(util::big_alloc(n * sizeof(T), false)); }
  void deallocate(T* p, std::size_t n) noexcept { util::big_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const BigAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using big_vector = std::vector<T, BigAllocator<T>>;

}  // namespace stpipe::bench
