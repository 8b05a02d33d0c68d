// CRDS cache layout, server_config reading, atomic installs and flock-based locking.
#include "stpipe/crds/cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe::crds {

namespace fs = std::filesystem;

namespace {
std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  std::size_t a = s.find_first_not_of(ws);
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}
}  // namespace

std::string instrument_of_reference(const std::string& name) {
  std::size_t a = name.find('_');
  if (a == std::string::npos) return "";
  std::size_t b = name.find('_', a + 1);
  if (b == std::string::npos) return "";
  std::string instr = name.substr(a + 1, b - a - 1);
  for (auto& c : instr) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return instr;
}

Cache::Cache(fs::path root, std::string observatory)
    : root_(std::move(root)), observatory_(std::move(observatory)) {}

fs::path Cache::mapping_dir() const { return root_ / "mappings" / observatory_; }
fs::path Cache::reference_root() const { return root_ / "references" / observatory_; }
fs::path Cache::config_dir() const { return root_ / "config" / observatory_; }

std::string Cache::ref_subdir_mode() const {
  std::error_code ec;
  fs::path f = config_dir() / "ref_cache_subdir_mode";
  if (fs::exists(f, ec)) {
    std::string mode = strip(read_text_file(f));
    if (mode == "flat" || mode == "instrument") return mode;
  }
  std::size_t files = 0;
  if (fs::is_directory(reference_root(), ec))
    for (const auto& e : fs::directory_iterator(reference_root(), ec))
      if (e.is_regular_file(ec)) ++files;
  return files > 20 ? "flat" : "instrument";
}

fs::path Cache::mapping_path(const std::string& name) const { return mapping_dir() / name; }

fs::path Cache::reference_path(const std::string& name) const {
  if (ref_subdir_mode() == "flat") return reference_root() / name;
  std::string instr = instrument_of_reference(name);
  return instr.empty() ? reference_root() / name : reference_root() / instr / name;
}

std::optional<fs::path> Cache::find_reference(const std::string& name) const {
  std::error_code ec;
  fs::path a = reference_root() / name;
  if (fs::is_regular_file(a, ec)) return a;
  std::string instr = instrument_of_reference(name);
  if (!instr.empty()) {
    fs::path b = reference_root() / instr / name;
    if (fs::is_regular_file(b, ec)) return b;
  }
  return std::nullopt;
}

std::optional<PyValue> Cache::server_config() const {
  fs::path f = config_dir() / "server_config";
  std::error_code ec;
  if (!fs::exists(f, ec)) return std::nullopt;
  PyValue v = parse_python_literal(read_text_file(f), f.string());
  if (v.kind != PyValue::Kind::kDict)
    throw ReferenceFileError("CRDS server_config '" + f.string() + "' is not a dict");
  return v;
}

std::string Cache::operational_context() const {
  auto cfg = server_config();
  if (!cfg) return "";
  for (const char* key : {"operational_context", "latest_context"})
    if (const PyValue* v = cfg->get(key); v && v->is_string() && !v->s.empty()) return v->s;
  return "";
}

std::vector<std::string> Cache::bad_files() const {
  std::vector<std::string> out;
  if (auto cfg = server_config())
    if (const PyValue* v = cfg->get("bad_files_list"); v && v->is_tuple())
      for (const auto& item : v->items) out.push_back(item.str());
  fs::path f = config_dir() / "bad_files.txt";
  std::error_code ec;
  if (out.empty() && fs::exists(f, ec)) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line))
      if (!strip(line).empty()) out.push_back(strip(line));
  }
  return out;
}

void Cache::save_server_config(const std::string& json_text) const {
  fs::create_directories(config_dir());
  write_text_atomically(config_dir() / "server_config", json_text);
}

void Cache::install(const fs::path& target, const std::function<void(const fs::path&)>& writer) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    throw IoError("Cannot create CRDS cache directory '" + target.parent_path().string() +
                  "': " + ec.message());
  write_atomically(target, writer);
}

FileLock::FileLock(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0)
    throw IoError("Cannot open CRDS cache lock '" + path.string() + "': " + std::strerror(errno));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int err = errno;
      ::close(fd_);
      fd_ = -1;
      throw IoError("Cannot lock '" + path.string() + "': " + std::strerror(err));
    }
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace stpipe::crds
