// YAML text <-> JSON tree conversion with ASDF's tag convention and pyyaml's YAML 1.1 scalar rules.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "stpipe/asdf/tree.h"

namespace stpipe::asdf {

/// A parsed YAML document: its root tag (full URI, empty if untagged) and the converted tree.
struct YamlDocument {
  std::string root_tag;
  Json tree;
};

/// Parses the first YAML document of `text` (directives such as `%YAML 1.1` and
/// `%TAG ! tag:stsci.edu:asdf/` included) into a tree following the convention of tree.h; the
/// root's tag is moved to `root_tag`. `origin` names the file in error messages.
/// Throws IoError on malformed YAML, a cyclic or too deep tree (limit `max_depth`), alias
/// expansion beyond the node budget, an integer outside the 64-bit range or a non-scalar key.
YamlDocument parse_yaml(std::string_view text, const std::string& origin, int max_depth = 200);

/// Emits `tree` as one YAML document: `--- <root_tag>` then the tree in block style (maps and
/// sequences whose children are all scalars in flow style, like asdf), then `...`. Tags under
/// "tag:stsci.edu:asdf/" are written with the `!` handle, "tag:yaml.org,2002:" with `!!`, others
/// as `!<uri>`. Strings are quoted whenever pyyaml would otherwise read another type; floats are
/// written in the shortest form that reads back to the same double (`.inf`, `.nan` for specials).
/// The directives (%YAML, %TAG) are NOT written. Throws IoError on a string that is not UTF-8.
std::string emit_yaml(const Json& tree, std::string_view root_tag = {});

/// How pyyaml (YAML 1.1, asdf's loader) resolves an unquoted scalar: returns the JSON value
/// (null, bool, int, float, or the string itself). Throws IoError for an integer beyond 64 bits.
Json resolve_plain_scalar(std::string_view text);

/// True if `text` can be written unquoted and reads back as that same string.
bool is_safe_plain_string(std::string_view text);

}  // namespace stpipe::asdf
