// crds::Client: best references and reference paths through a local cache and, if configured,
// a CRDS server; the entry point steps use.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "stpipe/crds/cache.h"
#include "stpipe/crds/context.h"
#include "stpipe/crds/header.h"
#include "stpipe/crds/server.h"

namespace stpipe::crds {

/// How a Client finds its cache, server and context.
struct ClientOptions {
  std::filesystem::path crds_path;      ///< cache root (CRDS_PATH; default ~/crds_cache)
  std::string server_url;               ///< CRDS_SERVER_URL; empty or "...serverless..." = offline
  std::string observatory = "jwst";     ///< CRDS_OBSERVATORY
  std::string context;                  ///< CRDS_CONTEXT; empty = server default / cache config
  bool check_mapping_checksums = true;  ///< false with CRDS_IGNORE_MAPPING_CHECKSUM
  bool allow_bad_references = false;    ///< CRDS_ALLOW_BAD_REFERENCES
  bool allow_bad_rules = false;         ///< CRDS_ALLOW_BAD_RULES
  ServerOptions server;                 ///< timeouts and retries (url is taken from server_url)
  /// Extra FITS keyword -> data-model path translations (e.g. from the model layer's schemas).
  std::map<std::string, std::string> fits_keywords;

  /// Options from the CRDS_* environment variables (CRDS_PATH, CRDS_SERVER_URL, CRDS_CONTEXT,
  /// CRDS_OBSERVATORY, CRDS_IGNORE_MAPPING_CHECKSUM, CRDS_ALLOW_BAD_REFERENCES/_RULES,
  /// CRDS_CLIENT_TIMEOUT_SECONDS, CRDS_CLIENT_RETRY_COUNT, CRDS_CLIENT_RETRY_DELAY_SECONDS).
  static ClientOptions from_environment();
};

/// A CRDS client. Lookups run locally on mappings from the cache; missing mappings and
/// references are downloaded from the server when one is configured (checked by size and
/// SHA-1, written under a file lock to a temporary name and renamed), otherwise the client
/// works offline from the cache and names what is missing. Thread-safe.
class Client {
 public:
  explicit Client(ClientOptions options);

  const ClientOptions& options() const { return options_; }
  const Cache& cache() const { return cache_; }
  /// True when no server is configured.
  bool offline() const;

  /// The context lookups use: options.context, else the server's default context, else the
  /// cache's operational context (config/<obs>/server_config). Throws ReferenceFileError if
  /// none can be determined.
  std::string context_used();

  /// The loaded context `name` (default: context_used()), fetching missing mappings when online.
  /// `name` may be a .pmap, .imap or .rmap basename (looked up in the cache first), or a path
  /// to one (its closure is read from that directory, then the cache). Throws
  /// ReferenceFileError.
  std::shared_ptr<const Context> context(const std::string& name = "");

  /// Best references for a header (data-model paths or FITS keywords), computed locally.
  /// Empty `reftypes` = every type of the instrument. Types OMITted are absent; N/A and lookup
  /// failures are per-type results; a recommended file or an rmap on the bad-files list makes
  /// that type an error unless allowed. Throws ReferenceFileError if the whole lookup fails
  /// (context unavailable or itself marked bad, unknown instrument).
  std::map<std::string, BestRef> best_references(const Header& header,
                                                 const std::vector<std::string>& reftypes,
                                                 const std::string& context_name = "",
                                                 Explanation* explain = nullptr);

  /// The local path of a reference file, downloading it into the cache when needed.
  /// Throws ReferenceFileError when it is not cached and cannot be fetched (offline: the
  /// message names the file and the cache directory).
  std::filesystem::path get_reference_path(const std::string& name);

  /// As stpipe's crds_client.get_multiple_reference_paths: {type: local path or "N/A"};
  /// throws ReferenceFileError("Error determining best reference for '<type>'  =   <msg>").
  std::map<std::string, std::string> get_multiple_reference_paths(
      const Header& header, const std::vector<std::string>& reftypes);

  /// Makes every mapping of `context_name` (default context_used()) present in the cache and
  /// refreshes config/<obs>/server_config from the server. Returns how many files were
  /// downloaded. Throws ReferenceFileError when offline or the server fails.
  int sync_context(const std::string& context_name = "");

 private:
  std::string mapping_text(const std::string& name, const std::filesystem::path& extra_dir);
  void fetch_into_cache(const std::string& kind, const std::string& name,
                        const std::filesystem::path& target);

  ClientOptions options_;
  Cache cache_;
  Server server_;
  std::mutex mutex_;
  std::string context_used_;
  std::map<std::string, std::shared_ptr<const Context>> contexts_;
};

}  // namespace stpipe::crds
