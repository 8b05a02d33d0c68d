// Reading ASDF 1.x files: header, YAML tree, binary blocks (zlib decompressed), block index.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "stpipe/asdf/ndarray.h"
#include "stpipe/asdf/tree.h"

namespace stpipe::asdf {

/// Options for reading.
struct ReadOptions {
  bool validate_checksums =
      false;            ///< compare each block's MD5 with its header (like asdf's option)
  int max_depth = 200;  ///< deepest tree nesting accepted
};

/// The header of one binary block, and its position in the file.
struct BlockHeader {
  std::uint64_t offset = 0;                 ///< file offset of the block magic
  std::uint16_t header_size = 0;            ///< bytes after the size field (>= 48)
  std::uint32_t flags = 0;                  ///< bit 0: streamed
  std::string compression;                  ///< "" (none) or "zlib"
  std::uint64_t allocated_size = 0;         ///< bytes reserved in the file
  std::uint64_t used_size = 0;              ///< bytes stored (compressed size)
  std::uint64_t data_size = 0;              ///< bytes after decompression
  std::array<std::uint8_t, 16> checksum{};  ///< MD5 of the decompressed data, all zero if absent
  bool streamed() const { return (flags & 1u) != 0; }
};

/// Block magic, the 4 bytes that start every binary block.
inline constexpr std::array<std::uint8_t, 4> kBlockMagic = {0xd3, 'B', 'L', 'K'};

/// An ASDF file read into memory. Invariant: every block listed was parsed and (if compressed)
/// decompressed successfully, so block_data() never fails.
class AsdfFile {
 public:
  /// Reads the file at `path`. Throws IoError (naming the file) if it cannot be read or is not a
  /// well-formed ASDF 1.x file: bad header, unterminated or malformed YAML, bad block magic or
  /// sizes, truncated data, unsupported compression (anything but zlib), bad zlib stream, or a
  /// checksum mismatch when options.validate_checksums is set.
  static AsdfFile open(const std::filesystem::path& path, const ReadOptions& options = {});

  /// Same as open() for bytes already in memory (e.g. a FITS ASDF extension); `origin` names
  /// the source in error messages.
  static AsdfFile from_bytes(std::vector<std::uint8_t> bytes, const std::string& origin,
                             const ReadOptions& options = {});

  /// The version from the `#ASDF x.y.z` line.
  const std::string& asdf_version() const { return asdf_version_; }
  /// The version from `#ASDF_STANDARD x.y.z`, empty if the line is absent.
  const std::string& standard_version() const { return standard_version_; }
  /// Tag of the tree's root (normally tag:stsci.edu:asdf/core/asdf-1.1.0), empty if none.
  const std::string& root_tag() const { return root_tag_; }
  /// The YAML tree (empty object when the file has no tree), as described in tree.h.
  const Json& tree() const { return tree_; }
  Json& tree() { return tree_; }

  /// Number of binary blocks.
  std::size_t num_blocks() const { return headers_.size(); }
  /// Header of block `i`; throws IoError if out of range.
  const BlockHeader& block_header(std::size_t i) const;
  /// Decompressed bytes of block `i`; throws IoError if out of range.
  std::span<const std::uint8_t> block_data(std::size_t i) const;
  /// Offsets listed in the `#ASDF BLOCK INDEX` section (empty if absent or unreadable; like asdf,
  /// a bad index is ignored because blocks are found by walking them).
  const std::vector<std::uint64_t>& block_index() const { return block_index_; }

  /// Copies the array described by `info` into `out` in C order, native (little-endian) byte
  /// order: from its block (applying offset and strides) or from inline `data`. `out` must be
  /// exactly info.nbytes() long (a streamed "*" axis is resolved from the block size first).
  /// Throws IoError for an external source (e.g. "fits:SCI,1": read it from the FITS HDU), a
  /// missing block, data outside the block, or a wrong `out` size.
  void read_array(const NdArrayInfo& info, std::span<std::byte> out) const;
  /// describe_ndarray(node) then read_array into a new buffer.
  std::vector<std::byte> read_array(const Json& node) const;
  /// The info of `node` with a streamed "*" first axis replaced by the length its block holds.
  NdArrayInfo resolve(const Json& node) const;

 private:
  std::string origin_;
  std::vector<std::uint8_t> bytes_;
  std::string asdf_version_;
  std::string standard_version_;
  std::string root_tag_;
  Json tree_ = Json::object();
  std::vector<BlockHeader> headers_;
  std::vector<std::vector<std::uint8_t>> decompressed_;  // empty vector for uncompressed blocks
  std::vector<std::uint64_t> block_index_;

  void parse(const ReadOptions& options);
  std::size_t parse_block(std::size_t pos, const ReadOptions& options);
};

}  // namespace stpipe::asdf
