// Model schemas: loading our YAML/JSON schemas, resolving $ref, merging allOf, validating values.
//
// Where schemas are found (schema_dir()): the env var STPIPE_SCHEMA_DIR if set; else a
// `schemas/` folder found by walking up from the running executable (build/bin -> ../../schemas,
// or an installed share/stpipe/schemas); else the source tree's schemas/ located from this
// library's own source path (__FILE__ at compile time). The first folder holding
// core.schema.yaml wins.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stpipe/models/array.h"

namespace stpipe::models {

/// Tree type of metadata and schemas.
using Json = nlohmann::ordered_json;

/// The folder our schemas are read from (see above). Throws ConfigError if none is found.
std::filesystem::path schema_dir();

/// Where a FITS keyword of the schema lives in the model tree.
struct KeywordEntry {
  std::string path;            ///< dotted path, e.g. "meta.instrument.name"
  std::string keyword;         ///< FITS keyword, e.g. "INSTRUME"
  std::string hdu;             ///< EXTNAME of its HDU, "PRIMARY" for the primary header
  std::string title;           ///< first line of the title (the card comment)
  const Json* node = nullptr;  ///< the merged schema node of the value
};

/// An array or table of the schema stored as a FITS extension.
struct ArrayEntry {
  std::string name;            ///< top-level property name, e.g. "data", "pixeldq", "dq_def"
  std::string hdu;             ///< EXTNAME, e.g. "SCI"
  std::optional<DType> dtype;  ///< array element type (nullopt: keep the file's)
  int ndim = -1;               ///< exact ndim, -1 if free
  int max_ndim = -1;           ///< maximum ndim, -1 if free
  std::optional<double> default_value;
  bool is_table = false;
  const Json* node = nullptr;
};

/// A loaded schema: refs resolved and allOf branches merged into one property tree.
class Schema {
 public:
  /// Loads (and caches) the schema `name` ("ramp" or "ramp.schema" -> schemas/ramp.schema.yaml;
  /// a path to a .yaml/.json file is read as is). Throws ConfigError naming the file on a
  /// missing file, bad YAML or an unresolvable $ref.
  static std::shared_ptr<const Schema> load(std::string_view name);

  /// Short name, e.g. "ramp".
  const std::string& name() const { return name_; }
  /// The `id` of the schema.
  const std::string& id() const { return id_; }
  /// The merged tree (root is an object schema with `properties`).
  const Json& tree() const { return tree_; }
  /// The merged node of a dotted path ("meta.exposure.nints"), or nullptr if not in the schema.
  const Json* node(std::string_view dotted) const;
  /// Every FITS keyword, in schema order.
  const std::vector<KeywordEntry>& keywords() const { return keywords_; }
  /// The keyword entry for (HDU EXTNAME, keyword), or nullptr.
  const KeywordEntry* keyword(std::string_view hdu, std::string_view keyword) const;
  /// The keyword entry for a dotted path, or nullptr.
  const KeywordEntry* keyword_for_path(std::string_view dotted) const;
  /// Arrays and tables stored as extensions, in schema order.
  const std::vector<ArrayEntry>& arrays() const { return arrays_; }
  /// The array entry named `name`, or nullptr.
  const ArrayEntry* array(std::string_view name) const;
  /// The array entry stored in HDU `extname`, or nullptr.
  const ArrayEntry* array_for_hdu(std::string_view extname) const;

  /// Validates `value` against the merged schema node `node` (type, enum, pattern, anyOf/oneOf,
  /// nested properties). Returns the first problem as a message, or nullopt if valid.
  static std::optional<std::string> check(const Json& node, const Json& value);

  /// Builds from an already-parsed document (used by load); `origin` names it in errors.
  Schema(std::string name, const Json& document, const std::filesystem::path& origin);

 private:
  std::string name_;
  std::string id_;
  Json tree_;
  std::vector<KeywordEntry> keywords_;
  std::vector<ArrayEntry> arrays_;
  void index(const Json& node, const std::string& path);
};

}  // namespace stpipe::models
