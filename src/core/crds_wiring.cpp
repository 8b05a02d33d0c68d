// Reference files and parameter reference files from the CRDS client, for steps.
#include "stpipe/core/crds_wiring.h"

#include <cstdlib>
#include <mutex>

#include "core/step_config_io.h"
#include "stpipe/core/step.h"
#include "stpipe/crds/client.h"
#include "stpipe/log/logging.h"
#include "stpipe/models/datamodel.h"
#include "stpipe/util/strings.h"
#include "stpipe/version.h"

namespace stpipe {

namespace fs = std::filesystem;

namespace {

std::mutex& client_mutex() {
  static std::mutex m;
  return m;
}

std::shared_ptr<crds::Client>& client_slot() {
  static std::shared_ptr<crds::Client> c;
  return c;
}

crds::Client& client() {
  std::lock_guard lock(client_mutex());
  auto& c = client_slot();
  if (!c) c = std::make_shared<crds::Client>(crds::ClientOptions::from_environment());
  return *c;
}

/// True when a cache or a server is configured (otherwise pars lookups are not attempted).
bool crds_available() {
  const char* server = std::getenv("CRDS_SERVER_URL");
  if (server && *server) return true;
  const char* path = std::getenv("CRDS_PATH");
  std::error_code ec;
  if (path && *path) return fs::is_directory(path, ec);
  const char* home = std::getenv("HOME");
  return home && fs::is_directory(fs::path(home) / "crds_cache", ec);
}

std::map<std::string, ReferenceChoice> resolve(const std::vector<std::string>& reftypes,
                                               Product& product) {
  auto header = product.crds_parameters();
  if (header.empty()) {
    throw ReferenceFileError("Cannot look up reference files for a " + product.type_name() +
                             ": it has no metadata to match on");
  }
  crds::Client& c = client();
  std::vector<std::string> types;
  for (const auto& t : reftypes) types.push_back(to_lower(t));
  auto best = c.best_references(header, types);
  std::map<std::string, ReferenceChoice> out;
  for (const auto& t : reftypes) {
    auto it = best.find(to_lower(t));
    if (it == best.end() || it->second.kind == crds::BestRef::Kind::kOmit ||
        it->second.kind == crds::BestRef::Kind::kNotApplicable) {
      out[t] = {"N/A", "N/A"};
      continue;
    }
    const auto& b = it->second;
    if (b.kind != crds::BestRef::Kind::kFile) {
      throw ReferenceFileError("Error determining best reference for '" + t +
                               "'  =   " + (b.ok() ? "several files selected" : b.message));
    }
    fs::path path = c.get_reference_path(b.filename());
    out[t] = {path.string(), "crds://" + b.filename()};
  }
  product.record_crds(c.context_used(), kVersion);
  return out;
}

std::optional<std::pair<config::Tree, std::string>> pars_for(const std::string& class_name,
                                                             const Datum& input) {
  auto lg = log::get("stpipe.step");
  std::string reftype = "pars-" + to_lower(class_name);
  if (!crds_available()) return std::nullopt;
  try {
    std::map<std::string, std::string> header;
    if (input.is_product()) {
      header = input.product()->crds_parameters();
    } else if (input.is_path() && std::filesystem::path(input.path()).extension() == ".json") {
      header = open_product(input.path())->crds_parameters();
    } else if (input.is_path()) {
      // The lookup needs the metadata only: do not read the arrays (a ramp is 100s of MB).
      models::OpenOptions header_only;
      header_only.arrays.emplace();
      header = models::open(input.path(), header_only)->crds_parameters();
    } else {
      return std::nullopt;
    }
    if (header.empty()) return std::nullopt;
    lg->debug("Retrieving step {} parameters from CRDS", reftype);
    auto best = client().best_references(header, {reftype});
    auto it = best.find(reftype);
    if (it == best.end() || it->second.kind != crds::BestRef::Kind::kFile) {
      lg->debug("{}: No parameters found", reftype);
      return std::nullopt;
    }
    fs::path path = client().get_reference_path(it->second.filename());
    lg->info("{} parameters found: {}", reftype, path.string());
    config::Tree t = load_step_config_yaml(path);
    t.erase("class");
    t.erase("name");
    return std::make_pair(t, path.string());
  } catch (const std::exception& e) {
    lg->debug("{}: No parameters found ({})", reftype, e.what());
    return std::nullopt;
  }
}

}  // namespace

void install_crds() {
  {
    // A new client, configured from the environment as it is now, on first use.
    std::lock_guard lock(client_mutex());
    client_slot().reset();
  }
  set_reference_resolver(resolve);
  set_pars_provider(pars_for);
}

}  // namespace stpipe
