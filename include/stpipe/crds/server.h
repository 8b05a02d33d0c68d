// The CRDS server protocol: JSON-RPC 1.0 calls to <server>/json/ and file downloads (libcurl).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace stpipe::crds {

/// Connection settings for a CRDS server.
struct ServerOptions {
  std::string url;              ///< e.g. "https://jwst-crds.stsci.edu" (no trailing /json/)
  double timeout_seconds = 60;  ///< whole-request limit (CRDS_CLIENT_TIMEOUT_SECONDS)
  double connect_timeout_seconds = 10;
  int retry_count = 1;             ///< attempts per request (CRDS_CLIENT_RETRY_COUNT)
  double retry_delay_seconds = 0;  ///< pause between attempts (CRDS_CLIENT_RETRY_DELAY_SECONDS)
};

/// True when `url` means "no server" (empty, or contains "serverless" as CRDS's default does).
bool is_serverless_url(const std::string& url);

/// A CRDS server. Every failure (server down, HTTP error, timeout, an answer that is not
/// JSON-RPC, a server-side error) throws ReferenceFileError naming the server and the call.
class Server {
 public:
  explicit Server(ServerOptions options);
  const std::string& url() const { return options_.url; }

  /// One JSON-RPC 1.0 call; returns "result" (crds_encoded payloads decoded).
  nlohmann::json call(const std::string& method, const nlohmann::json& params) const;

  /// get_default_context(observatory) -> e.g. "jwst_0541.pmap".
  std::string get_default_context(const std::string& observatory) const;
  /// get_server_info() -> the dict CRDS caches as config/<obs>/server_config.
  nlohmann::json get_server_info() const;
  /// get_mapping_names(context) -> every mapping of the context's closure.
  std::vector<std::string> get_mapping_names(const std::string& context) const;
  /// get_file_info(context, name) -> dict with at least "size" and "sha1sum".
  nlohmann::json get_file_info(const std::string& context, const std::string& name) const;
  /// get_best_references(context, header, reftypes) -> {reftype: name | "NOT FOUND ..."}.
  nlohmann::json get_best_references(const std::string& context, const nlohmann::json& header,
                                     const std::vector<std::string>& reftypes) const;

  /// GETs <server>/unchecked_get/<kind>/<obs>/<name> (kind "mappings" or "references") into
  /// `dest`, then checks its size and SHA-1 (either check skipped when empty / negative).
  /// Throws ReferenceFileError on any failure or mismatch (dest may then hold partial data:
  /// callers write to a temporary name).
  void download(const std::string& kind, const std::string& observatory, const std::string& name,
                const std::filesystem::path& dest, long long expected_size,
                const std::string& expected_sha1) const;

 private:
  std::string post(const std::string& url, const std::string& body, const std::string& what) const;
  ServerOptions options_;
};

/// SHA-1 (hex) of a file's bytes. Throws IoError if unreadable.
std::string file_sha1(const std::filesystem::path& path);

}  // namespace stpipe::crds
