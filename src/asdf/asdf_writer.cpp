// Writing ASDF 1.x files: header, tree with asdf_library/history, blocks with MD5, block index.
#include "stpipe/asdf/asdf_writer.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <cstring>

#include "stpipe/asdf/yaml.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"
#include "stpipe/version.h"

namespace stpipe::asdf {
namespace {

void put_be(std::string& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::vector<std::uint8_t> deflate_bytes(std::span<const std::uint8_t> in) {
  uLongf bound = compressBound(static_cast<uLong>(in.size()));
  std::vector<std::uint8_t> out(bound);
  if (compress2(out.data(), &bound, in.data(), static_cast<uLong>(in.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK)
    throw IoError("zlib compression failed");
  out.resize(bound);
  return out;
}

}  // namespace

AsdfWriter::AsdfWriter(WriteOptions options) : options_(std::move(options)) {
  if (options_.library_version.empty()) options_.library_version = kVersion;
}

Json AsdfWriter::add_array(const DataType& type, const std::vector<std::int64_t>& shape,
                           std::span<const std::byte> data, ByteOrder byteorder,
                           std::string_view compression) {
  if (type.kind == ScalarKind::kStructured)
    throw IoError("AsdfWriter::add_array: structured datatypes are not supported");
  NdArrayInfo info;
  info.datatype = type;
  info.shape = shape;
  for (auto d : shape)
    if (d < 0) throw IoError("AsdfWriter::add_array: negative shape entry");
  if (info.nbytes() != data.size())
    throw IoError("AsdfWriter::add_array: " + std::to_string(data.size()) +
                  " bytes given, shape and " + type.name + " need " +
                  std::to_string(info.nbytes()));
  if (compression != "" && compression != "zlib")
    throw IoError("AsdfWriter::add_array: unsupported compression '" + std::string(compression) +
                  "' (use \"\" or \"zlib\")");
  Block b;
  b.data_size = data.size();
  b.compression = std::string(compression);
  std::vector<std::uint8_t> raw(data.size());
  if (!data.empty()) std::memcpy(raw.data(), data.data(), data.size());
  if (byteorder == ByteOrder::kBig) byteswap(type, std::as_writable_bytes(std::span(raw)));
  // asdf's checksum is the MD5 of the uncompressed (stored byte order) data.
  unsigned int len = 0;
  if (EVP_Digest(raw.data(), raw.size(), b.md5.data(), &len, EVP_md5(), nullptr) != 1)
    throw IoError("AsdfWriter: MD5 computation failed");
  b.stored = compression == "zlib" ? deflate_bytes(raw) : std::move(raw);
  blocks_.push_back(std::move(b));
  return make_ndarray_node(static_cast<std::int64_t>(blocks_.size() - 1), type, byteorder, shape);
}

Json AsdfWriter::add_records(std::vector<Field> fields, std::int64_t rows,
                             std::span<const std::byte> data) {
  if (rows < 0) throw IoError("AsdfWriter::add_records: negative row count");
  const std::size_t record = pack_fields(fields);
  if (record * static_cast<std::size_t>(rows) != data.size())
    throw IoError("AsdfWriter::add_records: " + std::to_string(data.size()) + " bytes given, " +
                  std::to_string(rows) + " records of " + std::to_string(record) + " bytes need " +
                  std::to_string(record * static_cast<std::size_t>(rows)));
  Block b;
  b.data_size = data.size();
  std::vector<std::uint8_t> raw(data.size());
  if (!data.empty()) std::memcpy(raw.data(), data.data(), data.size());
  for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r)
    for (const auto& f : fields)
      if (f.byteorder == ByteOrder::kBig)
        byteswap(f.type,
                 std::as_writable_bytes(std::span(raw)).subspan(r * record + f.offset, f.size()));
  unsigned int len = 0;
  if (EVP_Digest(raw.data(), raw.size(), b.md5.data(), &len, EVP_md5(), nullptr) != 1)
    throw IoError("AsdfWriter: MD5 computation failed");
  b.stored = std::move(raw);
  blocks_.push_back(std::move(b));
  return make_records_node(static_cast<std::int64_t>(blocks_.size() - 1), fields, rows);
}

Json AsdfWriter::finalized_tree(const Json& tree) const {
  if (!tree.is_object()) throw IoError("AsdfWriter: the ASDF tree must be a mapping");
  Json out = Json::object();
  if (options_.asdf_library) {
    out["asdf_library"] =
        make_tagged("core/software-1.0.0", Json{{"author", options_.library_author},
                                                {"homepage", options_.library_homepage},
                                                {"name", options_.library_name},
                                                {"version", options_.library_version}});
  }
  if (options_.history) {
    Json history = Json::object();
    if (tree.contains("history") && tree["history"].is_object()) history = tree["history"];
    if (tree.contains("history") && tree["history"].is_array()) {
      history = tree["history"];  // old-style list of entries: keep as is
    } else {
      Json ext = make_tagged(
          "core/extension_metadata-1.0.0",
          Json{{"extension_class", "asdf.extension.BuiltinExtension"},
               {"software", make_tagged("core/software-1.0.0",
                                        Json{{"name", "asdf"}, {"version", "2.14.3"}})}});
      history["extensions"] = Json::array({ext});
    }
    out["history"] = history;
  } else if (tree.contains("history")) {
    out["history"] = tree["history"];
  }
  for (auto it = tree.begin(); it != tree.end(); ++it) {
    if (it.key() == kTagKey) continue;
    if (it.key() == "asdf_library" && options_.asdf_library) continue;
    if (it.key() == "history") continue;
    out[it.key()] = it.value();
  }
  return out;
}

std::string AsdfWriter::to_bytes(const Json& tree) const {
  std::string out = "#ASDF 1.0.0\n#ASDF_STANDARD " + options_.asdf_standard + "\n";
  out += "%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n";
  out += emit_yaml(finalized_tree(tree), "tag:stsci.edu:asdf/core/asdf-1.1.0");
  std::vector<std::size_t> offsets;
  for (const Block& b : blocks_) {
    offsets.push_back(out.size());
    out +=
        "\xd3"
        "BLK";
    put_be(out, 48, 2);
    put_be(out, 0, 4);  // flags
    std::string label = b.compression;
    label.resize(4, '\0');
    out += label;
    put_be(out, b.stored.size(), 8);  // allocated
    put_be(out, b.stored.size(), 8);  // used
    put_be(out, b.data_size, 8);
    out.append(reinterpret_cast<const char*>(b.md5.data()), 16);
    out.append(reinterpret_cast<const char*>(b.stored.data()), b.stored.size());
  }
  if (options_.block_index && !offsets.empty()) {
    out += "#ASDF BLOCK INDEX\n%YAML 1.1\n---\n";
    for (auto o : offsets) out += "- " + std::to_string(o) + "\n";
    out += "...\n";
  }
  return out;
}

void AsdfWriter::write(const std::filesystem::path& path, const Json& tree) const {
  const std::string bytes = to_bytes(tree);
  write_text_atomically(path, bytes);
}

}  // namespace stpipe::asdf
