// Helpers shared by the GoogleTest suites.
#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <random>
#include <stdexcept>

namespace stpipe::testing {

namespace fs = std::filesystem;

fs::path shared_dir() {
  fs::path p = STPIPE_SHARED_DIR;
  if (const char* env = std::getenv("STPIPE_SHARED_DIR")) p = env;
  if (fs::is_directory(p / "data")) return fs::canonical(p);
  return {};
}

fs::path shared_data(const std::string& rel) { return shared_dir() / "data" / rel; }
fs::path source_dir() { return STPIPE_SOURCE_DIR; }
fs::path binary_dir() { return STPIPE_BINARY_DIR; }

TempDir::TempDir() {
  std::random_device rd;
  fs::path base = fs::temp_directory_path();
  for (int i = 0; i < 100; ++i) {
    fs::path p = base / ("stpipe_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    if (fs::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::size_t NpyArray::size() const {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

static std::string read_maybe_gz(const fs::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path.string());
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  gzclose(f);
  if (n < 0) throw std::runtime_error("cannot decompress " + path.string());
  return out;
}

NpyArray read_npy(const fs::path& path) {
  std::string raw = read_maybe_gz(path);
  if (raw.size() < 10 || raw.compare(0, 6, "\x93NUMPY") != 0)
    throw std::runtime_error(path.string() + ": not a .npy file");
  unsigned major = static_cast<unsigned char>(raw[6]);
  std::size_t hlen, off;
  if (major == 1) {
    hlen = static_cast<unsigned char>(raw[8]) | (static_cast<unsigned char>(raw[9]) << 8);
    off = 10;
  } else {
    hlen = 0;
    for (int i = 0; i < 4; ++i)
      hlen |= std::size_t(static_cast<unsigned char>(raw[8 + i])) << (8 * i);
    off = 12;
  }
  std::string header = raw.substr(off, hlen);
  NpyArray a;
  auto field = [&](const std::string& key) {
    auto k = header.find("'" + key + "'");
    if (k == std::string::npos) throw std::runtime_error(path.string() + ": no " + key);
    return header.find(':', k) + 1;
  };
  std::size_t p = field("descr");
  auto q1 = header.find('\'', p);
  auto q2 = header.find('\'', q1 + 1);
  a.descr = header.substr(q1 + 1, q2 - q1 - 1);
  p = field("fortran_order");
  if (header.compare(header.find_first_not_of(' ', p), 4, "True") == 0)
    throw std::runtime_error(path.string() + ": Fortran order not supported");
  p = field("shape");
  auto l = header.find('(', p), r = header.find(')', l);
  std::string dims = header.substr(l + 1, r - l - 1);
  std::size_t pos = 0;
  while (pos < dims.size()) {
    auto c = dims.find(',', pos);
    std::string tok = dims.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
    if (tok.find_first_not_of(' ') != std::string::npos) a.shape.push_back(std::stoll(tok));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  const unsigned char* d = reinterpret_cast<const unsigned char*>(raw.data()) + off + hlen;
  a.bytes.assign(d, reinterpret_cast<const unsigned char*>(raw.data()) + raw.size());
  return a;
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace stpipe::testing
