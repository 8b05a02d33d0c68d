// The stpipe program: list, describe, config dump, info, convert, crds, --version.
#include <fnmatch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "stpipe/cli/commands.h"
#include "stpipe/cli/strun.h"
#include "stpipe/config/configspec.h"
#include "stpipe/core/step.h"
#include "stpipe/sim/simulate.h"
#include "stpipe/util/strings.h"
#include "stpipe/version.h"

namespace stpipe::cli {

namespace {

const char* kStpipeUsage =
    "usage: stpipe [--version] COMMAND ...\n"
    "commands:\n"
    "  list [--pipelines-only | --steps-only] [PATTERN]   registered steps and pipelines\n"
    "  describe CLASS                                     every parameter of a class\n"
    "  config dump FILE [--spec SPECFILE_OR_CLASS]        a ConfigObj file as JSON\n"
    "  info FILE [--json]                                 a data file's model, metadata, arrays\n"
    "  convert IN OUT                                     save a model file as .fits or .asdf\n"
    "  crds bestrefs|sync|fetch ...                       reference files (see README)\n"
    "  simulate --output-dir DIR [options]                a raw exposure, references, CRDS cache\n"
    "  batch slurm PIPELINE @LIST [options] | status DIR  Slurm job arrays of strun runs\n";

int list_command(const std::vector<std::string>& args) {
  bool pipelines_only = false, steps_only = false;
  std::string pattern;
  for (const auto& a : args) {
    if (a == "--pipelines-only") {
      pipelines_only = true;
    } else if (a == "--steps-only") {
      steps_only = true;
    } else {
      pattern = a;
    }
  }
  StepRegistry& reg = StepRegistry::global();
  load_plugins_from_env(reg);
  int shown = 0;
  for (const auto* info : reg.classes()) {
    if (pipelines_only && !info->is_pipeline) continue;
    if (steps_only && info->is_pipeline) continue;
    if (!pattern.empty()) {
      bool match = fnmatch(to_lower(pattern).c_str(), to_lower(info->name).c_str(), 0) == 0;
      for (const auto& a : info->aliases)
        match = match || fnmatch(to_lower(pattern).c_str(), to_lower(a).c_str(), 0) == 0;
      if (!match) continue;
    }
    std::cout << info->name;
    if (!info->aliases.empty()) {
      std::cout << " (";
      for (std::size_t i = 0; i < info->aliases.size(); ++i)
        std::cout << (i ? ", " : "") << info->aliases[i];
      std::cout << ")";
    }
    std::cout << (info->is_pipeline ? "  [pipeline]" : "")
              << (info->doc.empty() ? "" : "  " + info->doc) << "\n";
    ++shown;
  }
  if (!shown) std::cerr << "(no matching classes)\n";
  return 0;
}

int describe_command(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::cerr << "usage: stpipe describe CLASS\n";
    return 2;
  }
  StepRegistry& reg = StepRegistry::global();
  load_plugins_from_env(reg);
  CallOptions o;
  o.use_crds_pars = false;
  auto step = Step::build(reg.get(args[0]).name, Datum(), o, reg);
  std::cout << describe_parameters(*step);
  return 0;
}

int config_dispatch(const std::vector<std::string>& args) {
  // A --spec naming a registered class uses that class's merged spec.
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--spec" && !std::filesystem::exists(args[i + 1])) {
      StepRegistry& reg = StepRegistry::global();
      if (const auto* info = reg.find(args[i + 1])) {
        auto step = info->factory();
        std::string text = config::write_configspec(step->merged_spec());
        auto tmp = std::filesystem::temp_directory_path() /
                   ("stpipe_spec_" + std::to_string(::getpid()) + ".spec");
        { std::ofstream(tmp) << text; }
        auto a = args;
        a[i + 1] = tmp.string();
        int rc = config_command(a);
        std::filesystem::remove(tmp);
        return rc;
      }
    }
  }
  return config_command(args);
}

}  // namespace

int stpipe_main(const std::vector<std::string>& args) {
  try {
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
      std::cout << kStpipeUsage;
      return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version" || args[0] == "-v") {
      std::cout << "stpipe-cpp: " << kVersion << "\n";
      return 0;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    const std::string& cmd = args[0];
    if (cmd == "list") return list_command(rest);
    if (cmd == "describe") return describe_command(rest);
    if (cmd == "config") return config_dispatch(rest);
    if (cmd == "info") return info_command(rest);
    if (cmd == "convert") return convert_command(rest);
    if (cmd == "crds") return crds_command(rest);
    if (cmd == "simulate") return sim::simulate_command(rest);
    if (cmd == "batch") return batch_command(rest);
    std::cerr << "stpipe: unknown command '" << cmd << "'\n" << kStpipeUsage;
    return 2;
  } catch (...) {
    return report_error("ERROR:");
  }
}

}  // namespace stpipe::cli
