// CRDS mapping files (.pmap/.imap/.rmap): the Python-literal value tree, the parser, sha1sum
// checks.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stpipe::crds {

/// A value of the restricted Python-literal language CRDS mappings are written in: None, bools,
/// numbers, strings, tuples, lists, sets, dicts (ordered as written) and selector calls
/// `Name({...})`.
struct PyValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kSet, kDict, kCall };
  Kind kind = Kind::kNone;
  bool b = false;
  long long i = 0;
  double f = 0.0;
  std::string s;                                  ///< kString: text; kCall: selector class name
  std::vector<PyValue> items;                     ///< kTuple/kList/kSet; kCall: the arguments
  std::vector<std::pair<PyValue, PyValue>> dict;  ///< kDict, in file order

  bool is_string() const { return kind == Kind::kString; }
  bool is_tuple() const { return kind == Kind::kTuple || kind == Kind::kList; }
  /// Python's str() of a scalar (e.g. 1.2 -> "1.2", 2048 -> "2048", True -> "True").
  std::string str() const;
  /// Python's repr() (strings quoted), used in messages.
  std::string repr() const;
  /// Looks up a string key in a kDict; nullptr if absent (or not a dict).
  const PyValue* get(const std::string& key) const;
};

/// Python's str(float): shortest round-trip digits, "2048.0", "1e-05", "1e+16".
std::string python_float_str(double v);
/// Python's repr(str): single quotes unless the text holds a single quote and no double quote.
std::string python_repr(const std::string& s);

/// Parses one Python literal expression (as in a server_config file). Throws ValidationError.
PyValue parse_python_literal(const std::string& text, const std::string& where = "(text)");

/// The SHA-1 CRDS records in a mapping's `sha1sum`: hex SHA-1 of the text with every line that
/// contains "sha1sum" removed.
std::string mapping_checksum(const std::string& text);

/// One parsed mapping file: `header = {...}`, optional `comment = ...`, `selector = ...`.
struct MappingFile {
  std::string name;  ///< basename, e.g. "jwst_0541.pmap"
  PyValue header;    ///< kDict
  PyValue selector;  ///< kDict or kCall
  std::string comment;

  /// header[key] as a string ("" if absent or not a string).
  std::string header_string(const std::string& key) const;
  /// "PIPELINE", "INSTRUMENT" or "REFERENCE" (upper case).
  std::string mapping_kind() const;
};

/// Parses mapping text. When `check_checksum` the header's sha1sum must match mapping_checksum();
/// a missing or wrong sha1sum throws ReferenceFileError naming the file. Syntax errors (including
/// duplicate keys) throw ReferenceFileError with the line.
MappingFile parse_mapping(const std::string& text, const std::string& name,
                          bool check_checksum = true);

/// Reads and parses a mapping file (see parse_mapping). Throws IoError if unreadable.
MappingFile load_mapping_file(const std::filesystem::path& path, bool check_checksum = true);

}  // namespace stpipe::crds
