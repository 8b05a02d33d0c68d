// stpipe parameter files in ASDF (schema step_config-1.0.0): class, name, parameters, steps, meta.
//
// The JSON form used here is the tree stpipe writes, without asdf_library/history:
//   {"class": "jwst.pipeline.Detector1Pipeline", "name": "Detector1Pipeline",
//    "parameters": {"save_results": true, ...},
//    "steps": [{"class": ..., "name": "dq_init", "parameters": {...}}, ...],   // optional
//    "meta": {"author": "<SPECIFY>", ...}}                                      // optional
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "stpipe/asdf/asdf_writer.h"
#include "stpipe/asdf/tree.h"

namespace stpipe::asdf {

/// Placeholder stpipe puts in the metadata template ("<SPECIFY>").
inline constexpr std::string_view kSpecifyPlaceholder = "<SPECIFY>";

/// Reads a parameter file. Accepts the step_config-1.0.0 layout and the legacy 0.1.0 layout
/// (`parameters: {class, name, <pars>, steps: {<name>: {<pars>}}}`, converted to the 1.0.0 form).
/// Returns {class, name, parameters, steps?, meta?} with keys in that order. Throws IoError if the
/// file is not readable ASDF, ConfigError if the tree is not a step config (naming the file and
/// the offending key: class missing or not a string, parameters not a mapping, steps not a list
/// of step configs, name not a string).
Json read_step_config(const std::filesystem::path& path);

/// Same as read_step_config for an already parsed ASDF tree; `origin` names it in messages.
Json step_config_from_tree(const Json& tree, const std::string& origin);

/// Checks `config` against step_config-1.0.0 (class: string, name: string, parameters: mapping,
/// steps: list of the same, recursively; meta: mapping). Throws ConfigError naming the key path.
void validate_step_config(const Json& config, const std::string& origin = "step config");

/// The `meta` block stpipe's export_config(include_metadata=True) writes: every field
/// "<SPECIFY>" except date (UTC now, "YYYY-MM-DDTHH:MM:SS") and description ("Parameters for
/// calibration step <class_name>").
Json step_config_metadata_template(std::string_view class_name);

/// Writes `config` (validated first) as an ASDF parameter file, atomically; keys class, name,
/// parameters, steps (omitted when empty, as stpipe does), meta in that order. Throws
/// ConfigError for an invalid config, IoError if the file cannot be written.
void write_step_config(const std::filesystem::path& path, const Json& config,
                       const WriteOptions& options = {});

}  // namespace stpipe::asdf
