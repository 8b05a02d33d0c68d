// ASDF ndarray nodes: datatype names, describing a node, building nodes, byte swapping.
#include "stpipe/asdf/ndarray.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <limits>

#include "stpipe/util/error.h"

namespace stpipe::asdf {
namespace {

struct NamedType {
  const char* name;
  ScalarKind kind;
  std::size_t size;
};

constexpr NamedType kTypes[] = {
    {"int8", ScalarKind::kInt, 1},
    {"uint8", ScalarKind::kUint, 1},
    {"int16", ScalarKind::kInt, 2},
    {"uint16", ScalarKind::kUint, 2},
    {"int32", ScalarKind::kInt, 4},
    {"uint32", ScalarKind::kUint, 4},
    {"int64", ScalarKind::kInt, 8},
    {"uint64", ScalarKind::kUint, 8},
    {"float16", ScalarKind::kFloat, 2},
    {"float32", ScalarKind::kFloat, 4},
    {"float64", ScalarKind::kFloat, 8},
    {"complex64", ScalarKind::kComplex, 8},
    {"complex128", ScalarKind::kComplex, 16},
    {"bool8", ScalarKind::kBool, 1},
};

constexpr std::int64_t kMaxDim = std::int64_t{1} << 48;

ByteOrder parse_byteorder(const Json& v, const char* what) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "big") return ByteOrder::kBig;
    if (s == "little") return ByteOrder::kLittle;
  }
  throw IoError(std::string("ndarray: ") + what + " must be 'big' or 'little', got " + to_text(v));
}

std::int64_t get_int(const Json& v, const char* what) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxDim))
      throw IoError(std::string("ndarray: ") + what + " is too large: " + to_text(v));
    return v.get<std::int64_t>();
  }
  throw IoError(std::string("ndarray: ") + what + " must be an integer, got " + to_text(v));
}

std::vector<std::int64_t> parse_shape(const Json& v, bool allow_star) {
  if (!v.is_array()) throw IoError("ndarray: shape must be a list, got " + to_text(v));
  if (v.size() > 32) throw IoError("ndarray: shape has more than 32 dimensions");
  std::vector<std::int64_t> shape;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const Json& d = v[i];
    if (allow_star && i == 0 && d.is_string() && d.get_ref<const std::string&>() == "*") {
      shape.push_back(-1);
      continue;
    }
    std::int64_t n = get_int(d, "a shape entry");
    if (n < 0 || n > kMaxDim) throw IoError("ndarray: invalid shape entry " + to_text(d));
    shape.push_back(n);
  }
  return shape;
}

std::size_t checked_product(const std::vector<std::int64_t>& shape, std::size_t start = 1) {
  unsigned __int128 n = start;
  for (auto d : shape) {
    if (d < 0) throw IoError("ndarray: the shape has a '*' entry whose length is not known");
    n *= static_cast<unsigned __int128>(d);
    if (n > (static_cast<unsigned __int128>(1) << 62))
      throw IoError("ndarray: the array is too large");
  }
  return static_cast<std::size_t>(n);
}

DataType parse_datatype(const Json& v, ByteOrder byteorder, std::vector<Field>* fields, int depth);

DataType parse_simple_datatype(const Json& v) {
  if (v.is_string()) return DataType::from_name(v.get_ref<const std::string&>());
  if (v.is_array() && v.size() == 2 && v[0].is_string() && v[1].is_number_integer()) {
    const auto& kind = v[0].get_ref<const std::string&>();
    std::int64_t n = v[1].get<std::int64_t>();
    if (n < 0 || n > (std::int64_t{1} << 30))
      throw IoError("ndarray: invalid string length " + to_text(v));
    if (kind == "ascii")
      return DataType::string_type(ScalarKind::kAscii, static_cast<std::size_t>(n));
    if (kind == "ucs4")
      return DataType::string_type(ScalarKind::kUcs4, static_cast<std::size_t>(n));
  }
  throw IoError("ndarray: unsupported datatype " + to_text(v, 200));
}

DataType parse_datatype(const Json& v, ByteOrder byteorder, std::vector<Field>* fields, int depth) {
  bool structured = v.is_array() && !v.empty() && v[0].is_object();
  if (!structured) return parse_simple_datatype(v);
  if (depth > 0) throw IoError("ndarray: nested structured datatypes are not supported");
  std::size_t offset = 0;
  for (const auto& f : v) {
    if (!f.is_object() || !f.contains("datatype"))
      throw IoError("ndarray: a structured datatype field must be a mapping with 'datatype'");
    Field field;
    if (f.contains("name")) {
      if (!f["name"].is_string()) throw IoError("ndarray: a field name must be a string");
      field.name = f["name"].get<std::string>();
    }
    field.byteorder =
        f.contains("byteorder") ? parse_byteorder(f["byteorder"], "field byteorder") : byteorder;
    std::vector<Field> nested;
    field.type = parse_datatype(f["datatype"], field.byteorder, &nested, depth + 1);
    if (f.contains("shape")) field.shape = parse_shape(f["shape"], false);
    field.offset = offset;
    offset += field.size();
    if (offset > (std::size_t{1} << 40)) throw IoError("ndarray: structured datatype too large");
    fields->push_back(std::move(field));
  }
  DataType t;
  t.name = "structured";
  t.kind = ScalarKind::kStructured;
  t.itemsize = offset;
  return t;
}

void swap_units(std::byte* p, std::size_t nbytes, std::size_t unit) {
  if (unit <= 1) return;
  for (std::size_t i = 0; i + unit <= nbytes; i += unit) std::reverse(p + i, p + i + unit);
}

}  // namespace

DataType DataType::from_name(std::string_view name) {
  for (const auto& t : kTypes) {
    if (name == t.name) {
      DataType d;
      d.name = t.name;
      d.kind = t.kind;
      d.itemsize = t.size;
      return d;
    }
  }
  throw IoError("ndarray: unknown datatype '" + std::string(name.substr(0, 100)) + "'");
}

DataType DataType::string_type(ScalarKind kind, std::size_t length) {
  DataType d;
  d.kind = kind;
  d.length = length;
  if (kind == ScalarKind::kAscii) {
    d.name = "ascii";
    d.itemsize = length;
  } else if (kind == ScalarKind::kUcs4) {
    d.name = "ucs4";
    d.itemsize = 4 * length;
  } else {
    throw IoError("DataType::string_type: kind must be ascii or ucs4");
  }
  return d;
}

std::size_t DataType::swap_unit() const {
  switch (kind) {
    case ScalarKind::kComplex:
      return itemsize / 2;
    case ScalarKind::kUcs4:
      return 4;
    case ScalarKind::kAscii:
    case ScalarKind::kBool:
    case ScalarKind::kStructured:
      return 1;
    default:
      return itemsize;
  }
}

Json DataType::to_json() const {
  if (kind == ScalarKind::kAscii || kind == ScalarKind::kUcs4)
    return Json::array({name, static_cast<std::uint64_t>(length)});
  if (kind == ScalarKind::kStructured)
    throw IoError("DataType::to_json: structured datatypes are written field by field");
  return Json(name);
}

std::size_t Field::size() const { return checked_product(shape, type.itemsize); }

std::size_t NdArrayInfo::num_elements() const { return checked_product(shape); }

std::size_t NdArrayInfo::nbytes() const { return checked_product(shape, datatype.itemsize); }

bool is_ndarray(const Json& node) { return has_tag_prefix(node, "core/ndarray-"); }

NdArrayInfo describe_ndarray(const Json& node) {
  if (!is_ndarray(node))
    throw IoError("not an ndarray node (no core/ndarray tag): " + to_text(node, 200));
  NdArrayInfo info;
  info.tag = *tag_of(node);
  const Json& body = untagged(node);
  if (body.is_array()) {  // !core/ndarray [1, 2, 3]: the whole node is inline data
    info.source = ArraySource::kInline;
    info.inline_data = body;
  } else {
    bool has_source = body.contains("source") && !body["source"].is_null();
    bool has_data = body.contains("data") && !body["data"].is_null();
    if (has_source && has_data) throw IoError("ndarray: both 'source' and 'data' are given");
    if (has_data) {
      info.source = ArraySource::kInline;
      info.inline_data = body["data"];
    } else if (has_source) {
      const Json& src = body["source"];
      if (src.is_number_integer()) {
        info.source = ArraySource::kBlock;
        info.block = get_int(src, "source");
      } else if (src.is_string()) {
        info.source = ArraySource::kExternal;
        info.external = src.get<std::string>();
      } else {
        throw IoError("ndarray: source must be an integer or a string, got " + to_text(src));
      }
    } else {
      throw IoError("ndarray: the node has neither 'source' nor 'data'");
    }
  }
  if (info.source == ArraySource::kInline) {
    info.byteorder = ByteOrder::kLittle;
  } else {
    if (!body.contains("byteorder")) throw IoError("ndarray: 'byteorder' is missing");
    info.byteorder = parse_byteorder(body["byteorder"], "byteorder");
  }
  if (body.is_object() && body.contains("datatype")) {
    info.datatype = parse_datatype(body["datatype"], info.byteorder, &info.fields, 0);
  } else if (info.source == ArraySource::kInline) {
    // Like numpy on nested lists: any float -> float64, else any int -> int64, else bool8.
    bool any_float = false, any_int = false;
    std::vector<const Json*> stack{&info.inline_data};
    std::size_t visited = 0;
    while (!stack.empty()) {
      const Json* j = stack.back();
      stack.pop_back();
      if (++visited > (std::size_t{1} << 26)) throw IoError("ndarray: inline data too large");
      if (j->is_array()) {
        for (const auto& c : *j) stack.push_back(&c);
      } else if (j->is_number_float()) {
        any_float = true;
      } else if (j->is_number()) {
        any_int = true;
      }
    }
    info.datatype = DataType::from_name(any_float ? "float64" : any_int ? "int64" : "bool8");
  } else {
    throw IoError("ndarray: 'datatype' is missing");
  }
  if (body.is_object() && body.contains("shape")) {
    info.shape = parse_shape(body["shape"], info.source == ArraySource::kBlock);
  } else if (info.source == ArraySource::kInline) {
    const Json* j = &info.inline_data;
    while (j->is_array()) {
      if (info.shape.size() > 32) throw IoError("ndarray: inline data nested too deeply");
      info.shape.push_back(static_cast<std::int64_t>(j->size()));
      if (j->empty()) break;
      j = &(*j)[0];
    }
  } else {
    throw IoError("ndarray: 'shape' is missing");
  }
  if (body.is_object() && body.contains("offset")) {
    info.offset = get_int(body["offset"], "offset");
    if (info.offset < 0) throw IoError("ndarray: negative offset");
  }
  if (body.is_object() && body.contains("strides")) {
    const Json& s = body["strides"];
    if (!s.is_array() || s.size() != info.shape.size())
      throw IoError("ndarray: strides must be a list with one entry per dimension");
    for (const auto& x : s) {
      std::int64_t v = get_int(x, "a stride");
      if (v == 0 || v > kMaxDim || v < -kMaxDim)
        throw IoError("ndarray: invalid stride " + to_text(x));
      info.strides.push_back(v);
    }
  }
  return info;
}

std::optional<FitsSource> parse_fits_source(std::string_view source) {
  if (source.rfind("fits:", 0) != 0) return std::nullopt;
  std::string_view rest = source.substr(5);
  FitsSource out;
  std::string_view num = rest;
  std::size_t comma = rest.rfind(',');
  if (comma != std::string_view::npos) {
    out.name = std::string(rest.substr(0, comma));
    num = rest.substr(comma + 1);
    if (out.name.empty()) return std::nullopt;
    for (char c : out.name)
      if (c < ' ' || c > '~') return std::nullopt;
  }
  if (num.empty()) return std::nullopt;
  int value = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), value);
  if (ec != std::errc() || p != num.data() + num.size() || value < 0 || num[0] == '+')
    return std::nullopt;
  if (out.name.empty())
    out.index = value;
  else
    out.ver = value;
  return out;
}

Json make_ndarray_node(std::int64_t block, const DataType& type, ByteOrder byteorder,
                       const std::vector<std::int64_t>& shape, std::string_view version) {
  Json body = Json::object();
  body["source"] = block;
  body["datatype"] = type.to_json();
  body["byteorder"] = byteorder == ByteOrder::kBig ? "big" : "little";
  body["shape"] = shape;
  return make_tagged("core/ndarray-" + std::string(version), std::move(body));
}

Json make_fits_ndarray_node(std::string_view name, int ver, const DataType& type,
                            const std::vector<std::int64_t>& shape, std::string_view version) {
  Json body = Json::object();
  body["source"] = "fits:" + std::string(name) + "," + std::to_string(ver);
  body["datatype"] = type.to_json();
  body["byteorder"] = "big";
  body["shape"] = shape;
  return make_tagged("core/ndarray-" + std::string(version), std::move(body));
}

std::size_t pack_fields(std::vector<Field>& fields) {
  std::size_t offset = 0;
  for (auto& f : fields) {
    f.offset = offset;
    offset += f.size();
  }
  return offset;
}

Json fields_to_json(const std::vector<Field>& fields) {
  Json list = Json::array();
  for (const auto& f : fields) {
    Json e = Json::object();
    e["name"] = f.name;
    e["datatype"] = f.type.to_json();
    e["byteorder"] = f.byteorder == ByteOrder::kBig ? "big" : "little";
    if (!f.shape.empty()) e["shape"] = f.shape;
    list.push_back(std::move(e));
  }
  return list;
}

Json make_records_node(std::int64_t block, const std::vector<Field>& fields, std::int64_t rows,
                       ByteOrder byteorder, std::string_view version) {
  Json body = Json::object();
  body["source"] = block;
  body["datatype"] = fields_to_json(fields);
  body["byteorder"] = byteorder == ByteOrder::kBig ? "big" : "little";
  body["shape"] = std::vector<std::int64_t>{rows};
  return make_tagged("core/ndarray-" + std::string(version), std::move(body));
}

Json make_fits_records_node(std::string_view name, int ver, std::vector<Field> fields,
                            std::int64_t rows, std::string_view version) {
  for (auto& f : fields) f.byteorder = ByteOrder::kBig;
  Json body = Json::object();
  body["source"] = "fits:" + std::string(name) + "," + std::to_string(ver);
  body["datatype"] = fields_to_json(fields);
  body["byteorder"] = "big";
  body["shape"] = std::vector<std::int64_t>{rows};
  return make_tagged("core/ndarray-" + std::string(version), std::move(body));
}

void byteswap(const DataType& type, std::span<std::byte> data) {
  swap_units(data.data(), data.size(), type.swap_unit());
}

void to_native_byte_order(const NdArrayInfo& info, std::span<std::byte> data) {
  static_assert(std::endian::native == std::endian::little,
                "stpipe-cpp assumes a little-endian host");
  const std::size_t item = info.datatype.itemsize;
  if (item == 0) return;
  if (data.size() % item != 0)
    throw IoError("ndarray: " + std::to_string(data.size()) + " bytes is not a whole number of " +
                  std::to_string(item) + "-byte elements");
  if (info.fields.empty()) {
    if (info.byteorder == ByteOrder::kBig)
      swap_units(data.data(), data.size(), info.datatype.swap_unit());
    return;
  }
  for (std::size_t rec = 0; rec < data.size(); rec += item) {
    for (const auto& f : info.fields) {
      if (f.byteorder == ByteOrder::kBig)
        swap_units(data.data() + rec + f.offset, f.size(), f.type.swap_unit());
    }
  }
}

}  // namespace stpipe::asdf
