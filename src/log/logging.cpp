// Logging on top of spdlog: stpipe's record format, handlers and the logger registry.
#include "stpipe/log/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>

#include "stpipe/config/configobj.h"
#include "stpipe/util/error.h"
#include "stpipe/util/strings.h"

namespace stpipe::log {

namespace {

/// %* in a spdlog pattern: Python's level name.
class LevelNameFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char* n = level_name(msg.level);
    dest.append(n, n + std::strlen(n));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return spdlog::details::make_unique<LevelNameFlag>();
  }
};

/// Forwards records to the binding's callback.
class CallbackSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit CallbackSink(RecordCallback cb) : cb_(std::move(cb)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    cb_(std::string(msg.logger_name.data(), msg.logger_name.size()), msg.level,
        std::string(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  RecordCallback cb_;
};

/// Python logging format -> spdlog pattern.
std::string to_pattern(const std::string& fmt) {
  std::string out;
  for (std::size_t i = 0; i < fmt.size();) {
    auto take = [&](const char* py, const char* sp) {
      std::size_t n = std::strlen(py);
      if (fmt.compare(i, n, py) == 0) {
        out += sp;
        i += n;
        return true;
      }
      return false;
    };
    if (take("%(asctime)s", "%Y-%m-%d %H:%M:%S,%e") || take("%(name)s", "%n") ||
        take("%(levelname)s", "%*") || take("%(message)s", "%v") || take("%(process)d", "%P") ||
        take("%(thread)d", "%t")) {
      continue;
    }
    if (fmt[i] == '%') {
      out += "%%";
    } else {
      out += fmt[i];
    }
    ++i;
  }
  return out;
}

struct State {
  std::mutex mutex;
  LogConfig config;
  std::vector<spdlog::sink_ptr> sinks;
  std::map<std::string, std::shared_ptr<spdlog::logger>> loggers;
  RecordCallback callback;
  bool exclusive = false;

  State() { rebuild(); }

  void rebuild() {
    sinks.clear();
    if (!(callback && exclusive)) {
      for (const auto& h : config.handlers) {
        if (h == "stderr") {
          sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
        } else if (h == "stdout") {
          sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
        } else if (h == "null") {
          sinks.push_back(std::make_shared<spdlog::sinks::null_sink_mt>());
        } else if (h.rfind("file:", 0) == 0) {
          sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(h.substr(5), true));
        } else if (h.rfind("append:", 0) == 0) {
          sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(h.substr(7), false));
        } else {
          throw ConfigError("Unknown log handler '" + h +
                            "' (expected stderr, stdout, null, file:PATH or append:PATH)");
        }
      }
    }
    std::string pattern = to_pattern(config.format);
    for (auto& s : sinks) {
      auto f = std::make_unique<spdlog::pattern_formatter>();
      f->add_flag<LevelNameFlag>('*').set_pattern(pattern);
      s->set_formatter(std::move(f));
    }
    if (callback) sinks.push_back(std::make_shared<CallbackSink>(callback));
    for (auto& [name, lg] : loggers) apply(*lg);
  }

  void apply(spdlog::logger& lg) {
    lg.sinks() = sinks;
    lg.set_level(config.level);
    lg.flush_on(spdlog::level::warn);
  }
};

State& state() {
  static State s;
  return s;
}

}  // namespace

const char* level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "DEBUG";
    case spdlog::level::info:
      return "INFO";
    case spdlog::level::warn:
      return "WARNING";
    case spdlog::level::err:
      return "ERROR";
    case spdlog::level::critical:
      return "CRITICAL";
    default:
      return "NOTSET";
  }
}

spdlog::level::level_enum parse_level(const std::string& text) {
  std::string u = to_upper(text);
  if (u == "DEBUG" || u == "10") return spdlog::level::debug;
  if (u == "INFO" || u == "20") return spdlog::level::info;
  if (u == "WARNING" || u == "WARN" || u == "30") return spdlog::level::warn;
  if (u == "ERROR" || u == "40") return spdlog::level::err;
  if (u == "CRITICAL" || u == "50") return spdlog::level::critical;
  if (u == "NOTSET" || u == "0") return spdlog::level::trace;
  throw ConfigError("Unknown log level '" + text +
                    "' (expected DEBUG, INFO, WARNING, ERROR or CRITICAL)");
}

LogConfig read_log_config(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw IoError("Logging config '" + path.string() + "' not found");
  }
  config::ParseOptions opts;
  opts.source = path.string();
  auto tree = config::read_configobj_file(path, opts);
  LogConfig cfg;
  for (auto it = tree.begin(); it != tree.end(); ++it) {
    if (!it->is_object()) continue;
    const std::string& sec = it.key();
    if (sec != "*" && sec != "" && sec != "." && sec != "root") continue;
    const auto& s = *it;
    if (s.contains("level") && s["level"].is_string()) cfg.level = parse_level(s["level"]);
    if (s.contains("format") && s["format"].is_string()) cfg.format = s["format"];
    if (s.contains("handler")) {
      cfg.handlers.clear();
      if (s["handler"].is_array()) {
        for (const auto& h : s["handler"]) cfg.handlers.push_back(h.get<std::string>());
      } else {
        cfg.handlers.push_back(s["handler"].get<std::string>());
      }
    }
  }
  return cfg;
}

void configure(const LogConfig& config) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  LogConfig old = s.config;
  s.config = config;
  try {
    s.rebuild();
  } catch (...) {
    s.config = old;
    s.rebuild();
    throw;
  }
}

const LogConfig& current_config() { return state().config; }

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.loggers.find(name);
  if (it != s.loggers.end()) return it->second;
  auto lg = std::make_shared<spdlog::logger>(name);
  s.apply(*lg);
  s.loggers.emplace(name, lg);
  return lg;
}

void set_record_callback(RecordCallback callback, bool exclusive) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.callback = std::move(callback);
  s.exclusive = exclusive && static_cast<bool>(s.callback);
  s.rebuild();
}

void flush() {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  for (auto& sk : s.sinks) sk->flush();
}

}  // namespace stpipe::log
