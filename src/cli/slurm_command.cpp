// `stpipe batch slurm|status`: a Slurm job array running strun on each exposure, and a summary
// of a batch folder.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/batch.h"
#include "core/hooks.h"
#include "stpipe/cli/commands.h"
#include "stpipe/core/step.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe::cli {

namespace fs = std::filesystem;

namespace {

const char* kBatchUsage =
    "usage: stpipe batch slurm PIPELINE INPUT|@LIST ... [--output-dir DIR] [--array-size N]\n"
    "                          [--partition P] [--time T] [--mem M] [--cpus-per-task C]\n"
    "                          [--sbatch-option OPT]... [--submit] [--PARAM=VALUE ...]\n"
    "       stpipe batch status DIR [--json]\n"
    "slurm writes DIR/job.sh (an sbatch job array, one task per exposure, at most N at once)\n"
    "and DIR/inputs.txt; --submit runs sbatch and records the job id. Each task runs\n"
    "`strun PIPELINE INPUT -j 1 --output_dir=...` (products, <stem>.log and <stem>.batch.json\n"
    "in --output_dir, default DIR), writes DIR/status/<task>.json and its Slurm output in\n"
    "DIR/logs/. status prints one line per exposure and exits 1 if any failed.\n";

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
  return buf;
}

// Runs a command (argv) and returns (exit status, stdout).
std::pair<int, std::string> capture(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + shell_quote(a);
  cmd += " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

bool on_path(const std::string& prog) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty() && ::access((fs::path(dir) / prog).c_str(), X_OK) == 0) return true;
  return false;
}

int slurm_command(const std::vector<std::string>& args) {
  std::vector<std::string> positional, params, sbatch_extra;
  fs::path dir = "stpipe_batch";
  std::string partition, time_limit, mem;
  int array_size = 0, cpus = 1;
  bool submit = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& name) -> std::string {
      if (auto eq = a.find('='); eq != std::string::npos) return a.substr(eq + 1);
      if (i + 1 >= args.size()) throw ConfigError("argument " + name + ": expected one argument");
      return args[++i];
    };
    auto is = [&](const char* name) {
      return a == name || a.rfind(std::string(name) + "=", 0) == 0;
    };
    if (a == "-h" || a == "--help") {
      std::cout << kBatchUsage;
      return 0;
    } else if (is("--output-dir")) {
      dir = value("--output-dir");
    } else if (is("--array-size")) {
      array_size = positive_count("--array-size", value("--array-size"));
    } else if (is("--partition")) {
      partition = value("--partition");
    } else if (is("--time")) {
      time_limit = value("--time");
    } else if (is("--mem")) {
      mem = value("--mem");
    } else if (is("--cpus-per-task")) {
      cpus = positive_count("--cpus-per-task", value("--cpus-per-task"));
    } else if (is("--sbatch-option")) {
      sbatch_extra.push_back(value("--sbatch-option"));
    } else if (a == "--submit") {
      submit = true;
    } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
      if (a.find('=') == std::string::npos)
        throw ConfigError("argument " + a + ": pipeline parameters are given as --NAME=VALUE");
      params.push_back(a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() < 2)
    throw ConfigError("stpipe batch slurm needs a pipeline and inputs\n" +
                      std::string(kBatchUsage));
  const std::string pipeline = positional[0];
  // The class must exist and the parameters must be its own: fail here, not in every task.
  {
    const StepRegistry& reg = StepRegistry::global();
    if (!reg.find(pipeline) && !fs::exists(pipeline))
      throw ConfigError("'" + pipeline +
                        "' is not a path to a config file or a registered step "
                        "class");
  }
  std::vector<std::string> inputs =
      expand_inputs(std::vector<std::string>(positional.begin() + 1, positional.end()));
  for (auto& in : inputs) {
    if (!fs::exists(in)) throw IoError("input '" + in + "' does not exist");
    in = fs::absolute(in).lexically_normal().string();
  }
  dir = fs::absolute(dir).lexically_normal();
  if (dir.string().find_first_of("\"\n") != std::string::npos)
    throw ConfigError("the batch folder '" + dir.string() +
                      "' has a double quote or newline, which #SBATCH lines cannot hold");
  fs::path out_dir = dir;
  for (const auto& p : params)
    if (p.rfind("--output_dir=", 0) == 0) out_dir = fs::absolute(p.substr(13));
  fs::create_directories(dir / "logs");
  fs::create_directories(dir / "status");
  fs::create_directories(out_dir);
  {
    std::string list;
    for (const auto& in : inputs) list += in + "\n";
    write_text_atomically(dir / "inputs.txt", list);
  }
  const fs::path strun = fs::read_symlink("/proc/self/exe").parent_path() / "strun";
  const std::string pipeline_arg =
      fs::exists(pipeline) ? fs::absolute(pipeline).string() : pipeline;
  const std::size_t n = inputs.size();
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# stpipe batch: " << pipeline << " on " << n << " exposure(s); made " << now_iso() << "\n"
    << "#SBATCH --job-name=" << shell_quote("stpipe-" + fs::path(pipeline).filename().string())
    << "\n"
    << "#SBATCH --array=0-" << (n - 1) << (array_size > 0 ? "%" + std::to_string(array_size) : "")
    << "\n"
    << "#SBATCH --output=\"" << (dir / "logs" / "task-%a.out").string() << "\"\n"
    << "#SBATCH --cpus-per-task=" << cpus << "\n";
  if (!partition.empty()) s << "#SBATCH --partition=" << partition << "\n";
  if (!time_limit.empty()) s << "#SBATCH --time=" << time_limit << "\n";
  if (!mem.empty()) s << "#SBATCH --mem=" << mem << "\n";
  for (const auto& o : sbatch_extra) s << "#SBATCH " << o << "\n";
  s << "set -u\n"
    << "DIR=" << shell_quote(dir.string()) << "\n"
    << "task=${SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}\n"
    << "input=$(sed -n \"$((task + 1))p\" \"$DIR/inputs.txt\")\n"
    << "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-" << cpus << "}\n"
    << "status() {  # state [exit code]: DIR/status/<task>.json, replaced atomically\n"
    << "  printf '{\"task\": %s, \"state\": \"%s\", \"exit_code\": %s, "
       "\"host\": \"%s\", \"job\": \"%s\", \"start\": %s, \"end\": %s}\\n' \"$task\" "
       "\"$1\" \"${2:-null}\" \"$(hostname)\" \"${SLURM_ARRAY_JOB_ID:-}\" \"$start\" "
       "\"${end:-null}\" > \"$DIR/status/$task.json.tmp\" && mv \"$DIR/status/$task.json.tmp\" "
       "\"$DIR/status/$task.json\"\n"
    << "}\n"
    << "start=$(date +%s.%3N)\n"
    << "status RUNNING\n"
    << shell_quote(strun.string()) << " " << shell_quote(pipeline_arg) << " \"$input\" -j 1 "
    << shell_quote("--output_dir=" + out_dir.string());
  for (const auto& p : params)
    if (p.rfind("--output_dir=", 0) != 0) s << " " << shell_quote(p);
  s << "\n"
    << "rc=$?\n"
    << "end=$(date +%s.%3N)\n"
    << "if [ $rc -eq 0 ]; then status COMPLETED 0; else status FAILED $rc; fi\n"
    << "exit $rc\n";
  const fs::path script = dir / "job.sh";
  write_text_atomically(script, s.str());
  fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);
  nlohmann::json meta = {
      {"pipeline", pipeline_arg},  {"inputs", n},      {"output_dir", out_dir.string()},
      {"script", script.string()}, {"params", params}, {"created", now_iso()}};
  std::cout << "wrote " << script.string() << " (" << n << " task(s)"
            << (array_size > 0 ? ", at most " + std::to_string(array_size) + " at once" : "")
            << ")\n";
  if (submit) {
    if (!on_path("sbatch")) throw Error("--submit: sbatch is not on PATH");
    auto [rc, out] = capture({"sbatch", "--parsable", script.string()});
    if (rc != 0) throw Error("sbatch failed (exit " + std::to_string(rc) + "): " + out);
    std::string id = out.substr(0, out.find_first_of(";\n"));
    meta["job_id"] = id;
    std::cout << "submitted job " << id << "; follow it with: stpipe batch status " << dir.string()
              << "\n";
  }
  write_text_atomically(dir / "batch.json", meta.dump(2) + "\n");
  return 0;
}

int status_command(const std::vector<std::string>& args) {
  fs::path dir;
  bool json = false;
  for (const auto& a : args) {
    if (a == "--json")
      json = true;
    else if (a == "-h" || a == "--help") {
      std::cout << kBatchUsage;
      return 0;
    } else if (dir.empty())
      dir = a;
    else
      throw ConfigError("unexpected argument '" + a + "'");
  }
  if (dir.empty()) throw ConfigError("stpipe batch status needs the batch folder");
  if (!fs::exists(dir / "inputs.txt"))
    throw IoError("'" + dir.string() + "' is not a batch folder (no inputs.txt)");
  std::vector<std::string> inputs;
  {
    std::ifstream in(dir / "inputs.txt");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) inputs.push_back(line);
  }
  nlohmann::json meta = nlohmann::json::object();
  if (fs::exists(dir / "batch.json"))
    meta = nlohmann::json::parse(read_text_file(dir / "batch.json"));
  const fs::path out_dir = meta.value("output_dir", dir.string());
  // Slurm's view of tasks not finished yet (PENDING/RUNNING), when the job is known.
  std::map<long, std::string> queue;
  const std::string job = meta.value("job_id", "");
  if (!job.empty() && on_path("squeue")) {
    auto [rc, out] = capture({"squeue", "-h", "-r", "-j", job, "-o", "%K %T"});
    if (rc == 0) {
      std::istringstream ss(out);
      std::string idx, state;
      while (ss >> idx >> state) {
        try {
          queue[std::stol(idx)] = state;
        } catch (const std::exception&) {
        }
      }
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  std::map<std::string, int> counts;
  for (std::size_t t = 0; t < inputs.size(); ++t) {
    nlohmann::json r = {{"task", t},          {"input", inputs[t]},
                        {"state", "PENDING"}, {"exit_code", nullptr},
                        {"seconds", nullptr}, {"log", batch_log_path(out_dir, inputs[t]).string()}};
    const fs::path st = dir / "status" / (std::to_string(t) + ".json");
    if (fs::exists(st)) {
      try {
        auto s = nlohmann::json::parse(read_text_file(st));
        r["state"] = s.value("state", "UNKNOWN");
        r["exit_code"] = s["exit_code"];
        r["host"] = s.value("host", "");
        if (s["end"].is_number() && s["start"].is_number())
          r["seconds"] = s["end"].get<double>() - s["start"].get<double>();
      } catch (const std::exception&) {
        r["state"] = "UNKNOWN";
      }
    }
    if (auto q = queue.find(static_cast<long>(t));
        q != queue.end() && r["state"] != "COMPLETED" && r["state"] != "FAILED")
      r["state"] = q->second;
    // A task Slurm no longer lists that never reported: it died before or while running.
    if (!job.empty() && !queue.empty() && r["state"] == "RUNNING" && !queue.count(long(t))) {
      r["state"] = "FAILED";
    }
    counts[r["state"].get<std::string>()]++;
    rows.push_back(r);
  }
  const bool failed = counts.count("FAILED") > 0 || counts.count("UNKNOWN") > 0;
  if (json) {
    std::cout << nlohmann::json({{"dir", fs::absolute(dir).string()},
                                 {"job_id", job},
                                 {"counts", counts},
                                 {"tasks", rows}})
                     .dump(2)
              << "\n";
    return failed ? 1 : 0;
  }
  std::size_t w = 8;
  for (const auto& in : inputs) w = std::max(w, fs::path(in).filename().string().size());
  std::cout << std::left;
  std::cout.width(static_cast<std::streamsize>(w));
  std::cout << "exposure"
            << "  state      exit  time      log\n";
  for (const auto& r : rows) {
    std::cout.width(static_cast<std::streamsize>(w));
    std::cout << fs::path(r["input"].get<std::string>()).filename().string() << "  ";
    std::cout.width(9);
    std::cout << r["state"].get<std::string>() << "  ";
    std::cout.width(4);
    std::cout << (r["exit_code"].is_null() ? "-" : r["exit_code"].dump()) << "  ";
    std::cout.width(8);
    char secs[32] = "-";
    if (!r["seconds"].is_null())
      std::snprintf(secs, sizeof secs, "%.1f s", r["seconds"].get<double>());
    std::cout << secs << "  " << r["log"].get<std::string>() << "\n";
  }
  std::cout << (job.empty() ? "" : "job " + job + ": ");
  bool first = true;
  for (const auto& [k, v] : counts) {
    std::cout << (first ? "" : ", ") << v << " " << k;
    first = false;
  }
  std::cout << "\n";
  return failed ? 1 : 0;
}

}  // namespace

int batch_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::cout << kBatchUsage;
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "slurm") return slurm_command(rest);
  if (args[0] == "status") return status_command(rest);
  throw ConfigError("unknown batch command '" + args[0] + "' (slurm, status)");
}

}  // namespace stpipe::cli
