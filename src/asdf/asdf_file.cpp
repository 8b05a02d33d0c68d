// Reading ASDF 1.x files: header lines, YAML tree, binary blocks, block index, array data.
#include "stpipe/asdf/asdf_file.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "stpipe/asdf/yaml.h"
#include "stpipe/util/error.h"

namespace stpipe::asdf {
namespace {

constexpr std::string_view kIndexHeader = "#ASDF BLOCK INDEX";

std::uint64_t read_be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

std::string printable_label(const std::uint8_t* p, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == 0) continue;
    if (p[i] >= 0x20 && p[i] < 0x7f) {
      out += static_cast<char>(p[i]);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", p[i]);
      out += buf;
    }
  }
  return out;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

// Finds the end of the YAML tree: just past a "..." line (the document end marker).
std::size_t find_tree_end(std::string_view s, std::size_t from) {
  for (std::size_t p = s.find("\n...", from); p != std::string_view::npos;
       p = s.find("\n...", p + 1)) {
    std::size_t q = p + 4;
    if (q == s.size()) return q;
    if (s[q] == '\n') return q + 1;
    if (s[q] == '\r' && q + 1 < s.size() && s[q + 1] == '\n') return q + 2;
    if (s[q] == '\r' && q + 1 == s.size()) return q + 1;
  }
  return std::string_view::npos;
}

std::vector<std::uint8_t> inflate_block(const std::uint8_t* src, std::size_t used,
                                        std::size_t data_size, const std::string& where) {
  std::vector<std::uint8_t> out(data_size);
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) throw IoError(where + ": cannot initialise zlib");
  zs.next_in = const_cast<Bytef*>(src);
  std::size_t in_left = used, produced = 0;
  int rc = Z_OK;
  while (true) {
    const uInt in_chunk = static_cast<uInt>(std::min<std::size_t>(in_left, 1u << 30));
    const uInt out_chunk = static_cast<uInt>(std::min<std::size_t>(data_size - produced, 1u << 30));
    zs.avail_in = in_chunk;
    zs.next_out = out.data() + produced;
    zs.avail_out = out_chunk;
    std::uint8_t overflow_probe;
    if (out_chunk == 0) {  // output full: any further output means data_size was wrong
      zs.next_out = &overflow_probe;
      zs.avail_out = 1;
    }
    rc = inflate(&zs, Z_NO_FLUSH);
    std::size_t consumed = in_chunk - zs.avail_in;
    in_left -= consumed;
    std::size_t made = (out_chunk == 0 ? 1 : out_chunk) - zs.avail_out;
    if (out_chunk == 0 && made > 0) {
      inflateEnd(&zs);
      throw IoError(where + ": zlib data decompresses to more than the " +
                    std::to_string(data_size) + " bytes the block header gives");
    }
    produced += made;
    if (rc == Z_STREAM_END) {
      if (in_left == 0) break;
      inflateReset(&zs);  // concatenated zlib streams
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
      inflateEnd(&zs);
      throw IoError(where + ": bad zlib data (" + msg + ")");
    }
    if (consumed == 0 && made == 0) {
      inflateEnd(&zs);
      throw IoError(where + ": zlib data is truncated");
    }
  }
  inflateEnd(&zs);
  if (produced != data_size)
    throw IoError(where + ": zlib data decompresses to " + std::to_string(produced) +
                  " bytes, the block header says " + std::to_string(data_size));
  return out;
}

std::array<std::uint8_t, 16> md5(const std::uint8_t* p, std::size_t n) {
  std::array<std::uint8_t, 16> out{};
  unsigned int len = 0;
  if (EVP_Digest(p, n, out.data(), &len, EVP_md5(), nullptr) != 1 || len != 16)
    throw IoError("MD5 computation failed");
  return out;
}

// Number of scalar leaves of inline data (bounded walk).
std::size_t count_leaves(const Json& j, std::size_t limit) {
  std::size_t n = 0;
  std::vector<const Json*> stack{&j};
  while (!stack.empty() && n <= limit) {
    const Json* x = stack.back();
    stack.pop_back();
    if (x->is_array()) {
      for (const auto& c : *x) stack.push_back(&c);
    } else {
      ++n;
    }
  }
  return n;
}

template <typename T>
void store(std::byte* dst, T v) {
  std::memcpy(dst, &v, sizeof v);
}

void store_inline_scalar(const Json& v, const DataType& t, std::byte* dst) {
  const Json& x = untagged(v);
  switch (t.kind) {
    case ScalarKind::kBool:
      if (!x.is_boolean() && !x.is_number()) break;
      store<std::uint8_t>(dst, x.is_boolean() ? x.get<bool>() : x.get<double>() != 0);
      return;
    case ScalarKind::kInt:
    case ScalarKind::kUint:
    case ScalarKind::kFloat: {
      if (!x.is_number() && !x.is_boolean()) break;
      const std::string& n = t.name;
      if (t.kind == ScalarKind::kFloat) {
        double d = x.is_boolean() ? x.get<bool>() : x.get<double>();
        if (n == "float32") return store<float>(dst, static_cast<float>(d));
        if (n == "float64") return store<double>(dst, d);
        throw IoError("ndarray: inline data of type " + n + " is not supported");
      }
      if (x.is_number_float()) break;
      std::int64_t i = x.is_boolean()           ? x.get<bool>()
                       : x.is_number_unsigned() ? static_cast<std::int64_t>(x.get<std::uint64_t>())
                                                : x.get<std::int64_t>();
      switch (t.itemsize) {
        case 1:
          return store<std::uint8_t>(dst, static_cast<std::uint8_t>(i));
        case 2:
          return store<std::uint16_t>(dst, static_cast<std::uint16_t>(i));
        case 4:
          return store<std::uint32_t>(dst, static_cast<std::uint32_t>(i));
        default:
          return store<std::uint64_t>(dst, static_cast<std::uint64_t>(i));
      }
    }
    case ScalarKind::kAscii:
      if (!x.is_string()) break;
      std::memset(dst, 0, t.itemsize);
      std::memcpy(dst, x.get_ref<const std::string&>().data(),
                  std::min(t.itemsize, x.get_ref<const std::string&>().size()));
      return;
    default:
      throw IoError("ndarray: inline data of type " + t.name + " is not supported");
  }
  throw IoError("ndarray: inline value " + to_text(v, 80) + " does not fit datatype " + t.name);
}

void fill_inline(const Json& node, const NdArrayInfo& info, std::size_t dim, std::byte*& dst) {
  if (dim == info.shape.size()) {
    if (node.is_array()) throw IoError("ndarray: inline data is nested deeper than its shape");
    store_inline_scalar(node, info.datatype, dst);
    dst += info.datatype.itemsize;
    return;
  }
  if (!node.is_array() || static_cast<std::int64_t>(node.size()) != info.shape[dim])
    throw IoError("ndarray: inline data does not match the shape along axis " +
                  std::to_string(dim));
  for (const auto& c : node) fill_inline(c, info, dim + 1, dst);
}

}  // namespace

AsdfFile AsdfFile::open(const std::filesystem::path& path, const ReadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open ASDF file '" + path.string() + "'");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("cannot read ASDF file '" + path.string() + "'");
  return from_bytes(std::move(bytes), path.string(), options);
}

AsdfFile AsdfFile::from_bytes(std::vector<std::uint8_t> bytes, const std::string& origin,
                              const ReadOptions& options) {
  AsdfFile f;
  f.origin_ = origin;
  f.bytes_ = std::move(bytes);
  f.parse(options);
  return f;
}

void AsdfFile::parse(const ReadOptions& options) {
  const std::string_view s(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  if (s.rfind("#ASDF ", 0) != 0)
    throw IoError(origin_ + ": not an ASDF file (it does not start with '#ASDF ')");
  std::size_t eol = s.find('\n');
  if (eol == std::string_view::npos || eol > 256)
    throw IoError(origin_ + ": malformed ASDF header line");
  asdf_version_ = trim(s.substr(6, eol - 6));
  if (asdf_version_.rfind("1.", 0) != 0)
    throw IoError(origin_ + ": unsupported ASDF file format version '" + asdf_version_ +
                  "' (only 1.x is read)");
  std::size_t pos = eol + 1;
  // Comment lines; "#ASDF_STANDARD x" gives the standard version.
  while (pos < s.size() && s[pos] == '#' &&
         s.compare(pos, kIndexHeader.size(), kIndexHeader) != 0) {
    std::size_t e = s.find('\n', pos);
    if (e == std::string_view::npos) e = s.size();
    std::string_view line = s.substr(pos, e - pos);
    if (line.rfind("#ASDF_STANDARD ", 0) == 0) standard_version_ = trim(line.substr(15));
    pos = std::min(e + 1, s.size());
  }
  if (s.compare(pos, 1, "%") == 0 || s.compare(pos, 3, "---") == 0) {
    std::size_t end = find_tree_end(s, pos);
    if (end == std::string_view::npos)
      throw IoError(origin_ + ": the YAML tree is not terminated by a '...' line");
    YamlDocument doc = parse_yaml(s.substr(pos, end - pos), origin_, options.max_depth);
    if (!doc.tree.is_object())
      throw IoError(origin_ + ": the root of the ASDF tree is not a mapping");
    tree_ = std::move(doc.tree);
    root_tag_ = std::move(doc.root_tag);
    pos = end;
  }
  // Blocks start at the first block magic after the tree (asdf skips any padding before it).
  const std::string_view magic(reinterpret_cast<const char*>(kBlockMagic.data()), 4);
  std::size_t first = s.find(magic, pos);
  std::size_t index_at = s.find(kIndexHeader, pos);
  if (first != std::string_view::npos && (index_at == std::string_view::npos || first < index_at)) {
    pos = first;
    while (pos < s.size()) {
      if (s.compare(pos, 4, magic) != 0) break;
      pos = parse_block(pos, options);
    }
    if (pos < s.size()) {
      if (s.compare(pos, kIndexHeader.size(), kIndexHeader) == 0) {
        index_at = pos;
      } else if (s.find_first_not_of(std::string_view("\0 \t\r\n", 5), pos) !=
                 std::string_view::npos) {
        throw IoError(origin_ + ": bad block magic at offset " + std::to_string(pos) +
                      " after block " + std::to_string(headers_.size() - 1) +
                      " (inconsistent block sizes?)");
      }
    }
  }
  if (index_at != std::string_view::npos) {
    std::size_t nl = s.find('\n', index_at);
    if (nl != std::string_view::npos) {
      try {
        YamlDocument idx = parse_yaml(s.substr(nl + 1), origin_ + " (block index)", 4);
        if (idx.tree.is_array()) {
          std::vector<std::uint64_t> offs;
          for (const auto& v : idx.tree) {
            if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
              offs.clear();
              break;
            }
            offs.push_back(v.get<std::uint64_t>());
          }
          block_index_ = std::move(offs);
        }
      } catch (const IoError&) {
        // A damaged index is ignored, as asdf does: the blocks were found by walking them.
      }
    }
  }
}

std::size_t AsdfFile::parse_block(std::size_t pos, const ReadOptions& options) {
  const std::size_t n = bytes_.size();
  const std::string where = origin_ + ": block " + std::to_string(headers_.size()) + " (offset " +
                            std::to_string(pos) + ")";
  if (n - pos < 6) throw IoError(where + ": truncated block header");
  BlockHeader h;
  h.offset = pos;
  h.header_size = static_cast<std::uint16_t>(read_be(&bytes_[pos + 4], 2));
  if (h.header_size < 48)
    throw IoError(where + ": header size " + std::to_string(h.header_size) + " is below 48");
  if (n - pos - 6 < h.header_size) throw IoError(where + ": truncated block header");
  const std::uint8_t* p = &bytes_[pos + 6];
  h.flags = static_cast<std::uint32_t>(read_be(p, 4));
  h.compression = printable_label(p + 4, 4);
  h.allocated_size = read_be(p + 8, 8);
  h.used_size = read_be(p + 16, 8);
  h.data_size = read_be(p + 24, 8);
  std::memcpy(h.checksum.data(), p + 32, 16);
  const std::size_t data_start = pos + 6 + h.header_size;
  const std::uint64_t remaining = n - data_start;
  std::size_t next;
  if (h.streamed()) {
    if (!h.compression.empty()) throw IoError(where + ": a streamed block cannot be compressed");
    h.allocated_size = h.used_size = h.data_size = remaining;
    next = n;
  } else {
    if (h.used_size > h.allocated_size)
      throw IoError(where + ": used size " + std::to_string(h.used_size) +
                    " exceeds allocated size " + std::to_string(h.allocated_size));
    if (h.allocated_size > remaining)
      throw IoError(where + ": the block claims " + std::to_string(h.allocated_size) +
                    " bytes but only " + std::to_string(remaining) + " remain (truncated file?)");
    next = data_start + h.allocated_size;
  }
  const std::uint8_t* data = bytes_.data() + data_start;
  std::vector<std::uint8_t> decoded;
  if (h.compression.empty()) {
    if (!h.streamed() && h.data_size != h.used_size)
      throw IoError(where + ": uncompressed block with data size " + std::to_string(h.data_size) +
                    " != used size " + std::to_string(h.used_size));
  } else if (h.compression == "zlib") {
    // zlib cannot expand data more than ~1032 times; larger claims are corrupt headers.
    if (h.data_size / 1032 > h.used_size + 64)
      throw IoError(where + ": data size " + std::to_string(h.data_size) + " is impossible for " +
                    std::to_string(h.used_size) + " bytes of zlib data");
    decoded = inflate_block(data, h.used_size, h.data_size, where);
  } else {
    throw IoError(where + ": compression '" + h.compression +
                  "' is not supported (only uncompressed and zlib blocks are read)");
  }
  // asdf's checksum is the MD5 of the decompressed data.
  if (options.validate_checksums &&
      std::any_of(h.checksum.begin(), h.checksum.end(), [](std::uint8_t c) { return c != 0; })) {
    const bool z = !h.compression.empty();
    if (md5(z ? decoded.data() : data, z ? decoded.size() : h.used_size) != h.checksum)
      throw IoError(where + ": MD5 checksum mismatch");
  }
  headers_.push_back(h);
  decompressed_.push_back(std::move(decoded));
  return next;
}

const BlockHeader& AsdfFile::block_header(std::size_t i) const {
  if (i >= headers_.size())
    throw IoError(origin_ + ": block " + std::to_string(i) + " does not exist (the file has " +
                  std::to_string(headers_.size()) + " blocks)");
  return headers_[i];
}

std::span<const std::uint8_t> AsdfFile::block_data(std::size_t i) const {
  const BlockHeader& h = block_header(i);
  if (!h.compression.empty()) return decompressed_[i];
  return {bytes_.data() + h.offset + 6 + h.header_size, static_cast<std::size_t>(h.used_size)};
}

NdArrayInfo AsdfFile::resolve(const Json& node) const {
  NdArrayInfo info = describe_ndarray(node);
  if (!info.shape.empty() && info.shape[0] < 0) {
    if (info.source != ArraySource::kBlock)
      throw IoError(origin_ + ": ndarray: '*' in shape needs a block source");
    std::int64_t idx =
        info.block < 0 ? info.block + static_cast<std::int64_t>(num_blocks()) : info.block;
    if (idx < 0 || static_cast<std::size_t>(idx) >= num_blocks())
      throw IoError(origin_ + ": ndarray source " + std::to_string(info.block) +
                    " refers to a missing block");
    const std::size_t size = block_data(static_cast<std::size_t>(idx)).size();
    NdArrayInfo row;
    row.datatype = info.datatype;
    row.shape.assign(info.shape.begin() + 1, info.shape.end());
    std::int64_t stride =
        info.strides.empty() ? static_cast<std::int64_t>(row.nbytes()) : info.strides[0];
    if (stride <= 0)
      throw IoError(origin_ + ": ndarray: cannot resolve '*' with stride " +
                    std::to_string(stride));
    const std::uint64_t avail =
        size > static_cast<std::uint64_t>(info.offset) ? size - info.offset : 0;
    info.shape[0] = static_cast<std::int64_t>(avail / static_cast<std::uint64_t>(stride));
  }
  return info;
}

void AsdfFile::read_array(const NdArrayInfo& info, std::span<std::byte> out) const {
  const std::size_t nbytes = info.nbytes();
  if (out.size() != nbytes)
    throw IoError(origin_ + ": read_array: the buffer has " + std::to_string(out.size()) +
                  " bytes, the array needs " + std::to_string(nbytes));
  const std::size_t item = info.datatype.itemsize;
  switch (info.source) {
    case ArraySource::kExternal:
      throw IoError(origin_ + ": the array data is in the external source '" + info.external +
                    "' (for 'fits:' sources read the FITS HDU)");
    case ArraySource::kInline: {
      if (!info.fields.empty())
        throw IoError(origin_ + ": inline data with a structured datatype is not supported");
      if (count_leaves(info.inline_data, info.num_elements()) != info.num_elements())
        throw IoError(origin_ + ": ndarray: inline data does not match the shape");
      std::byte* dst = out.data();
      fill_inline(info.inline_data, info, 0, dst);
      return;
    }
    case ArraySource::kBlock:
      break;
  }
  std::int64_t idx =
      info.block < 0 ? info.block + static_cast<std::int64_t>(num_blocks()) : info.block;
  if (idx < 0 || static_cast<std::size_t>(idx) >= num_blocks())
    throw IoError(origin_ + ": ndarray source " + std::to_string(info.block) +
                  " refers to a missing block (the file has " + std::to_string(num_blocks()) +
                  " blocks)");
  auto data = block_data(static_cast<std::size_t>(idx));
  const std::uint64_t offset = static_cast<std::uint64_t>(info.offset);
  if (nbytes == 0) return;
  if (info.strides.empty()) {
    if (offset > data.size() || data.size() - offset < nbytes)
      throw IoError(origin_ + ": ndarray needs " + std::to_string(nbytes) + " bytes at offset " +
                    std::to_string(offset) + " but block " + std::to_string(idx) + " has " +
                    std::to_string(data.size()));
    std::memcpy(out.data(), data.data() + offset, nbytes);
  } else {
    // Strided gather: check the lowest and highest byte touched first.
    __int128 lo = static_cast<__int128>(offset), hi = static_cast<__int128>(offset);
    for (std::size_t d = 0; d < info.shape.size(); ++d) {
      __int128 span = static_cast<__int128>(info.shape[d] - 1) * info.strides[d];
      if (span < 0)
        lo += span;
      else
        hi += span;
    }
    if (lo < 0 || hi + static_cast<__int128>(item) > static_cast<__int128>(data.size()))
      throw IoError(origin_ + ": ndarray offset/strides reach outside block " +
                    std::to_string(idx));
    const std::size_t ndim = info.shape.size();
    std::vector<std::int64_t> index(ndim, 0);
    std::byte* dst = out.data();
    const std::size_t count = info.num_elements();
    for (std::size_t e = 0; e < count; ++e) {
      std::int64_t at = info.offset;
      for (std::size_t d = 0; d < ndim; ++d) at += index[d] * info.strides[d];
      std::memcpy(dst, data.data() + at, item);
      dst += item;
      for (std::size_t d = ndim; d-- > 0;) {
        if (++index[d] < info.shape[d]) break;
        index[d] = 0;
      }
    }
  }
  to_native_byte_order(info, out);
}

std::vector<std::byte> AsdfFile::read_array(const Json& node) const {
  NdArrayInfo info = resolve(node);
  // Refuse impossible sizes before allocating: the data must exist in the block or inline.
  const std::size_t nbytes = info.nbytes();
  if (info.source == ArraySource::kBlock && info.strides.empty()) {
    std::int64_t idx =
        info.block < 0 ? info.block + static_cast<std::int64_t>(num_blocks()) : info.block;
    if (idx >= 0 && static_cast<std::size_t>(idx) < num_blocks() &&
        block_data(static_cast<std::size_t>(idx)).size() < nbytes)
      throw IoError(origin_ + ": ndarray needs " + std::to_string(nbytes) + " bytes but block " +
                    std::to_string(idx) + " has " +
                    std::to_string(block_data(static_cast<std::size_t>(idx)).size()));
  } else if (info.source == ArraySource::kInline) {
    if (count_leaves(info.inline_data, info.num_elements()) != info.num_elements())
      throw IoError(origin_ + ": ndarray: inline data does not match the shape");
  } else if (info.source == ArraySource::kBlock) {
    // Strided (possibly overlapping) views: at most one element per byte of the block.
    std::int64_t idx =
        info.block < 0 ? info.block + static_cast<std::int64_t>(num_blocks()) : info.block;
    if (idx >= 0 && static_cast<std::size_t>(idx) < num_blocks() &&
        info.num_elements() > block_data(static_cast<std::size_t>(idx)).size())
      throw IoError(origin_ + ": strided ndarray has more elements than block " +
                    std::to_string(idx) + " has bytes");
  }
  std::vector<std::byte> out(nbytes);
  read_array(info, out);
  return out;
}

}  // namespace stpipe::asdf
