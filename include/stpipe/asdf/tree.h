// The JSON form of an ASDF (YAML) tree: how tags, scalars and keys map onto nlohmann::ordered_json.
//
// Convention (used by the reader, the writer and every helper in this area):
//  * Untagged YAML maps, sequences, strings, ints, floats, bools and null become the same JSON
//    types; map order is kept (ordered_json).  Scalars keep their YAML 1.1 type exactly as
//    Python's asdf/pyyaml resolves them: `5` is an int, `5.0` and `1.0e+3` are floats, `1e3`,
//    `01019`, `2016-01-01` and any quoted scalar are strings (implicit timestamps stay strings).
//  * A tagged map becomes a JSON object whose FIRST key is "__tag__" holding the full tag URI
//    (e.g. "tag:stsci.edu:asdf/core/ndarray-1.0.0"), followed by the map's own entries.
//  * A tagged sequence or scalar becomes {"__tag__": <tag>, "__value__": <array or string>}; the
//    value of a tagged scalar is its raw text (as pyyaml's asdf loader keeps it).
//  * Standard YAML tags (!!str, !!int, !!float, !!bool, !!null, !!timestamp) are applied and not
//    kept; other !! tags (!!binary, ...) are kept like any other tag.
//  * Keys are strings: a scalar key is kept as its text (`1: x` gives key "1"); non-scalar keys
//    and a literal "__tag__" key are rejected with IoError.
//  * The document's root tag (core/asdf-1.1.0) is not put in the tree; AsdfFile reports it.
// When writing, a tag may also be given in the short form "core/ndarray-1.0.0", meaning
// "tag:stsci.edu:asdf/core/ndarray-1.0.0" (the `!` handle of ASDF files).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace stpipe::asdf {

/// The tree type of this library.
using Json = nlohmann::ordered_json;

/// Reserved key holding a node's tag.
inline constexpr const char* kTagKey = "__tag__";
/// Reserved key holding the value of a tagged sequence or scalar.
inline constexpr const char* kValueKey = "__value__";
/// Prefix the `!` tag handle stands for in ASDF files.
inline constexpr std::string_view kAsdfTagPrefix = "tag:stsci.edu:asdf/";
/// Prefix of the standard YAML tags (`!!`).
inline constexpr std::string_view kYamlTagPrefix = "tag:yaml.org,2002:";

/// The tag of a node (full URI as stored), or nullopt if the node is untagged.
std::optional<std::string> tag_of(const Json& node);

/// True if `node` carries a tag starting with `prefix` (short forms such as "core/ndarray-" are
/// expanded first).
bool has_tag_prefix(const Json& node, std::string_view prefix);

/// The payload of a node: the "__value__" of a tagged sequence/scalar, otherwise the node itself
/// (a tagged map is returned as is, including its "__tag__" key).
const Json& untagged(const Json& node);

/// Builds a tagged node following the convention above: a map gets "__tag__" as its first key,
/// anything else is wrapped as {"__tag__", "__value__"}. `tag` may be short ("core/x-1.0.0").
Json make_tagged(std::string_view tag, Json value);

/// A copy of a map node without its "__tag__" key (other nodes are returned unchanged).
Json strip_tag(const Json& node);

/// Expands a short tag ("core/ndarray-1.0.0" -> "tag:stsci.edu:asdf/core/ndarray-1.0.0");
/// a tag containing ':' (a URI) or starting with '!' (a local tag) is returned unchanged.
std::string expand_tag(std::string_view tag);

/// Compact JSON text of `node` for error messages: invalid UTF-8 replaced, cut to `max_chars`.
std::string to_text(const Json& node, std::size_t max_chars = 200);

}  // namespace stpipe::asdf
