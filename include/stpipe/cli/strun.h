// The strun and stpipe programs as functions (their main() only calls these).
#pragma once

#include <string>
#include <vector>

namespace stpipe::cli {

/// `strun CLASS_OR_CONFIG INPUT... [--PARAM=V] [--steps.NAME.PARAM=V] [options]`; returns the
/// exit code (0 success, 1 step failure, 2 usage/config error, 3 bad input, 4 missing reference).
int strun_main(const std::vector<std::string>& args);

/// `stpipe list|describe|config|info|convert|crds|simulate|--version`.
int stpipe_main(const std::vector<std::string>& args);

/// The exit code for the exception in flight (call from a catch block), after printing it.
int report_error(const std::string& box_title);

}  // namespace stpipe::cli
