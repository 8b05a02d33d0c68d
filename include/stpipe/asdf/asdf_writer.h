// Writing ASDF 1.x files: header, tagged YAML tree with asdf_library/history, binary blocks, index.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stpipe/asdf/ndarray.h"
#include "stpipe/asdf/tree.h"

namespace stpipe::asdf {

/// Options for writing.
struct WriteOptions {
  std::string asdf_standard = "1.5.0";  ///< the `#ASDF_STANDARD` line
  bool block_index = true;              ///< write `#ASDF BLOCK INDEX` after the blocks (if any)
  bool asdf_library = true;             ///< put `asdf_library: !core/software-1.0.0 {...}` first
  /// Put `history: {extensions: [...]}` naming asdf's BuiltinExtension (the core tags we use),
  /// as asdf does; existing `history.entries` of the tree are kept.
  bool history = true;
  std::string library_name = "stpipe-cpp";
  std::string library_author = "stpipe-cpp developers";
  std::string library_homepage = "https://github.com/spacetelescope/stpipe";
  std::string library_version;  ///< empty: the stpipe-cpp version
};

/// Builds an ASDF file from a tree and array blocks. Usage:
///   AsdfWriter w;  tree["data"] = w.add_array(DataType::from_name("float32"), {8, 10}, bytes);
///   w.write("out.asdf", tree);
/// For the ASDF extension of FITS files, put make_fits_ndarray_node(...) nodes in the tree and
/// call to_bytes(tree) without adding blocks. Invariant: block i holds the i-th added array.
class AsdfWriter {
 public:
  explicit AsdfWriter(WriteOptions options = {});

  /// Adds an array as the next binary block and returns its ndarray node (`source: N`) to put in
  /// the tree. `data` is C-ordered, native (little-endian) elements; `byteorder` is the order to
  /// store (big is swapped on write); `compression` is "" or "zlib". Throws IoError if data.size()
  /// does not match shape x itemsize or the compression is unknown.
  Json add_array(const DataType& type, const std::vector<std::int64_t>& shape,
                 std::span<const std::byte> data, ByteOrder byteorder = ByteOrder::kLittle,
                 std::string_view compression = "");

  /// Adds `rows` records of `fields` (offsets as pack_fields lays them out; `data` native,
  /// rows x record size bytes) as the next block, each field stored in its own byteorder, and
  /// returns the structured ndarray node. Throws IoError on a size mismatch.
  Json add_records(std::vector<Field> fields, std::int64_t rows, std::span<const std::byte> data);

  /// Number of blocks added so far.
  std::size_t num_blocks() const { return blocks_.size(); }

  /// The complete file: header, tree (root tagged core/asdf-1.1.0), blocks, block index.
  /// Throws IoError if the tree is not a mapping or holds a value YAML cannot carry.
  std::string to_bytes(const Json& tree) const;

  /// Writes to_bytes(tree) to `path` atomically. Throws IoError naming the file.
  void write(const std::filesystem::path& path, const Json& tree) const;

  /// The tree as it will be written: asdf_library and history first, then the tree's own keys.
  Json finalized_tree(const Json& tree) const;

 private:
  struct Block {
    std::vector<std::uint8_t> stored;  // bytes as written (compressed if compression is set)
    std::string compression;
    std::uint64_t data_size = 0;
    std::array<unsigned char, 16> md5{};  // of the uncompressed data, as asdf computes it
  };
  WriteOptions options_;
  std::vector<Block> blocks_;
};

}  // namespace stpipe::asdf
