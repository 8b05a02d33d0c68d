// Tests for the large-array allocator: alignment, population of unzeroed blocks (split across
// threads for blocks of 16 MiB and more), reuse of freed blocks and zeroing on request.
#include "stpipe/util/big_alloc.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "test_support.h"

using stpipe::util::big_alloc;
using stpipe::util::big_free;
using stpipe::util::kHugePageBytes;

namespace {

// Pages of [p, p + bytes) that are not resident.
std::size_t missing_pages(void* p, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((bytes + page - 1) / page);
  if (mincore(p, bytes, v.data()) != 0) return v.size();
  std::size_t n = 0;
  for (unsigned char c : v) n += !(c & 1);
  return n;
}

}  // namespace

// First in this binary, so the block cache is empty and the block is a fresh mapping: every
// page of it, the last partial 2 MiB run included, must be backed when big_alloc returns.
TEST(BigAlloc, UnzeroedBlocksArePopulatedOnEveryThread) {
  const std::size_t bytes = (std::size_t{37} << 20) + 4097;  // 38 MiB mapped
  auto* p = static_cast<unsigned char*>(big_alloc(bytes, false));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % kHugePageBytes, 0u);
  EXPECT_EQ(missing_pages(p, std::size_t{38} << 20), 0u);
  for (std::size_t i = 0; i < bytes; i += 4096) p[i] = static_cast<unsigned char>(i >> 12);
  for (std::size_t i = 0; i < bytes; i += 4096)
    ASSERT_EQ(p[i], static_cast<unsigned char>(i >> 12)) << i;
  big_free(p, bytes);
}

TEST(BigAlloc, ReusedBlocksAreZeroedWhenAskedTo) {
  const std::size_t bytes = std::size_t{8} << 20;
  auto* p = static_cast<unsigned char*>(big_alloc(bytes, false));
  std::memset(p, 0xab, bytes);
  big_free(p, bytes);
  // The freed block (or the one before it, merged) is resident and handed out again.
  auto* q = static_cast<unsigned char*>(big_alloc(bytes, true));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(q) % kHugePageBytes, 0u);
  EXPECT_EQ(missing_pages(q, bytes), 0u);
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < bytes; ++i) nonzero += q[i] != 0;
  EXPECT_EQ(nonzero, 0u);
  big_free(q, bytes);
}

TEST(BigAlloc, SmallBlocksAreZeroedToo) {
  auto* p = static_cast<unsigned char*>(big_alloc(1000, true));
  std::size_t nonzero = 0;
  for (int i = 0; i < 1000; ++i) nonzero += p[i] != 0;
  EXPECT_EQ(nonzero, 0u);
  big_free(p, 1000);
}
