// `stpipe crds bestrefs|sync|fetch`: command-line access to the CRDS client.
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "stpipe/cli/commands.h"
#include "stpipe/crds/client.h"
#include "stpipe/crds/command.h"
#include "stpipe/util/error.h"

namespace stpipe {

namespace crds {

namespace {

const char* kUsage =
    "usage: stpipe crds bestrefs (FILE.json | --header HEADER.json) [--context CONTEXT]\n"
    "                            [--types t1,t2] [--explain] [--no-checksum]\n"
    "       stpipe crds sync [--context CONTEXT]\n"
    "       stpipe crds fetch REFERENCE_NAME...\n"
    "Environment: CRDS_PATH (cache), CRDS_SERVER_URL (unset = offline), CRDS_CONTEXT,\n"
    "CRDS_OBSERVATORY. --explain writes its account to stderr.\n";

std::vector<std::string> split_types(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

nlohmann::json cli_json(const BestRef& b) {
  switch (b.kind) {
    case BestRef::Kind::kFile:
      return b.files[0];
    case BestRef::Kind::kFiles:
      return b.files;
    case BestRef::Kind::kFileMap: {
      nlohmann::json o = nlohmann::json::object();
      for (std::size_t k = 0; k < b.files.size(); ++k) o[b.keys[k]] = b.files[k];
      return o;
    }
    case BestRef::Kind::kNotApplicable:
      return "N/A";
    default:
      return "NOT FOUND " + b.message;
  }
}

int bestrefs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string header_file, context, types;
  bool explain = false, no_checksum = false;
  for (std::size_t k = 0; k < args.size(); ++k) {
    const std::string& a = args[k];
    auto value = [&](const std::string& opt) -> std::string {
      if (k + 1 >= args.size())
        throw ConfigError("stpipe crds bestrefs: " + opt + " needs a value");
      return args[++k];
    };
    if (a == "--header") {
      header_file = value(a);
    } else if (a == "--context") {
      context = value(a);
    } else if (a == "--types") {
      types = value(a);
    } else if (a.rfind("--types=", 0) == 0) {
      types = a.substr(8);
    } else if (a.rfind("--context=", 0) == 0) {
      context = a.substr(10);
    } else if (a == "--explain") {
      explain = true;
    } else if (a == "--no-checksum") {
      no_checksum = true;
    } else if (a == "-h" || a == "--help") {
      out << kUsage;
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      throw ConfigError("stpipe crds bestrefs: unknown option '" + a + "'\n" + kUsage);
    } else if (header_file.empty()) {
      header_file = a;
    } else {
      throw ConfigError("stpipe crds bestrefs: more than one input file ('" + header_file + "', '" +
                        a + "')");
    }
  }
  if (header_file.empty())
    throw ConfigError(std::string("stpipe crds bestrefs: no header given\n") + kUsage);
  if (!ends_with(header_file, ".json"))
    throw ConfigError("stpipe crds bestrefs: '" + header_file +
                      "' is not a .json header; headers of FITS/ASDF datasets are read through "
                      "the model layer (run the step with strun), here give a JSON header");
  Header header = load_json_header(header_file);
  ClientOptions opts = ClientOptions::from_environment();
  if (no_checksum) opts.check_mapping_checksums = false;
  Client client(opts);
  Explanation ex;
  auto refs = client.best_references(header, split_types(types), context, explain ? &ex : nullptr);
  nlohmann::json result = nlohmann::json::object();
  bool failed = false;
  for (const auto& [type, b] : refs) {
    result[type] = cli_json(b);
    failed |= b.kind == BestRef::Kind::kError;
  }
  out << result.dump(2) << "\n";
  if (explain) {
    err << "context: " << client.context(context)->name() << "\n";
    for (const auto& [type, lines] : ex.lines) {
      err << type << ":\n";
      for (const auto& l : lines) err << "  " << l << "\n";
      auto it = refs.find(type);
      err << "  => " << (it == refs.end() ? std::string("omitted") : cli_json(it->second).dump())
          << "\n";
    }
  }
  return failed ? static_cast<int>(ExitCode::kReferenceError) : 0;
}

int sync(const std::vector<std::string>& args, std::ostream& out) {
  std::string context;
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (args[k] == "--context" && k + 1 < args.size()) {
      context = args[++k];
    } else {
      throw ConfigError("stpipe crds sync: unexpected argument '" + args[k] + "'");
    }
  }
  Client client(ClientOptions::from_environment());
  int n = client.sync_context(context);
  out << "synced " << (context.empty() ? client.context_used() : context) << ": " << n
      << " mapping(s) downloaded into " << client.cache().mapping_dir().string() << "\n";
  return 0;
}

int fetch(const std::vector<std::string>& args, std::ostream& out) {
  if (args.empty()) throw ConfigError("stpipe crds fetch: give reference file names");
  Client client(ClientOptions::from_environment());
  for (const auto& name : args) out << client.get_reference_path(name).string() << "\n";
  return 0;
}

}  // namespace

int run_crds_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
      (args.empty() ? err : out) << kUsage;
      return args.empty() ? static_cast<int>(ExitCode::kConfigError) : 0;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "bestrefs") return bestrefs(rest, out, err);
    if (args[0] == "sync") return sync(rest, out);
    if (args[0] == "fetch") return fetch(rest, out);
    err << "stpipe crds: unknown subcommand '" << args[0] << "'\n" << kUsage;
    return static_cast<int>(ExitCode::kConfigError);
  } catch (const Error& e) {
    err << "stpipe crds: " << e.what() << "\n";
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    err << "stpipe crds: " << e.what() << "\n";
    return static_cast<int>(ExitCode::kStepFailure);
  }
}

}  // namespace crds

int cli::crds_command(const std::vector<std::string>& args) {
  return crds::run_crds_command(args, std::cout, std::cerr);
}

}  // namespace stpipe
