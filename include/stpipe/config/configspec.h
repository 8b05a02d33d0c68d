// ConfigObj configspecs (validate's check syntax plus stpipe's checks) and validation against them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stpipe/config/configobj.h"
#include "stpipe/util/error.h"

namespace stpipe::config {

/// One check of a configspec line: `name = type(args..., key=value..., default=...)  # help`.
struct Check {
  std::string type;                  ///< integer, float, boolean, string, option, list,
                                     ///< tuple, int_list, float_list, bool_list,
                                     ///< string_list, mixed_list, force_list, input_file,
                                     ///< output_file, is_string_or_datamodel,
                                     ///< is_datamodel, pass
  std::vector<nlohmann::json> args;  ///< positional arguments as validate passes them:
                                     ///< unquoted strings (a bare None stays "None")
  nlohmann::ordered_json kwargs =
      nlohmann::ordered_json::object();  ///< e.g. min, max (not default)
  bool has_default = false;              ///< false: the parameter is required
  nlohmann::json default_value;          ///< typed default after checking (null for None)
  std::string help;                      ///< inline comment
  std::string text;                      ///< the check as written, e.g. "float(default=4.0)"
  nlohmann::json default_text;           ///< default as written: string, list of strings,
                                         ///< or null for None (re-checked when used)
};

/// A configspec tree: a section holding checks and subsections in declaration order.
struct SpecSection {
  struct Entry;
  std::vector<Entry> entries;

  /// Entry by key, or nullptr.
  const Entry* find(std::string_view key) const;
  Entry* find(std::string_view key);
  /// Replaces the entry with the same key (keeping its position) or appends it.
  void set_check(const std::string& key, Check check);
  SpecSection& set_section(const std::string& key, SpecSection section);
  /// Merges `over` into this spec: keys of `over` replace or are appended (subclass over base).
  void merge(const SpecSection& over);
};

struct SpecSection::Entry {
  std::string key;
  std::optional<Check> check;          ///< set for a leaf
  std::optional<SpecSection> section;  ///< set for a subsection
};

/// Parses configspec text. Throws ConfigError on malformed text or an unknown check type.
SpecSection parse_configspec(std::string_view text, const std::string& source = "<spec>");

/// Parses one check expression, e.g. "integer(min=0, max=10, default=5)".
Check parse_check(std::string_view text);

/// Where a value came from, for resolving input_file/output_file paths.
struct CheckContext {
  /// Directory relative paths are resolved against (a config file's directory); empty = CWD.
  std::filesystem::path base_dir;
  /// Values typed on the command line resolve against the CWD, whatever base_dir says.
  bool from_command_line = false;
};

/// A failed check. what() is the reason in validate's words, without the key path, e.g.
/// `the value "11" is too big.`, `the value "bogus" is unacceptable.`,
/// `the value "abc" is of the wrong type.`, `the value "['1', '2', '3']" is too long.`
class CheckError : public ValidationError {
 public:
  explicit CheckError(const std::string& reason)
      : ValidationError(reason, ExitCode::kConfigError) {}
};

/// Checks one value and returns it typed (integers as int64, floats as double, booleans,
/// strings, arrays; null passes every check). `value` is a string, a list of strings (from a
/// file or the command line) or an already typed JSON value (from code or Python). Throws
/// CheckError.
nlohmann::json check_value(const Check& check, const nlohmann::json& value,
                           const CheckContext& context = {});

/// Renders a value as validate quotes it in messages: strings as is, lists as Python's repr of
/// a list of strings (['a', 'b']).
std::string value_repr(const nlohmann::json& value);

struct ValidateOptions {
  bool fill_defaults = true;   ///< missing keys with a default get it
  bool allow_missing = false;  ///< missing required keys are not an error
  bool allow_extra = false;    ///< unknown keys are kept instead of an error
  CheckContext context;
};

/// Validates a whole tree against a spec, returning the typed tree (spec order, then extras).
/// Throws ConfigError whose message lists every failure, one per line, as stpipe does:
/// `Config parameter 'steps/count/n': the value "11" is too big.`,
/// `Config parameter 'par1': missing`; an unknown key gives only the first
/// `Extra value 'bogus' in root` (or `in steps`, `in steps/count`).
Tree validate(const Tree& config, const SpecSection& spec, const ValidateOptions& options = {});

/// `stpipe config dump`: parses `config_path`, optionally validates it against spec text, and
/// returns the tree as pretty JSON. Throws ConfigError/IoError.
std::string dump_config_json(const std::filesystem::path& config_path,
                             const std::optional<std::string>& spec_text);

/// Renders a spec back as configspec text (for `stpipe describe` and saved spec files).
std::string write_configspec(const SpecSection& spec);

}  // namespace stpipe::config
