// Atomic file replacement and whole-file reads.
#include "stpipe/util/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "stpipe/util/error.h"

namespace stpipe {

namespace fs = std::filesystem;

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& writer) {
  static std::atomic<unsigned> counter{0};
  fs::path dir = target.parent_path();
  if (!dir.empty() && !fs::exists(dir)) {
    throw IoError("Cannot write '" + target.string() + "': directory '" + dir.string() +
                  "' does not exist");
  }
  fs::path tmp = dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) +
                        "." + std::to_string(counter++));
  try {
    writer(tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw IoError("Cannot write '" + target.string() + "': " + ec.message());
  }
}

void write_text_atomically(const fs::path& target, const std::string& text) {
  write_atomically(target, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out)
      throw IoError("Cannot open '" + tmp.string() + "' for writing: " + std::strerror(errno));
    out << text;
    out.flush();
    if (!out) throw IoError("Cannot write '" + tmp.string() + "': " + std::strerror(errno));
  });
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("Cannot read '" + path.string() + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace stpipe
