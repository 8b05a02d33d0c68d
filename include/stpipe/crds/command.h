// The `stpipe crds ...` subcommand with explicit output streams (testable in-process).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace stpipe::crds {

/// Runs `stpipe crds <subcommand> ...` writing results to `out` and messages to `err`:
///   bestrefs (FILE.json | --header HEADER.json) [--context C] [--types t1,t2] [--explain]
///            [--no-checksum]   -> JSON {reftype: file | [files] | "N/A" | "NOT FOUND ..."}
///   sync [--context C]        -> downloads the context's mappings into CRDS_PATH
///   fetch NAME...             -> prints the local path of each reference, downloading it
/// Returns the exit code: 0, 2 (usage), 4 (a lookup failed / reference unavailable).
int run_crds_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace stpipe::crds
