// ASDF ndarray nodes (core/ndarray-1.0.0 and 1.1.0): datatypes, where the data is, node builders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stpipe/asdf/tree.h"

namespace stpipe::asdf {

/// Byte order of stored array data.
enum class ByteOrder { kLittle, kBig };

/// Kinds of element types ASDF knows.
enum class ScalarKind { kBool, kInt, kUint, kFloat, kComplex, kAscii, kUcs4, kStructured };

/// An element type as ASDF names it ("float32", "uint16", "bool8", ["ascii", N], ["ucs4", N]).
struct DataType {
  std::string name;  ///< "float32", ..., "ascii", "ucs4", or "structured"
  ScalarKind kind = ScalarKind::kFloat;
  std::size_t itemsize = 0;  ///< bytes per element
  std::size_t length = 0;    ///< characters, for ascii/ucs4 only

  /// A numeric or bool type by its ASDF name; throws IoError for an unknown name.
  static DataType from_name(std::string_view name);
  /// A fixed-length string type: ["ascii", n] (n bytes) or ["ucs4", n] (4n bytes).
  static DataType string_type(ScalarKind kind, std::size_t length);
  /// Size in bytes of one swappable unit (itemsize, half of it for complex, 4 for ucs4, 1 for
  /// ascii and bool).
  std::size_t swap_unit() const;
  /// The node value for `datatype:` ("float32" or ["ascii", 40]); not for structured types.
  Json to_json() const;
  bool operator==(const DataType& o) const { return name == o.name && length == o.length; }
};

/// One column of a structured (record) datatype.
struct Field {
  std::string name;
  DataType type;
  ByteOrder byteorder = ByteOrder::kLittle;
  std::vector<std::int64_t> shape;  ///< sub-array shape of the field (empty = scalar)
  std::size_t offset = 0;           ///< byte offset of the field inside a record
  std::size_t size() const;         ///< bytes of the field in a record
};

/// Where an ndarray's data lives.
enum class ArraySource { kBlock, kInline, kExternal };

/// Everything an ndarray node says about its array.
struct NdArrayInfo {
  std::string tag;            ///< full tag, e.g. tag:stsci.edu:asdf/core/ndarray-1.0.0
  DataType datatype;          ///< element type (kind kStructured for records)
  std::vector<Field> fields;  ///< the columns, for a structured datatype
  ByteOrder byteorder = ByteOrder::kLittle;
  std::vector<std::int64_t> shape;    ///< numpy order; -1 stands for "*" (streamed first axis)
  std::int64_t offset = 0;            ///< byte offset into the block
  std::vector<std::int64_t> strides;  ///< byte strides, empty if C-contiguous
  ArraySource source = ArraySource::kBlock;
  std::int64_t block = 0;  ///< block index (may be negative: from the end) for kBlock
  std::string external;    ///< the source string for kExternal ("fits:SCI,1")
  Json inline_data;        ///< the nested lists for kInline

  /// Number of elements (product of shape); throws IoError if the shape contains "*".
  std::size_t num_elements() const;
  /// Bytes of the array in C order (num_elements() * itemsize).
  std::size_t nbytes() const;
};

/// True if `node` is tagged core/ndarray-*.
bool is_ndarray(const Json& node);

/// Reads an ndarray node. Throws IoError (naming the problem) if the node is not an ndarray or
/// its datatype, byteorder, shape, source, offset or strides are malformed.
NdArrayInfo describe_ndarray(const Json& node);

/// An ndarray source that points at a FITS HDU: "fits:SCI,1" -> name SCI, ver 1; "fits:3" ->
/// HDU index 3 (empty name).
struct FitsSource {
  std::string name;
  int ver = 1;     ///< EXTVER when `name` is set
  int index = -1;  ///< HDU index when `name` is empty
};

/// Parses a "fits:..." source string; nullopt if it does not start with "fits:" or is malformed.
std::optional<FitsSource> parse_fits_source(std::string_view source);

/// An ndarray node for binary block `block` (tag core/ndarray-<version>).
Json make_ndarray_node(std::int64_t block, const DataType& type, ByteOrder byteorder,
                       const std::vector<std::int64_t>& shape, std::string_view version = "1.0.0");

/// An ndarray node whose data is the FITS HDU EXTNAME=`name`, EXTVER=`ver`, as stdatamodels
/// writes in the ASDF extension of FITS files: source "fits:NAME,VER", byteorder big.
Json make_fits_ndarray_node(std::string_view name, int ver, const DataType& type,
                            const std::vector<std::int64_t>& shape,
                            std::string_view version = "1.0.0");

/// Lays `fields` out one after the other (sets each offset) and returns the record size.
std::size_t pack_fields(std::vector<Field>& fields);

/// The `datatype:` value of a structured array: one {name, datatype, byteorder[, shape]} per
/// field, as asdf writes numpy record arrays.
Json fields_to_json(const std::vector<Field>& fields);

/// An ndarray node for `rows` records of `fields` in binary block `block`.
Json make_records_node(std::int64_t block, const std::vector<Field>& fields, std::int64_t rows,
                       ByteOrder byteorder = ByteOrder::kLittle,
                       std::string_view version = "1.0.0");

/// An ndarray node for the records of FITS table HDU EXTNAME=`name`, EXTVER=`ver` ("fits:
/// NAME,VER", big-endian fields), as stdatamodels writes tables in the ASDF extension.
Json make_fits_records_node(std::string_view name, int ver, std::vector<Field> fields,
                            std::int64_t rows, std::string_view version = "1.0.0");

/// Converts C-contiguous elements of `info`'s datatype, stored in `info.byteorder` (per field
/// byteorder for records), to native little-endian order in place. Throws IoError if
/// data.size() is not a multiple of the itemsize.
void to_native_byte_order(const NdArrayInfo& info, std::span<std::byte> data);

/// Reverses the bytes of every swappable unit of `type` in `data` (little <-> big).
void byteswap(const DataType& type, std::span<std::byte> data);

}  // namespace stpipe::asdf
