// Hooks and the SystemCall step.
#include "core/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "stpipe/config/configobj.h"

extern char** environ;

namespace stpipe {

namespace fs = std::filesystem;

std::string SystemCall::spec() const {
  return R"(
command = string()  # The shell command; {0} is replaced by the input file name
env = string_list(default=list())  # VAR=value additions to the environment
log_stdout = boolean(default=True)  # Log the command's standard output
log_stderr = boolean(default=True)  # Log the command's standard error
exitcode_as_exception = boolean(default=True)  # A non-zero exit fails the step
)";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

ShellResult run_shell(const std::string& command) {
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) {
    throw StepError(std::string("Cannot run '") + command + "': " + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
  posix_spawn_file_actions_addclose(&fa, err_pipe[0]);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid;
  int rc = ::posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw StepError("Cannot run '" + command + "': " + std::strerror(rc));
  }
  ShellResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Datum SystemCall::process(const Datum& input) {
  std::vector<std::string> args;
  auto add = [&](const Datum& d, int i) {
    if (d.is_path()) {
      args.push_back(d.path());
    } else if (d.is_product() && d.product()) {
      std::string ext =
          is_none("output_ext") ? d.product()->default_extension() : get<std::string>("output_ext");
      if (!ext.empty() && ext[0] != '.') ext = "." + ext;
      char idx[16];
      std::snprintf(idx, sizeof idx, "%04d", i);
      fs::path path = qualified_name() + "." + idx + ext;
      for (const Step* s = this; s; s = s->parent()) {
        if (!s->is_none("output_dir")) {
          path = fs::path(s->get<std::string>("output_dir")) / path;
          break;
        }
      }
      d.product()->save(path);
      args.push_back(path.string());
    }
  };
  if (input.is_list()) {
    int i = 0;
    for (const auto& d : input.list()) add(d, i++);
  } else {
    add(input, 0);
  }
  std::string cmd = get<std::string>("command");
  // Python str.format of positional fields: {0}, {1}, ... and {} in order; {{ }} escape braces.
  std::string out;
  std::size_t auto_idx = 0;
  for (std::size_t i = 0; i < cmd.size(); ++i) {
    if (cmd[i] == '{' && i + 1 < cmd.size() && cmd[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (cmd[i] == '}' && i + 1 < cmd.size() && cmd[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (cmd[i] == '{') {
      auto close = cmd.find('}', i);
      std::string field = close == std::string::npos ? "x" : cmd.substr(i + 1, close - i - 1);
      std::size_t k;
      if (field.empty()) {
        k = auto_idx++;
      } else if (field.find_first_not_of("0123456789") == std::string::npos) {
        k = std::stoul(field);
      } else {
        out += cmd[i];
        continue;
      }
      if (k >= args.size()) {
        throw StepError("Hook command '" + cmd + "' refers to argument {" + field +
                        "}, but the step has " + std::to_string(args.size()) + " file argument(s)");
      }
      out += shell_quote(args[k]);
      i = close;
    } else {
      out += cmd[i];
    }
  }
  std::string full = out;
  for (const auto& e : param("env"))
    full = "export " + shell_quote(e.get<std::string>()) + "; " + full;
  log().info("Spawning '{}'", out);
  ShellResult r = run_shell(full);
  log().info("Done with errorcode {}", r.exit_code);
  if (get<bool>("log_stdout") && !r.out.empty()) log().info("STDOUT: {}", r.out);
  if (get<bool>("log_stderr") && !r.err.empty()) log().info("STDERR: {}", r.err);
  if (r.exit_code != 0 && get<bool>("exitcode_as_exception")) {
    throw StepError("'" + out + "' returned error code " + std::to_string(r.exit_code) +
                    (r.err.empty() ? "" : ": " + r.err));
  }
  return Datum();
}

namespace {

/// Splits `a=1, b='x, y'` at top-level commas.
std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  int depth = 0;
  for (char c : s) {
    if (quote) {
      cur += c;
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
      cur += c;
    } else if (c == '[' || c == '(') {
      ++depth;
      cur += c;
    } else if (c == ']' || c == ')') {
      --depth;
      cur += c;
    } else if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (cur.find_first_not_of(" \t") != std::string::npos) out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  auto b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

nlohmann::json literal(const std::string& text) {
  std::string v = trim(text);
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
    return v.substr(1, v.size() - 2);
  }
  if (v.size() >= 2 && (v.front() == '[' || v.front() == '(')) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& item : split_args(v.substr(1, v.size() - 2))) arr.push_back(literal(item));
    return arr;
  }
  if (v == "None") return nullptr;
  return v;
}

}  // namespace

namespace detail {

std::unique_ptr<Step> make_hook(Step& owner, const std::string& text, const std::string& name) {
  static const std::regex step_re(R"(^\s*([A-Za-z_][A-Za-z0-9_.:]*)\s*(\((.*)\))?\s*$)");
  const StepRegistry& reg = StepRegistry::global();
  std::smatch m;
  ConfigLayer inherit;
  inherit.source = ParamSource::kOverride;
  if (!owner.is_none("output_ext")) inherit.tree["output_ext"] = owner.param("output_ext");
  if (std::regex_match(text, m, step_re)) {
    const StepClassInfo* info = reg.find(m[1].str());
    if (info && m[1].str() != "SystemCall") {
      ConfigLayer l = inherit;
      if (m[2].matched) {
        for (const auto& kv : split_args(m[3].str())) {
          auto eq = kv.find('=');
          if (eq == std::string::npos) {
            throw ConfigError("Hook '" + text + "': arguments must be name=value");
          }
          l.tree[trim(kv.substr(0, eq))] = literal(kv.substr(eq + 1));
        }
      }
      auto step = reg.create(info->name);
      Step::configure(*step, {l}, name, reg);
      return step;
    }
    if (!info && m[1].str().find('.') != std::string::npos && !m[2].matched) {
      if (!current_hook_resolver()) ensure_python_bridge(StepRegistry::global());
      if (auto resolver = current_hook_resolver()) {
        if (auto step = resolver(m[1].str())) {
          Step::configure(*step, {}, name, reg);
          return step;
        }
      }
    }
  }
  auto sc = std::make_unique<SystemCall>();
  ConfigLayer l = inherit;
  l.tree["command"] = text;
  Step::configure(*sc, {l}, name, reg);
  return sc;
}

}  // namespace detail

}  // namespace stpipe
