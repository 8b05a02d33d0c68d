// ConfigObj 5 files: parse to an ordered tree of strings, lists and sections; write back.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace stpipe::config {

/// A ConfigObj tree as ConfigObj gives it without a spec: each key maps to a string, a list of
/// strings (JSON array) or a section (JSON object); keys keep file order, scalars of a section
/// are listed before its subsections (as ConfigObj stores them). Also used for typed trees
/// (after validation values may be numbers, booleans or null).
using Tree = nlohmann::ordered_json;

/// Inline comments of a parsed file: "a/b/key" -> comment text without the leading '#', trimmed.
using Comments = std::map<std::string, std::string>;

struct ParseOptions {
  /// As ConfigObj's list_values: false keeps every value as its raw text (quotes kept; used for
  /// configspecs), true parses quotes and comma lists.
  bool list_values = true;
  /// Name used in error messages (a file name, or "<string>").
  std::string source = "<string>";
  /// If not null, receives the inline comment of every key.
  Comments* comments = nullptr;
  /// As ConfigObj's default interpolation ("configparser"): `%(name)s` in string values is
  /// replaced by the value of `name` from the same section, its DEFAULT subsection or a parent
  /// section (stpipe reads config files this way). Off by default; never used for specs.
  bool interpolation = false;
};

/// Parses ConfigObj text. Throws ConfigError naming the source and line on a syntax error,
/// a duplicate key or section, or a bad nesting level, in ConfigObj's words where it has them.
Tree parse_configobj(std::string_view text, const ParseOptions& options = {});

/// Reads and parses a file. Throws IoError if unreadable, ConfigError if malformed.
Tree read_configobj_file(const std::filesystem::path& path, ParseOptions options = {});

/// Parses one value the way ConfigObj parses the right-hand side of `key = value` with
/// list_values on (used for command-line values): returns a JSON string, or a JSON array of
/// strings for comma lists (`a,` -> ["a"], `,` -> []). Throws ConfigError on bad quoting.
nlohmann::ordered_json parse_configobj_value(std::string_view value);

/// Writes a tree as ConfigObj text that parse_configobj reads back to the same tree (typed
/// values are written as ConfigObj/validate would: true/false as True/False, null as None,
/// numbers in shortest round-trip form; strings quoted only when needed; lists with a trailing
/// comma for one element).
std::string write_configobj(const Tree& tree);

}  // namespace stpipe::config
