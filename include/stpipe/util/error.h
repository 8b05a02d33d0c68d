// The exception hierarchy of stpipe-cpp: one root, one kind per kind of failure, each with an exit
// code.
#pragma once

#include <stdexcept>
#include <string>

namespace stpipe {

/// Exit codes strun returns (listed in the README).
enum class ExitCode : int {
  kSuccess = 0,
  kStepFailure = 1,     ///< a step raised while running, or an unclassified error
  kConfigError = 2,     ///< bad command line, parameter, config or spec
  kInputError = 3,      ///< input file unreadable, malformed, or invalid against its schema
  kReferenceError = 4,  ///< a reference file could not be found, fetched or opened
};

/// Root of every error stpipe-cpp throws; carries the message and the strun exit code.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, ExitCode code = ExitCode::kStepFailure)
      : std::runtime_error(what), code_(code) {}
  ExitCode exit_code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

/// Bad configuration: parameters, spec, config file syntax, command line usage.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& what) : Error(what, ExitCode::kConfigError) {}
};

/// A value failed validation against a schema or a configspec check.
class ValidationError : public Error {
 public:
  explicit ValidationError(const std::string& what, ExitCode code = ExitCode::kInputError)
      : Error(what, code) {}
};

/// A file could not be read or written, or is not what it claims to be.
class IoError : public Error {
 public:
  explicit IoError(const std::string& what) : Error(what, ExitCode::kInputError) {}
};

/// A reference file could not be selected, fetched or opened.
class ReferenceFileError : public Error {
 public:
  explicit ReferenceFileError(const std::string& what) : Error(what, ExitCode::kReferenceError) {}
};

/// A step failed while running (including a failing hook).
class StepError : public Error {
 public:
  explicit StepError(const std::string& what) : Error(what, ExitCode::kStepFailure) {}
};

}  // namespace stpipe
