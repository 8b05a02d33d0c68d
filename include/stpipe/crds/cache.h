// The on-disk CRDS cache (CRDS_PATH layout), its server_config, and the inter-process lock.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "stpipe/crds/mapping.h"

namespace stpipe::crds {

/// A CRDS cache rooted at CRDS_PATH:
///   mappings/<obs>/NAME, references/<obs>/<instrument>/NAME (or references/<obs>/NAME when
///   config/<obs>/ref_cache_subdir_mode says "flat"), config/<obs>/server_config.
/// Files enter the cache only complete and verified (written to a temporary name, renamed).
class Cache {
 public:
  /// A cache at `root` for `observatory` (lower case, e.g. "jwst").
  Cache(std::filesystem::path root, std::string observatory);

  const std::filesystem::path& root() const { return root_; }
  const std::string& observatory() const { return observatory_; }
  std::filesystem::path mapping_dir() const;
  std::filesystem::path reference_root() const;
  std::filesystem::path config_dir() const;

  /// "instrument" or "flat": config/<obs>/ref_cache_subdir_mode, else "flat" when more than 20
  /// files already sit in references/<obs>/, else "instrument".
  std::string ref_subdir_mode() const;
  /// Where a mapping lives (whether or not it exists).
  std::filesystem::path mapping_path(const std::string& name) const;
  /// Where a reference is stored under the current subdir mode (whether or not it exists).
  std::filesystem::path reference_path(const std::string& name) const;
  /// The cached copy of a reference in either layout, if present.
  std::optional<std::filesystem::path> find_reference(const std::string& name) const;

  /// config/<obs>/server_config parsed (a Python or JSON dict), or nullopt if absent.
  /// Throws ReferenceFileError if present but unreadable.
  std::optional<PyValue> server_config() const;
  /// The operational (else latest) context named by server_config, or "" if unknown.
  std::string operational_context() const;
  /// Files the server marked scientifically invalid (server_config or bad_files.txt).
  std::vector<std::string> bad_files() const;
  /// Writes config/<obs>/server_config (as JSON) atomically. Throws IoError.
  void save_server_config(const std::string& json_text) const;

  /// Installs a file: `writer(tmp)` fills a temporary file beside `target`, which is then
  /// renamed over it. Creates directories as needed. Throws what `writer` throws, or IoError.
  static void install(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& writer);

 private:
  std::filesystem::path root_;
  std::string observatory_;
};

/// The instrument part of a reference name ("jwst_nircam_dark_0040.fits" -> "nircam").
std::string instrument_of_reference(const std::string& name);

/// An exclusive advisory lock (flock) on a file, held for the object's lifetime. Blocks until
/// it is granted. Throws IoError if the lock file cannot be created.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace stpipe::crds
