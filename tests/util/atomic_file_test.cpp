// Tests for atomic file replacement.
#include "stpipe/util/atomic_file.h"

#include <fstream>

#include "stpipe/util/error.h"
#include "test_support.h"

namespace fs = std::filesystem;
using stpipe::testing::TempDir;

TEST(AtomicFile, ReplacesContent) {
  TempDir d;
  stpipe::write_text_atomically(d / "a.txt", "one");
  stpipe::write_text_atomically(d / "a.txt", "two");
  EXPECT_EQ(stpipe::read_text_file(d / "a.txt"), "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator{}), 1);
}

TEST(AtomicFile, FailedWriterLeavesOldFile) {
  TempDir d;
  stpipe::write_text_atomically(d / "a.txt", "good");
  EXPECT_THROW(stpipe::write_atomically(d / "a.txt",
                                        [](const fs::path& tmp) {
                                          std::ofstream(tmp) << "half";
                                          throw stpipe::IoError("disk full");
                                        }),
               stpipe::IoError);
  EXPECT_EQ(stpipe::read_text_file(d / "a.txt"), "good");
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator{}), 1);
}

TEST(AtomicFile, MissingFileNamesIt) {
  try {
    stpipe::read_text_file("/nonexistent/x.cfg");
    FAIL();
  } catch (const stpipe::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.cfg"), std::string::npos);
    EXPECT_EQ(e.exit_code(), stpipe::ExitCode::kInputError);
  }
}
