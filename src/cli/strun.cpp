// strun's command line: class or config resolution, spec-derived options, logging, exit codes.
#include "stpipe/cli/strun.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "cli/batch.h"
#include "stpipe/config/configobj.h"
#include "stpipe/core/step.h"
#include "stpipe/log/logging.h"
#include "stpipe/util/error.h"
#include "stpipe/version.h"

namespace stpipe::cli {

namespace fs = std::filesystem;

namespace {

const char* kUsage =
    "usage: strun [-h] [--version] [-v] [--debug] [--log-level L] [--log-file F]\n"
    "             [--log-stream {stdout,stderr,null}] [--logcfg F] [--save-parameters F]\n"
    "             [--start-step S] [--end-step S] [--resume STATE] [--plugin LIB]\n"
    "             [--disable-crds-steppars] [-j N] [--skip-existing] [--threads-per-job T]\n"
    "             cfg_file_or_class [args ...] [--PARAM=VALUE ...] [--steps.NAME.PARAM=VALUE "
    "...]\n"
    "args may be files or @lists; several, @lists, -j N or --skip-existing run a batch: one\n"
    "strun process per exposure, N at a time, a log per exposure beside its products.\n";

struct Options {
  bool help = false, version = false, verbose = false, debug = false, disable_pars = false;
  std::string log_level, log_file, log_stream, logcfg, save_parameters, start_step, end_step,
      resume;
  std::vector<std::string> plugins;
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> params;  // dotted name -> raw value
  std::vector<std::string> raw_params;                      // as typed, for messages
  // Batches: -j N, --skip-existing, --threads-per-job T; `forward` holds the arguments each
  // exposure's strun gets (all but the inputs, the batch options and the log destination).
  int jobs = 0;
  bool skip_existing = false;
  int threads_per_job = 0;
  std::vector<std::string> forward;
};

class UsageError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

Options parse_args(const std::vector<std::string>& args) {
  static const std::set<std::string> kValued = {
      "--log-level", "--log-file", "--log-stream", "--logcfg", "--save-parameters", "--start-step",
      "--end-step",  "--resume",   "--plugin",     "--jobs",   "--threads-per-job"};
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const std::size_t first = i;  // tokens args[first..i] make this argument
    bool keep = true;             // forwarded to each exposure of a batch
    if (a == "-j" || (a.size() > 2 && a.rfind("-j", 0) == 0 && a[2] != '-')) {
      std::string v = a.size() > 2 ? a.substr(2) : "";
      if (v.empty()) {
        if (i + 1 >= args.size()) throw UsageError("argument -j: expected one argument");
        v = args[++i];
      }
      o.jobs = positive_count("-j", v);
      keep = false;
    } else if (a == "--skip-existing") {
      o.skip_existing = true;
      keep = false;
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "-v" || a == "--verbose") {
      o.verbose = true;
    } else if (a == "--debug") {
      o.debug = true;
    } else if (a == "--disable-crds-steppars") {
      o.disable_pars = true;
    } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string key = a.substr(2), value;
      bool has_value = false;
      if (auto eq = key.find('='); eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
        has_value = true;
      }
      std::string opt = "--" + key;
      if (kValued.count(opt)) {
        if (!has_value) {
          if (i + 1 >= args.size()) throw UsageError("argument " + opt + ": expected one argument");
          value = args[++i];
        }
        if (opt == "--log-level") o.log_level = value;
        if (opt == "--log-file") o.log_file = value;
        if (opt == "--log-stream") o.log_stream = value;
        if (opt == "--logcfg") o.logcfg = value;
        if (opt == "--save-parameters") o.save_parameters = value;
        if (opt == "--start-step") o.start_step = value;
        if (opt == "--end-step") o.end_step = value;
        if (opt == "--resume") o.resume = value;
        if (opt == "--plugin") o.plugins.push_back(value);
        if (opt == "--jobs") o.jobs = positive_count(opt, value);
        if (opt == "--threads-per-job") o.threads_per_job = positive_count(opt, value);
        if (opt != "--jobs" && opt != "--threads-per-job" && opt != "--log-file" &&
            opt != "--log-stream")
          for (std::size_t k = first; k <= i; ++k) o.forward.push_back(args[k]);
        continue;
      }
      if (!has_value) {
        if (i + 1 >= args.size() || (args[i + 1].rfind("--", 0) == 0 && args[i + 1].size() > 2)) {
          throw UsageError("argument --" + key + ": expected one argument");
        }
        value = args[++i];
      }
      o.params.emplace_back(key, value);
      o.raw_params.push_back("--" + key + "=" + value);
    } else {
      o.positional.push_back(a);
      keep = o.positional.size() == 1;  // the class or config, not the inputs
    }
    if (keep)
      for (std::size_t k = first; k <= i; ++k) o.forward.push_back(args[k]);
  }
  return o;
}

/// --a.b.c=v -> {"a": {"b": {"c": parsed v}}}; each value parsed as ConfigObj parses values.
config::Tree overrides_tree(const Options& o) {
  config::Tree t = config::Tree::object();
  for (const auto& [key, value] : o.params) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
      auto dot = key.find('.', start);
      parts.push_back(
          key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    config::Tree* node = &t;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      if (!node->contains(parts[i]) || !(*node)[parts[i]].is_object()) {
        (*node)[parts[i]] = config::Tree::object();
      }
      node = &(*node)[parts[i]];
    }
    (*node)[parts.back()] = config::parse_configobj_value(value);
  }
  return t;
}

/// Reports the first option naming no parameter of the spec, as argparse does.
void check_known(const config::SpecSection& spec, const Options& o) {
  std::vector<std::string> bad;
  for (std::size_t i = 0; i < o.params.size(); ++i) {
    const std::string& key = o.params[i].first;
    const config::SpecSection* s = &spec;
    std::size_t start = 0;
    bool ok = true;
    while (true) {
      auto dot = key.find('.', start);
      std::string part =
          key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      const auto* e = s->find(part);
      if (!e) {
        ok = false;
        break;
      }
      if (dot == std::string::npos) {
        ok = static_cast<bool>(e->check);
        break;
      }
      if (!e->section) {
        ok = false;
        break;
      }
      s = &*e->section;
      start = dot + 1;
    }
    if (!ok) bad.push_back(o.raw_params[i]);
  }
  if (!bad.empty()) {
    std::string msg = "unrecognized arguments:";
    for (const auto& b : bad) msg += " " + b;
    throw UsageError(msg);
  }
}

void setup_logging(const Options& o) {
  log::LogConfig cfg;
  bool explicit_opts =
      o.verbose || !o.log_level.empty() || !o.log_file.empty() || !o.log_stream.empty();
  if (!o.logcfg.empty() && !explicit_opts) cfg = log::read_log_config(o.logcfg);
  if (!o.log_level.empty()) cfg.level = log::parse_level(o.log_level);
  if (o.verbose) cfg.level = spdlog::level::debug;
  if (!o.log_stream.empty()) {
    if (o.log_stream != "stdout" && o.log_stream != "stderr" && o.log_stream != "null") {
      throw UsageError("argument --log-stream: invalid choice: '" + o.log_stream +
                       "' (choose from 'stdout', 'stderr', 'null')");
    }
    cfg.handlers = {o.log_stream};
  }
  if (!o.log_file.empty()) cfg.handlers.push_back("file:" + o.log_file);
  log::configure(cfg);
}

std::string platform() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + "-" + u.release + "-" + u.machine;
}

bool env_disables_pars() {
  const char* v = std::getenv("STPIPE_DISABLE_CRDS_STEPPARS");
  if (!v) return false;
  std::string s = v;
  return s == "true" || s == "True" || s == "t" || s == "yes" || s == "y";
}

}  // namespace

int report_error(const std::string& box_title) {
  auto box = [&](const std::string& msg) {
    std::string bar(70, '*');
    std::cerr << bar << "\n" << box_title << "\n" << bar << "\n" << msg << "\n" << bar << "\n";
  };
  try {
    throw;
  } catch (const UsageError& e) {
    std::cerr << kUsage << "strun: error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::kConfigError);
  } catch (const Error& e) {
    box(e.what());
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    box(e.what());
    return static_cast<int>(ExitCode::kStepFailure);
  }
}

int strun_main(const std::vector<std::string>& args) {
  Options o;
  std::string title = "ERROR PARSING CONFIGURATION:";
  try {
    o = parse_args(args);
    if (o.version) {
      std::cout << "stpipe-cpp: " << kVersion << "\n";
      return 0;
    }
    StepRegistry& registry = StepRegistry::global();
    load_plugins_from_env(registry);
    for (const auto& p : o.plugins) load_plugin(registry, p);
    setup_logging(o);

    CallOptions call;
    call.overrides = overrides_tree(o);
    call.from_command_line = true;
    call.use_crds_pars = !(o.disable_pars || env_disables_pars());
    call.start_step = o.start_step;
    call.end_step = o.end_step;

    auto top = log::get("stpipe");
    if (!o.resume.empty()) {
      top->info("stpipe-cpp {} on {}", kVersion, platform());
      title = "ERROR RUNNING STEP (resume):";
      resume_pipeline(o.resume, call, registry);
      log::flush();
      return 0;
    }
    if (o.positional.empty()) {
      if (o.help) {
        std::cout << kUsage;
        return 0;
      }
      throw UsageError("the following arguments are required: cfg_file_or_class");
    }
    std::string target = o.positional.front();
    std::vector<std::string> inputs(o.positional.begin() + 1, o.positional.end());
    std::string class_name;
    if (fs::exists(target) && !fs::is_directory(target)) {
      config::Tree t = load_config_file(target);
      if (!t.contains("class") || !t["class"].is_string()) {
        throw ConfigError("Config file '" + target +
                          "' does not name its step class ('class = ...')");
      }
      class_name = registry.get(t["class"].get<std::string>()).name;
      call.config_file = target;
    } else {
      if (!registry.find(target) &&
          (target.find('/') != std::string::npos || target.find(".cfg") != std::string::npos ||
           target.find(".asdf") != std::string::npos)) {
        throw ConfigError("'" + target +
                          "' is not a path to a config file or a registered step class");
      }
      class_name = registry.get(target).name;
    }
    auto proto = registry.create(class_name);
    check_known(proto->merged_spec(), o);
    if (o.help) {
      CallOptions plain = call;
      plain.use_crds_pars = false;
      auto step = Step::build(class_name, Datum(), plain, registry);
      std::cout << kUsage << "\n" << describe_parameters(*step);
      return 0;
    }
    const bool batch = o.jobs > 0 || o.skip_existing || inputs.size() > 1 ||
                       std::any_of(inputs.begin(), inputs.end(),
                                   [](const std::string& s) { return s.rfind('@', 0) == 0; });
    if (batch) {
      BatchRequest br;
      br.strun = fs::read_symlink("/proc/self/exe").string();
      br.base_args = o.forward;
      br.inputs = expand_inputs(inputs);
      br.class_name = class_name;
      br.jobs = std::max(1, o.jobs);
      br.skip_existing = o.skip_existing;
      br.threads = o.threads_per_job;
      br.output_dir = fs::current_path();
      for (const auto& [k, v] : o.params)
        if (k == "output_dir") br.output_dir = fs::absolute(v);
      title = "ERROR RUNNING BATCH:";
      int rc = run_batch(br);
      log::flush();
      return rc;
    }
    top->info("stpipe-cpp {} on {}", kVersion, platform());
    if (inputs.empty()) inputs.push_back("");
    int worst = 0;
    for (const auto& in : inputs) {
      Datum input = in.empty() ? Datum() : Datum(in);
      if (in.empty()) top->info("No input file specified, unable to retrieve parameters from CRDS");
      call.save_results = !in.empty();
      title = "ERROR PARSING CONFIGURATION:";
      auto step = Step::build(class_name, input, call, registry);
      if (!o.save_parameters.empty()) step->save_parameters(o.save_parameters);
      title = "ERROR RUNNING STEP '" + class_name + "':";
      try {
        step->run(input);
      } catch (...) {
        if (inputs.size() == 1) throw;
        worst = report_error(title);
      }
    }
    log::flush();
    return worst;
  } catch (...) {
    log::flush();
    return report_error(title);
  }
}

}  // namespace stpipe::cli
