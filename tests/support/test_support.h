// Helpers shared by the GoogleTest suites: shared-data paths, temporary directories, .npy(.gz)
// arrays.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace stpipe::testing {

/// Path of ../shared (from the build), or empty if it is absent.
std::filesystem::path shared_dir();

/// Path under ../shared/data; GTEST_SKIP()s the calling test (via the macro below) when absent.
std::filesystem::path shared_data(const std::string& rel);

/// Source and build directories of the project.
std::filesystem::path source_dir();
std::filesystem::path binary_dir();

/// A fresh, empty temporary directory removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// An array read from a NumPy .npy file (optionally gzip-compressed): raw little-endian bytes.
struct NpyArray {
  std::string descr;                 ///< numpy dtype string, e.g. "<f4", "|u1", "<u4"
  std::vector<std::int64_t> shape;   ///< C order
  std::vector<unsigned char> bytes;  ///< element data, C order
  std::size_t size() const;          ///< number of elements
  template <typename T>
  std::vector<T> as() const {
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
  }
};

/// Reads a .npy or .npy.gz file; throws std::runtime_error on malformed input.
NpyArray read_npy(const std::filesystem::path& path);

/// Runs a shell command, returning its exit status and combined stdout+stderr.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(const std::string& command);

}  // namespace stpipe::testing

/// Skips the current test with a clear message when ../shared/data is missing.
#define STPIPE_REQUIRE_SHARED_DATA()                                                     \
  do {                                                                                   \
    if (::stpipe::testing::shared_dir().empty())                                         \
      GTEST_SKIP() << "../shared/data is absent: skipping a test that reads real files"; \
  } while (0)
