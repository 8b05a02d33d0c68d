// `stpipe` subcommands contributed by each area; each returns the process exit code.
// `args` holds the words after the subcommand name. Errors are printed to stderr.
#pragma once

#include <string>
#include <vector>

namespace stpipe::cli {

/// `stpipe config dump FILE [--spec SPECFILE]` (defined in src/config/config_command.cpp).
int config_command(const std::vector<std::string>& args);
/// `stpipe info FILE [--json]` (src/models/info_command.cpp).
int info_command(const std::vector<std::string>& args);
/// `stpipe convert IN OUT` (src/models/info_command.cpp).
int convert_command(const std::vector<std::string>& args);
/// `stpipe crds bestrefs ...` and other CRDS subcommands (src/crds/crds_command.cpp).
int crds_command(const std::vector<std::string>& args);
/// `stpipe batch slurm ...` and `stpipe batch status DIR` (src/cli/slurm_command.cpp).
int batch_command(const std::vector<std::string>& args);

}  // namespace stpipe::cli
