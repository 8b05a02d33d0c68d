// crds::Client: context resolution, mapping and reference fetching into the cache, lookups.
#include "stpipe/crds/client.h"

#include <cstdlib>
#include <fstream>
#include <set>

#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe::crds {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_true(const char* name) {
  std::string v = env(name);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "1" || v == "true" || v == "yes" || v == "t";
}

double env_number(const char* name, double dflt) {
  std::string v = env(name);
  if (v.empty()) return dflt;
  try {
    return std::stod(v);
  } catch (const std::exception&) {
    throw ConfigError(std::string("Environment variable ") + name + "='" + v + "' is not a number");
  }
}

bool is_mapping_name(const std::string& n) {
  auto ends = [&](const char* e) {
    std::string s(e);
    return n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".pmap") || ends(".imap") || ends(".rmap");
}

}  // namespace

ClientOptions ClientOptions::from_environment() {
  ClientOptions o;
  std::string path = env("CRDS_PATH");
  if (path.empty()) {
    std::string home = env("HOME");
    path = (home.empty() ? std::string("/tmp") : home) + "/crds_cache";
  }
  o.crds_path = path;
  o.server_url = env("CRDS_SERVER_URL");
  std::string obs = env("CRDS_OBSERVATORY");
  if (!obs.empty()) {
    for (auto& c : obs) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    o.observatory = obs;
  }
  o.context = env("CRDS_CONTEXT");
  o.check_mapping_checksums = !env_true("CRDS_IGNORE_MAPPING_CHECKSUM");
  o.allow_bad_references = env_true("CRDS_ALLOW_BAD_REFERENCES");
  o.allow_bad_rules = env_true("CRDS_ALLOW_BAD_RULES");
  o.server.timeout_seconds = env_number("CRDS_CLIENT_TIMEOUT_SECONDS", o.server.timeout_seconds);
  o.server.retry_count =
      static_cast<int>(env_number("CRDS_CLIENT_RETRY_COUNT", o.server.retry_count));
  o.server.retry_delay_seconds =
      env_number("CRDS_CLIENT_RETRY_DELAY_SECONDS", o.server.retry_delay_seconds);
  return o;
}

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      cache_(options_.crds_path, options_.observatory),
      server_([this] {
        ServerOptions s = options_.server;
        s.url = options_.server_url;
        return s;
      }()) {}

bool Client::offline() const { return is_serverless_url(options_.server_url); }

std::string Client::context_used() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!context_used_.empty()) return context_used_;
  std::string ctx = options_.context;
  std::string symbolic_state;
  if (!ctx.empty() && !is_mapping_name(ctx)) {
    // Symbolic names: jwst-operational, jwst-latest, jwst-edit.
    std::string prefix = options_.observatory + "-";
    if (ctx.rfind(prefix, 0) == 0) {
      symbolic_state = ctx.substr(prefix.size());
      ctx.clear();
    } else {
      throw ReferenceFileError("CRDS context '" + ctx + "' is not a .pmap/.imap/.rmap name nor '" +
                               prefix + "operational|latest|edit'");
    }
  }
  std::string server_problem;
  if (ctx.empty() && !offline()) {
    try {
      ctx = server_.get_default_context(options_.observatory);
      // Refresh the cached server configuration so later offline runs know the context.
      try {
        cache_.save_server_config(server_.get_server_info().dump(1));
      } catch (const Error&) {
        // read-only cache or an old server: keep what is cached
      }
    } catch (const ReferenceFileError& e) {
      server_problem = e.what();
    }
  }
  if (ctx.empty()) {
    auto cfg = cache_.server_config();
    if (cfg && symbolic_state == "edit")
      if (const PyValue* v = cfg->get("edit_context"); v && v->is_string()) ctx = v->s;
    if (ctx.empty()) ctx = cache_.operational_context();
  }
  if (ctx.empty())
    throw ReferenceFileError(
        "Cannot determine the CRDS context: " +
        (server_problem.empty() ? std::string("CRDS is offline (CRDS_SERVER_URL unset)")
                                : server_problem) +
        ", CRDS_CONTEXT is unset and '" + (cache_.config_dir() / "server_config").string() +
        "' names no operational context");
  context_used_ = ctx;
  return ctx;
}

void Client::fetch_into_cache(const std::string& kind, const std::string& name,
                              const fs::path& target) {
  if (offline())
    throw ReferenceFileError("CRDS " + std::string(kind == "mappings" ? "mapping" : "reference") +
                             " '" + name + "' is not in the cache (" +
                             target.parent_path().string() +
                             ") and CRDS is offline (no CRDS_SERVER_URL)");
  std::unique_ptr<FileLock> lock;
  try {
    lock = std::make_unique<FileLock>(cache_.root() / ".crds_cache.lock");
  } catch (const IoError& e) {
    throw ReferenceFileError("Cannot download '" + name + "' into the CRDS cache " +
                             cache_.root().string() + " (not writable?): " + e.what());
  }
  std::error_code ec;
  if (fs::exists(target, ec)) return;  // another process fetched it meanwhile
  if (kind == "references")
    if (auto found = cache_.find_reference(name)) return;
  std::string ctx_for_info;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    ctx_for_info = context_used_.empty() ? options_.context : context_used_;
  }
  if (ctx_for_info.empty() || !is_mapping_name(ctx_for_info)) ctx_for_info = options_.observatory;
  nlohmann::json info = server_.get_file_info(ctx_for_info, name);
  long long size = -1;
  std::string sha1;
  if (info.contains("size")) {
    const auto& s = info["size"];
    if (s.is_number_integer())
      size = s.get<long long>();
    else if (s.is_string())
      size = std::stoll(s.get<std::string>());
  }
  if (info.contains("sha1sum") && info["sha1sum"].is_string()) sha1 = info["sha1sum"];
  if (size < 0 || sha1.empty())
    throw ReferenceFileError("CRDS server " + server_.url() + " gave no size/sha1sum for '" + name +
                             "': cannot verify a download");
  Cache::install(target, [&](const fs::path& tmp) {
    server_.download(kind, options_.observatory, name, tmp, size, sha1);
  });
}

std::string Client::mapping_text(const std::string& name, const fs::path& extra_dir) {
  std::error_code ec;
  if (!extra_dir.empty() && fs::exists(extra_dir / name, ec))
    return read_text_file(extra_dir / name);
  fs::path p = cache_.mapping_path(name);
  if (!fs::exists(p, ec)) fetch_into_cache("mappings", name, p);
  return read_text_file(p);
}

std::shared_ptr<const Context> Client::context(const std::string& name_in) {
  std::string name = name_in.empty() ? context_used() : name_in;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = contexts_.find(name);
    if (it != contexts_.end()) return it->second;
  }
  fs::path extra_dir;
  std::string base = name;
  std::error_code ec;
  // A path (with '/'), or a bare name found in the working directory but not in the cache.
  if (name.find('/') != std::string::npos ||
      (!fs::exists(cache_.mapping_path(name), ec) && fs::is_regular_file(name, ec))) {
    fs::path p(name);
    if (!fs::exists(p, ec))
      throw ReferenceFileError("CRDS mapping file '" + name + "' does not exist");
    extra_dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    base = p.filename().string();
  }
  auto ctx = std::make_shared<const Context>(Context::load(
      base, [&](const std::string& n) { return mapping_text(n, extra_dir); },
      options_.check_mapping_checksums));
  std::lock_guard<std::mutex> lock(mutex_);
  contexts_[name] = ctx;
  return ctx;
}

std::map<std::string, BestRef> Client::best_references(const Header& header,
                                                       const std::vector<std::string>& reftypes,
                                                       const std::string& context_name,
                                                       Explanation* explain) {
  auto ctx = context(context_name);
  std::vector<std::string> bad = cache_.bad_files();
  std::set<std::string> bad_set(bad.begin(), bad.end());
  if (bad_set.count(ctx->name()) && !options_.allow_bad_rules)
    throw ReferenceFileError("CRDS context " + python_repr(ctx->name()) +
                             " is marked as scientifically invalid (CRDS_ALLOW_BAD_RULES "
                             "to use it anyway)");
  auto refs = ctx->best_references(header, reftypes, explain, &options_.fits_keywords);
  if (!bad_set.empty() && !options_.allow_bad_rules) {
    for (auto& [type, b] : refs) {
      if (!b.rmap.empty() && bad_set.count(b.rmap)) {
        b.kind = BestRef::Kind::kError;
        b.message = "Rules " + python_repr(b.rmap) + " for type " + python_repr(type) +
                    " are marked as scientifically invalid.";
        if (explain) explain->lines[type].push_back("  " + b.message);
      }
    }
  }
  if (!bad_set.empty() && !options_.allow_bad_references) {
    for (auto& [type, b] : refs) {
      if (!b.ok()) continue;
      for (const auto& f : b.files) {
        if (bad_set.count(f)) {
          b.kind = BestRef::Kind::kError;
          b.message = "Recommended reference " + python_repr(f) + " of type " + python_repr(type) +
                      " is designated scientifically invalid.";
          if (explain) explain->lines[type].push_back("  " + b.message);
          break;
        }
      }
    }
  }
  return refs;
}

fs::path Client::get_reference_path(const std::string& name) {
  if (auto found = cache_.find_reference(name)) return *found;
  fs::path target = cache_.reference_path(name);
  fetch_into_cache("references", name, target);
  if (auto found = cache_.find_reference(name)) return *found;
  return target;
}

std::map<std::string, std::string> Client::get_multiple_reference_paths(
    const Header& header, const std::vector<std::string>& reftypes) {
  std::map<std::string, std::string> out;
  if (reftypes.empty()) return out;
  for (const auto& [type, b] : best_references(header, reftypes)) {
    if (b.kind == BestRef::Kind::kNotApplicable) {
      out[type] = "N/A";
    } else if (b.kind == BestRef::Kind::kFile) {
      out[type] = get_reference_path(b.filename()).string();
    } else if (b.kind == BestRef::Kind::kError) {
      throw ReferenceFileError("Error determining best reference for " + python_repr(type) +
                               "  =   " + b.message);
    } else {
      throw ReferenceFileError("Best reference for " + python_repr(type) +
                               " is not a single file: " + b.crds_string());
    }
  }
  return out;
}

int Client::sync_context(const std::string& context_name) {
  if (offline())
    throw ReferenceFileError("Cannot sync CRDS mappings: CRDS is offline (no CRDS_SERVER_URL)");
  std::string ctx = context_name.empty() ? context_used() : context_name;
  nlohmann::json info = server_.get_server_info();
  try {
    cache_.save_server_config(info.dump(1));
  } catch (const Error&) {
    // a read-only cache keeps its old configuration
  }
  int fetched = 0;
  std::error_code ec;
  for (const auto& name : server_.get_mapping_names(ctx)) {
    fs::path p = cache_.mapping_path(name);
    if (fs::exists(p, ec)) continue;
    fetch_into_cache("mappings", name, p);
    ++fetched;
  }
  context(ctx);  // verify the closure loads (checksums)
  return fetched;
}

}  // namespace stpipe::crds
