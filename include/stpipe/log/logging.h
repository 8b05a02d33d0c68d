// Logging on top of spdlog: stpipe's format, named loggers stpipe.<pipeline>.<step>, handlers.
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stpipe::log {

/// How logging is set up for a run: level, where records go, and their format.
struct LogConfig {
  spdlog::level::level_enum level = spdlog::level::info;
  /// Handlers as stpipe names them: "stderr", "stdout", "null", "file:PATH", "append:PATH".
  std::vector<std::string> handlers = {"stderr"};
  /// Python logging format with %(asctime)s, %(name)s, %(levelname)s, %(message)s.
  std::string format = "%(asctime)s - %(name)s - %(levelname)s - %(message)s";
};

/// Parses a level name (DEBUG, INFO, WARNING, ERROR, CRITICAL, any case) or a Python numeric
/// level (10, 20, ...). Throws ConfigError on anything else.
spdlog::level::level_enum parse_level(const std::string& text);

/// Python's name for a level: DEBUG, INFO, WARNING, ERROR, CRITICAL.
const char* level_name(spdlog::level::level_enum level);

/// Reads a ConfigObj log configuration file ([*] level, handler, format). Throws ConfigError or
/// IoError (`Logging config '<f>' not found`).
LogConfig read_log_config(const std::filesystem::path& path);

/// Applies a configuration to every stpipe logger, existing and future.
void configure(const LogConfig& config);

/// The current configuration.
const LogConfig& current_config();

/// A logger named e.g. "stpipe.Detector1Pipeline.jump", created on first use with the current
/// sinks and level.
std::shared_ptr<spdlog::logger> get(const std::string& name);

/// A callback receiving every record (logger name, level, message) besides the sinks; used by
/// the Python binding to forward records to Python's logging. Pass nullptr to remove it. When
/// `exclusive` is true, records go only to the callback (no terminal or file output).
using RecordCallback =
    std::function<void(const std::string& name, spdlog::level::level_enum, const std::string&)>;
void set_record_callback(RecordCallback callback, bool exclusive);

/// Flushes every sink.
void flush();

}  // namespace stpipe::log
