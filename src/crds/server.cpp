// CRDS JSON-RPC client and checked downloads over libcurl, with timeouts and retries.
#include "stpipe/crds/server.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "stpipe/util/error.h"

namespace stpipe::crds {

namespace fs = std::filesystem;

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t write_string(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t write_file(char* data, size_t size, size_t n, void* user) {
  return std::fwrite(data, size, n, static_cast<std::FILE*>(user)) * size;
}

std::string short_text(const std::string& s) {
  std::string t = s.substr(0, 80);
  for (auto& c : t)
    if (c == '\n' || c == '\r') c = ' ';
  return t + (s.size() > 80 ? "..." : "");
}

std::string base64_decode(const std::string& in) {
  static const std::string kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    std::size_t p = kChars.find(c);
    if (p == std::string::npos) throw std::runtime_error("bad base64");
    val = (val << 6) + static_cast<int>(p);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw std::runtime_error("zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int ret;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret != Z_OK && ret != Z_STREAM_END) {
      inflateEnd(&zs);
      throw std::runtime_error("bad gzip data");
    }
    out.append(buf, sizeof buf - zs.avail_out);
  } while (ret != Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

bool is_serverless_url(const std::string& url) {
  return url.empty() || url.find("serverless") != std::string::npos;
}

std::string file_sha1(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("Cannot read '" + path.string() + "'");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    if (in.gcount() > 0) EVP_DigestUpdate(ctx, buf, static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned k = 0; k < len; ++k) out += kHex[md[k] >> 4], out += kHex[md[k] & 15];
  return out;
}

Server::Server(ServerOptions options) : options_(std::move(options)) {
  options_.url = trim_slash(options_.url);
  if (options_.retry_count < 1) options_.retry_count = 1;
}

std::string Server::post(const std::string& url, const std::string& body,
                         const std::string& what) const {
  global_init();
  std::string last_error;
  for (int attempt = 0; attempt < options_.retry_count; ++attempt) {
    if (attempt > 0 && options_.retry_delay_seconds > 0)
      std::this_thread::sleep_for(std::chrono::duration<double>(options_.retry_delay_seconds));
    CURL* curl = curl_easy_init();
    if (!curl) throw ReferenceFileError("Cannot initialise libcurl for " + what);
    std::string response;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_string);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_seconds * 1000));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout_seconds * 1000));
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
      last_error = curl_easy_strerror(rc);
      continue;
    }
    if (status >= 500) {
      last_error = "HTTP status " + std::to_string(status);
      continue;
    }
    if (status != 200)
      throw ReferenceFileError("CRDS server " + options_.url + " answered " + what +
                               " with HTTP status " + std::to_string(status));
    return response;
  }
  throw ReferenceFileError("CRDS server " + options_.url + " unreachable for " + what + " (" +
                           last_error + ", " + std::to_string(options_.retry_count) +
                           " attempt(s))");
}

nlohmann::json Server::call(const std::string& method, const nlohmann::json& params) const {
  if (is_serverless_url(options_.url))
    throw ReferenceFileError("No CRDS server configured (CRDS_SERVER_URL='" + options_.url +
                             "'): cannot call " + method);
  static std::atomic<unsigned> counter{0};
  char id[64];
  std::snprintf(id, sizeof id, "stpipe-cpp-%d-%08x", static_cast<int>(::getpid()), counter++);
  nlohmann::json req = {{"jsonrpc", "1.0"}, {"method", method}, {"params", params}, {"id", id}};
  std::string what = "JSON-RPC " + method;
  std::string text = post(options_.url + "/json/", req.dump(), what);
  nlohmann::json resp;
  try {
    resp = nlohmann::json::parse(text);
  } catch (const std::exception&) {
    throw ReferenceFileError("CRDS server " + options_.url + " answered " + what +
                             " with something that is not JSON: '" + short_text(text) + "'");
  }
  if (!resp.is_object() || (!resp.contains("result") && !resp.contains("error")))
    throw ReferenceFileError("CRDS server " + options_.url + " answered " + what +
                             " with something that is not JSON-RPC: '" + short_text(text) + "'");
  if (resp.contains("error") && !resp["error"].is_null()) {
    const auto& err = resp["error"];
    std::string msg = err.is_object() && err.contains("message") && err["message"].is_string()
                          ? err["message"].get<std::string>()
                          : err.dump();
    throw ReferenceFileError("CRDS server " + options_.url + " failed " + method + ": " + msg);
  }
  nlohmann::json result = resp.value("result", nlohmann::json());
  if (result.is_object() && result.contains("crds_encoded") && result.contains("crds_payload")) {
    try {
      result =
          nlohmann::json::parse(gunzip(base64_decode(result["crds_payload"].get<std::string>())));
    } catch (const std::exception& e) {
      throw ReferenceFileError("CRDS server " + options_.url + " sent a bad crds_encoded " +
                               method + " result: " + e.what());
    }
  }
  return result;
}

std::string Server::get_default_context(const std::string& observatory) const {
  nlohmann::json r = call("get_default_context", {observatory});
  if (!r.is_string() || r.get<std::string>().empty())
    throw ReferenceFileError("CRDS server " + options_.url + " answered get_default_context with " +
                             short_text(r.dump()));
  return r.get<std::string>();
}

nlohmann::json Server::get_server_info() const {
  nlohmann::json r = call("get_server_info", nlohmann::json::array());
  if (!r.is_object())
    throw ReferenceFileError("CRDS server " + options_.url + " answered get_server_info with " +
                             short_text(r.dump()));
  return r;
}

std::vector<std::string> Server::get_mapping_names(const std::string& context) const {
  nlohmann::json r = call("get_mapping_names", {context});
  if (!r.is_array())
    throw ReferenceFileError("CRDS server " + options_.url + " answered get_mapping_names with " +
                             short_text(r.dump()));
  std::vector<std::string> out;
  for (const auto& n : r)
    if (n.is_string()) out.push_back(n.get<std::string>());
  return out;
}

nlohmann::json Server::get_file_info(const std::string& context, const std::string& name) const {
  nlohmann::json r = call("get_file_info", {context, name});
  if (!r.is_object())
    throw ReferenceFileError("CRDS server " + options_.url + " answered get_file_info(" + name +
                             ") with " + short_text(r.dump()));
  return r;
}

nlohmann::json Server::get_best_references(const std::string& context, const nlohmann::json& header,
                                           const std::vector<std::string>& reftypes) const {
  nlohmann::json types = reftypes.empty() ? nlohmann::json() : nlohmann::json(reftypes);
  nlohmann::json r = call("get_best_references", {context, header, types});
  if (!r.is_object())
    throw ReferenceFileError("CRDS server " + options_.url + " answered get_best_references with " +
                             short_text(r.dump()));
  return r;
}

void Server::download(const std::string& kind, const std::string& observatory,
                      const std::string& name, const fs::path& dest, long long expected_size,
                      const std::string& expected_sha1) const {
  if (is_serverless_url(options_.url))
    throw ReferenceFileError("No CRDS server configured: cannot download '" + name + "'");
  global_init();
  std::string url = options_.url + "/unchecked_get/" + kind + "/" + observatory + "/" + name;
  std::string last_error;
  for (int attempt = 0; attempt < options_.retry_count; ++attempt) {
    if (attempt > 0 && options_.retry_delay_seconds > 0)
      std::this_thread::sleep_for(std::chrono::duration<double>(options_.retry_delay_seconds));
    std::FILE* f = std::fopen(dest.c_str(), "wb");
    if (!f) throw IoError("Cannot write '" + dest.string() + "'");
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_file);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_seconds * 1000));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout_seconds * 1000));
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    bool write_ok = std::fclose(f) == 0;
    if (rc != CURLE_OK || status >= 500 || !write_ok) {
      last_error = rc != CURLE_OK
                       ? curl_easy_strerror(rc)
                       : (!write_ok ? "write failed" : "HTTP status " + std::to_string(status));
      continue;
    }
    if (status != 200)
      throw ReferenceFileError("CRDS server " + options_.url + " could not send '" + name +
                               "': HTTP status " + std::to_string(status) + " for " + url);
    std::error_code ec;
    long long size = static_cast<long long>(fs::file_size(dest, ec));
    if (expected_size >= 0 && size != expected_size)
      throw ReferenceFileError("Download of '" + name + "' from " + options_.url + " has " +
                               std::to_string(size) + " bytes, expected " +
                               std::to_string(expected_size) + ": not cached");
    if (!expected_sha1.empty()) {
      std::string sha = file_sha1(dest);
      if (sha != expected_sha1)
        throw ReferenceFileError("Download of '" + name + "' from " + options_.url + " has SHA-1 " +
                                 sha + ", expected " + expected_sha1 + ": not cached");
    }
    return;
  }
  throw ReferenceFileError("Cannot download '" + name + "' from CRDS server " + options_.url +
                           " (" + last_error + ", " + std::to_string(options_.retry_count) +
                           " attempt(s))");
}

}  // namespace stpipe::crds
