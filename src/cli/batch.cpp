// strun batches: one strun process per exposure, N at a time (see cli/batch.h).
#include "cli/batch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"
#include "stpipe/version.h"

namespace stpipe::cli {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

std::string stem_of(const std::string& input) {
  std::string name = fs::path(input).filename().string();
  for (const char* ext : {".fits.gz", ".fits", ".fit", ".fts", ".asdf", ".json"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      return name.substr(0, name.size() - e.size());
  }
  return name;
}

enum class State { kQueued, kRunning, kDone, kFailed, kCrashed, kSkipped };

struct Job {
  std::string input;
  fs::path log, record;
  State state = State::kQueued;
  pid_t pid = -1;
  Clock::time_point start;
  double seconds = 0;
  int code = 0;
  int signal = 0;
  std::vector<std::string> outputs;
  std::string error;
};

// "Saved model in X" lines of a log: the products, in order (absolute).
std::vector<std::string> saved_files(const fs::path& log) {
  std::vector<std::string> out;
  std::ifstream in(log);
  std::string line;
  static const std::regex re(R"(Saved model in (.+)$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, re)) {
      std::error_code ec;
      fs::path p = fs::absolute(trim(m[1].str()), ec);
      const std::string s = (ec ? fs::path(trim(m[1].str())) : p).lexically_normal().string();
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  }
  return out;
}

// The message of strun's error box (the line after the second row of asterisks), or the last
// line of the log.
std::string error_of(const fs::path& log) {
  std::ifstream in(log);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  const std::string bar(70, '*');
  for (std::size_t i = 0; i + 3 < lines.size(); ++i) {
    if (lines[i] == bar && lines[i + 2] == bar) {
      std::string msg;
      for (std::size_t k = i + 3; k < lines.size() && lines[k] != bar; ++k)
        msg += (msg.empty() ? "" : " ") + trim(lines[k]);
      return msg;
    }
  }
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (!trim(*it).empty()) return trim(*it);
  return "";
}

// The step a running exposure is in: the last "Step NAME running" of its log.
std::string current_step(const fs::path& log) {
  std::ifstream in(log);
  std::string line, step;
  static const std::regex re(R"( - INFO - Step (\S+) running with args)");
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, re)) step = m[1].str();
  return step;
}

nlohmann::json file_stamp(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return nullptr;
  auto t = fs::last_write_time(path, ec);
  if (ec) return nullptr;
  return {
      {"path", path},
      {"size", size},
      {"mtime_ns",
       static_cast<long long>(
           std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count())}};
}

// The record of a completed exposure: what ran and the products it wrote, so a later
// --skip-existing run can tell a complete result made with the same parameters.
nlohmann::json make_record(const BatchRequest& r, const Job& j) {
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& o : j.outputs) {
    auto s = file_stamp(o);
    if (!s.is_null()) outs.push_back(s);
  }
  return {{"stpipe_batch_record", 1}, {"stpipe_version", kVersion},
          {"class", r.class_name},    {"input", fs::absolute(j.input).lexically_normal().string()},
          {"args", r.base_args},      {"status", "complete"},
          {"seconds", j.seconds},     {"outputs", outs}};
}

// True when the record says this exposure was completed with the same class and arguments and
// every product it wrote is still there, unchanged.
bool already_done(const BatchRequest& r, const Job& j, std::string* why) {
  std::error_code ec;
  if (!fs::exists(j.record, ec)) return false;
  nlohmann::json rec;
  try {
    rec = nlohmann::json::parse(read_text_file(j.record));
  } catch (const std::exception&) {
    *why = "unreadable record";
    return false;
  }
  if (rec.value("status", "") != "complete") return false;
  if (rec.value("class", "") != r.class_name ||
      rec.value("input", "") != fs::absolute(j.input).lexically_normal().string()) {
    *why = "other class or input";
    return false;
  }
  if (!rec.contains("args") || rec["args"] != nlohmann::json(r.base_args)) {
    *why = "parameters differ";
    return false;
  }
  if (!rec.contains("outputs") || !rec["outputs"].is_array() || rec["outputs"].empty()) {
    *why = "no products recorded";
    return false;
  }
  for (const auto& o : rec["outputs"]) {
    auto now = file_stamp(o.value("path", ""));
    if (now.is_null() || now != o) {
      *why = "product missing or changed: " + o.value("path", "");
      return false;
    }
  }
  return true;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

const char* state_name(const Job& j) {
  switch (j.state) {
    case State::kDone:
      return "ok";
    case State::kFailed:
      return "FAILED";
    case State::kCrashed:
      return "CRASHED";
    case State::kSkipped:
      return "skipped";
    case State::kRunning:
      return "running";
    default:
      return "queued";
  }
}

}  // namespace

int positive_count(const std::string& opt, const std::string& value) {
  try {
    std::size_t used = 0;
    const int n = std::stoi(value, &used);
    if (used == value.size() && n >= 1) return n;
  } catch (const std::exception&) {
  }
  throw ConfigError("argument " + opt + ": expected a positive integer, got '" + value + "'");
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const auto& a : raw) {
    if (a.size() < 2 || a[0] != '@') {
      out.push_back(a);
      continue;
    }
    const fs::path list = a.substr(1);
    std::ifstream in(list);
    if (!in) throw IoError("cannot read the input list '" + list.string() + "'");
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
      if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      line = trim(line);
      if (line.empty()) continue;
      fs::path p = line;
      if (p.is_relative()) p = list.parent_path() / p;
      out.push_back(p.lexically_normal().string());
      ++n;
    }
    if (n == 0) throw IoError("the input list '" + list.string() + "' names no file");
  }
  return out;
}

fs::path batch_log_path(const fs::path& dir, const std::string& input) {
  return dir / (stem_of(input) + ".log");
}

fs::path batch_record_path(const fs::path& dir, const std::string& input) {
  return dir / (stem_of(input) + ".batch.json");
}

int run_batch(const BatchRequest& r) {
  std::vector<Job> jobs;
  {
    std::map<std::string, std::string> stems;  // two inputs must not share a log
    for (const auto& in : r.inputs) {
      Job j;
      j.input = in;
      j.log = batch_log_path(r.output_dir, in);
      j.record = batch_record_path(r.output_dir, in);
      auto [it, fresh] = stems.emplace(j.log.string(), in);
      if (!fresh)
        throw ConfigError("inputs '" + it->second + "' and '" + in +
                          "' would write the same products and log " + j.log.string());
      jobs.push_back(std::move(j));
    }
  }
  std::error_code ec;
  fs::create_directories(r.output_dir, ec);
  const int width = static_cast<int>(r.jobs < 1 ? 1 : r.jobs);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::string omp;
  if (r.threads > 0)
    omp = std::to_string(r.threads);
  else if (const char* e = std::getenv("OMP_NUM_THREADS"); !e || !*e)
    omp = std::to_string(std::max(1u, cores / static_cast<unsigned>(width)));
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::cerr << "strun: " << jobs.size() << " exposure(s), " << width << " at a time"
            << (omp.empty() ? "" : ", " + omp + " thread(s) each") << "; logs in "
            << r.output_dir.string() << "\n";

  if (r.skip_existing) {
    for (auto& j : jobs) {
      std::string why;
      if (already_done(r, j, &why)) {
        j.state = State::kSkipped;
        auto rec = nlohmann::json::parse(read_text_file(j.record));
        for (const auto& o : rec["outputs"]) j.outputs.push_back(o.value("path", ""));
        std::cerr << "[skip] " << j.input << ": complete in " << j.record.filename().string()
                  << "\n";
      } else if (!why.empty()) {
        std::cerr << "[rerun] " << j.input << ": " << why << "\n";
      }
    }
  }

  auto start = [&](Job& j) {
    std::vector<std::string> argv = {r.strun};
    argv.insert(argv.end(), r.base_args.begin(), r.base_args.end());
    argv.push_back(j.input);
    argv.push_back("--log-stream=stderr");
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::error_code rm;
    fs::remove(j.record, rm);  // an interrupted rerun must not look complete
    const int fd = ::open(j.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw IoError("cannot write the log " + j.log.string() + ": " + strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fd);
      throw Error(std::string("cannot start a process: ") + strerror(errno));
    }
    if (pid == 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      if (!omp.empty()) ::setenv("OMP_NUM_THREADS", omp.c_str(), 1);
      ::execv(r.strun.c_str(), cargv.data());
      std::fprintf(stderr, "cannot run %s: %s\n", r.strun.c_str(), strerror(errno));
      ::_exit(127);
    }
    ::close(fd);
    j.pid = pid;
    j.state = State::kRunning;
    j.start = Clock::now();
    if (!tty) std::cerr << "[start] " << j.input << "\n";
  };

  auto finish = [&](Job& j, int status) {
    j.seconds = std::chrono::duration<double>(Clock::now() - j.start).count();
    if (WIFSIGNALED(status)) {
      j.state = State::kCrashed;
      j.signal = WTERMSIG(status);
      j.error = std::string("killed by signal ") + std::to_string(j.signal) + " (" +
                strsignal(j.signal) + ")";
    } else {
      j.code = WEXITSTATUS(status);
      j.state = j.code == 0 ? State::kDone : State::kFailed;
    }
    j.outputs = saved_files(j.log);
    if (j.state == State::kFailed) j.error = error_of(j.log);
    if (j.state == State::kDone) {
      try {
        write_text_atomically(j.record, make_record(r, j).dump(2) + "\n");
      } catch (const std::exception& e) {
        std::cerr << "strun: cannot write " << j.record.string() << ": " << e.what() << "\n";
      }
    }
  };

  std::size_t next = 0, running = 0, drawn = 0;
  std::map<pid_t, std::size_t> by_pid;
  auto redraw = [&](bool final) {
    if (!tty) return;
    for (std::size_t k = 0; k < drawn; ++k) std::cerr << "\x1b[1A\x1b[2K";
    drawn = 0;
    if (final) return;
    for (auto& [pid, idx] : by_pid) {
      const Job& j = jobs[idx];
      const double s = std::chrono::duration<double>(Clock::now() - j.start).count();
      std::string step = current_step(j.log);
      std::cerr << "  running  " << j.input << "  " << (step.empty() ? "starting" : step) << "  "
                << seconds_text(s) << "\n";
      ++drawn;
    }
  };
  // Ctrl-C stops the children too (they share the process group) and the batch reports them.
  while (true) {
    while (running < static_cast<std::size_t>(width) && next < jobs.size()) {
      Job& j = jobs[next++];
      if (j.state == State::kSkipped) continue;
      start(j);
      by_pid[j.pid] = static_cast<std::size_t>(&j - jobs.data());
      ++running;
    }
    if (running == 0) break;
    redraw(false);
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, tty ? WNOHANG : 0);
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = by_pid.find(pid);
    if (it == by_pid.end()) continue;
    Job& j = jobs[it->second];
    by_pid.erase(it);
    --running;
    finish(j, status);
    redraw(true);
    std::cerr << (j.state == State::kDone ? "[done] " : "[" + std::string(state_name(j)) + "] ")
              << j.input << " (" << seconds_text(j.seconds) << ")\n";
  }
  redraw(true);

  // The summary table.
  std::size_t wname = 8;
  for (const auto& j : jobs) wname = std::max(wname, j.input.size());
  std::ostringstream t;
  t << "\n" << std::left;
  t.width(static_cast<std::streamsize>(wname));
  t << "exposure"
    << "  status       time      output or error\n";
  int worst = 0, failed = 0;
  for (const auto& j : jobs) {
    t.width(static_cast<std::streamsize>(wname));
    t << j.input << "  ";
    std::string st = state_name(j);
    if (j.state == State::kFailed) st += " (" + std::to_string(j.code) + ")";
    t.width(11);
    t << st << "  ";
    t.width(8);
    t << (j.state == State::kSkipped ? "-" : seconds_text(j.seconds)) << "  ";
    if (j.state == State::kDone || j.state == State::kSkipped)
      t << (j.outputs.empty() ? "(no product written)" : j.outputs.back());
    else
      t << j.error << "  [log: " << j.log.string() << "]";
    t << "\n";
    if (j.state == State::kFailed || j.state == State::kCrashed) {
      ++failed;
      if (worst == 0) worst = j.state == State::kCrashed ? 1 : j.code;
    }
  }
  t << (failed ? std::to_string(failed) + " of " + std::to_string(jobs.size()) + " failed\n"
               : "all " + std::to_string(jobs.size()) + " succeeded\n");
  std::cerr << t.str();
  return worst;
}

}  // namespace stpipe::cli
