// Interop with Python asdf, driven by tests/python/test_asdf_interop.py (skipped when run alone).
//
// Order: the pytest writes py_*.asdf with Python asdf into $STPIPE_ASDF_INTEROP_DIR, then runs
// `test_asdf --gtest_filter=Interop.*` with that variable set. Interop.WriteFilesForPython writes
// cpp_*.asdf there (contents fixed below and mirrored in the pytest); Interop.DumpPythonFiles
// reads every py_*.asdf and writes <name>.cpp.json, our view of it (arrays as
// {"__array__": {dtype, byteorder, shape, values}}, non-finite floats as {"__float__": "inf"}),
// which the pytest compares with Python's own view of the same file.
#include <cmath>
#include <complex>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "stpipe/asdf/asdf_file.h"
#include "stpipe/asdf/asdf_writer.h"
#include "stpipe/asdf/step_config.h"
#include "test_support.h"

using namespace stpipe::asdf;
namespace fs = std::filesystem;

namespace {

fs::path interop_dir() {
  const char* d = std::getenv("STPIPE_ASDF_INTEROP_DIR");
  return d ? fs::path(d) : fs::path();
}

template <typename T>
std::span<const std::byte> bytes(const std::vector<T>& v) {
  return std::as_bytes(std::span(v));
}

Json float_value(double d) {
  if (std::isnan(d)) return Json{{"__float__", "nan"}};
  if (std::isinf(d)) return Json{{"__float__", d > 0 ? "inf" : "-inf"}};
  return Json(d);
}

template <typename T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

Json element(const DataType& t, const std::byte* p) {
  switch (t.kind) {
    case ScalarKind::kBool:
      return Json(load<std::uint8_t>(p) != 0);
    case ScalarKind::kInt:
      switch (t.itemsize) {
        case 1:
          return Json(load<std::int8_t>(p));
        case 2:
          return Json(load<std::int16_t>(p));
        case 4:
          return Json(load<std::int32_t>(p));
        default:
          return Json(load<std::int64_t>(p));
      }
    case ScalarKind::kUint:
      switch (t.itemsize) {
        case 1:
          return Json(load<std::uint8_t>(p));
        case 2:
          return Json(load<std::uint16_t>(p));
        case 4:
          return Json(load<std::uint32_t>(p));
        default:
          return Json(load<std::uint64_t>(p));
      }
    case ScalarKind::kFloat:
      if (t.itemsize == 4) return float_value(load<float>(p));
      return float_value(load<double>(p));
    case ScalarKind::kComplex:
      if (t.itemsize == 8)
        return Json::array({float_value(load<float>(p)), float_value(load<float>(p + 4))});
      return Json::array({float_value(load<double>(p)), float_value(load<double>(p + 8))});
    case ScalarKind::kAscii: {
      std::string s(reinterpret_cast<const char*>(p), t.itemsize);
      return Json(s.substr(0, s.find('\0')));
    }
    case ScalarKind::kUcs4: {
      std::string s;
      for (std::size_t i = 0; i < t.length; ++i) {
        char32_t c = load<char32_t>(p + 4 * i);
        if (c == 0) break;
        if (c < 0x80) {
          s += static_cast<char>(c);
        } else if (c < 0x800) {
          s += static_cast<char>(0xC0 | (c >> 6));
          s += static_cast<char>(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
          s += static_cast<char>(0xE0 | (c >> 12));
          s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
          s += static_cast<char>(0x80 | (c & 0x3F));
        } else {
          s += static_cast<char>(0xF0 | (c >> 18));
          s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
          s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
          s += static_cast<char>(0x80 | (c & 0x3F));
        }
      }
      return Json(s);
    }
    default:
      return Json(nullptr);
  }
}

// Our canonical view of a tree: ndarrays expanded to their values, special floats spelled out.
Json canonical(const AsdfFile& f, const Json& node) {
  if (is_ndarray(node)) {
    NdArrayInfo info = f.resolve(node);
    std::vector<std::byte> data = f.read_array(node);
    Json values = Json::array();
    for (std::size_t i = 0; i < info.num_elements(); ++i) {
      const std::byte* p = data.data() + i * info.datatype.itemsize;
      if (info.fields.empty()) {
        values.push_back(element(info.datatype, p));
      } else {
        Json rec = Json::array();
        for (const auto& fld : info.fields) rec.push_back(element(fld.type, p + fld.offset));
        values.push_back(rec);
      }
    }
    return Json{{"__array__",
                 {{"dtype", info.datatype.name},
                  {"byteorder", info.byteorder == ByteOrder::kBig ? "big" : "little"},
                  {"shape", info.shape},
                  {"values", values}}}};
  }
  if (node.is_object()) {
    Json out = Json::object();
    for (auto it = node.begin(); it != node.end(); ++it) out[it.key()] = canonical(f, it.value());
    return out;
  }
  if (node.is_array()) {
    Json out = Json::array();
    for (const auto& v : node) out.push_back(canonical(f, v));
    return out;
  }
  if (node.is_number_float()) return float_value(node.get<double>());
  return node;
}

}  // namespace

TEST(Interop, WriteFilesForPython) {
  const fs::path dir = interop_dir();
  if (dir.empty()) GTEST_SKIP() << "STPIPE_ASDF_INTEROP_DIR not set (run by test_asdf_interop.py)";

  // cpp_arrays.asdf: every supported dtype, both byte orders, zlib and plain blocks.
  AsdfWriter w;
  Json tree = Json::object();
  std::vector<float> f32(6);
  for (int i = 0; i < 6; ++i) f32[i] = static_cast<float>(i) * 0.5f - 1.0f;
  tree["f32"] = w.add_array(DataType::from_name("float32"), {2, 3}, bytes(f32));
  std::vector<std::int16_t> i16 = {-32768, -1, 0, 32767};
  tree["i16be"] = w.add_array(DataType::from_name("int16"), {4}, bytes(i16), ByteOrder::kBig);
  std::vector<std::uint8_t> u8(12);
  for (int i = 0; i < 12; ++i) u8[i] = static_cast<std::uint8_t>(i * 20);
  tree["u8z"] =
      w.add_array(DataType::from_name("uint8"), {3, 4}, bytes(u8), ByteOrder::kLittle, "zlib");
  std::vector<double> f64 = {0.1, -1e300, 5e-324, std::numeric_limits<double>::infinity(), -0.0};
  tree["f64z_be"] =
      w.add_array(DataType::from_name("float64"), {5}, bytes(f64), ByteOrder::kBig, "zlib");
  std::vector<std::uint32_t> u32 = {0, 1, 4000000000u, 123456789u};
  tree["u32"] = w.add_array(DataType::from_name("uint32"), {2, 2}, bytes(u32));
  std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), 0, 1234567890123};
  tree["i64be"] = w.add_array(DataType::from_name("int64"), {3}, bytes(i64), ByteOrder::kBig);
  std::vector<std::uint8_t> b8 = {1, 0, 0, 1};
  tree["bool"] = w.add_array(DataType::from_name("bool8"), {4}, bytes(b8));
  std::vector<std::complex<float>> c64 = {{1.0f, -2.0f}, {0.5f, 0.25f}};
  tree["c64be"] = w.add_array(DataType::from_name("complex64"), {2}, bytes(c64), ByteOrder::kBig);
  std::string ascii = "abcxy\0";
  tree["ascii"] = w.add_array(DataType::string_type(ScalarKind::kAscii, 3), {2},
                              std::as_bytes(std::span(ascii.data(), 6)));
  tree["meta"] = Json{{"model_type", "ImageModel"},
                      {"int", 42},
                      {"neg", -7},
                      {"float", 2.0},
                      {"tiny", 1e-5},
                      {"huge", 1e20},
                      {"nan", std::numeric_limits<double>::quiet_NaN()},
                      {"ninf", -std::numeric_limits<double>::infinity()},
                      {"yes_string", "yes"},
                      {"int_string", "01019"},
                      {"float_string", "1.5"},
                      {"date_string", "2016-01-01"},
                      {"empty", ""},
                      {"null", nullptr},
                      {"true", true},
                      {"colon", "a: b"},
                      {"unicode", "caf\xc3\xa9 \xe2\x82\xac"},
                      {"multiline", "line1\nline2"},
                      {"source_like", "fits:SCI,1"},
                      {"list", Json::array({1, 2.5, "x", nullptr, Json::array({true})})}};
  // Strings that need quoting or escaping; the pytest holds the same list (AWKWARD_STRINGS).
  tree["awkward"] = Json::array({"",
                                 " lead",
                                 "trail ",
                                 "yes",
                                 "NO",
                                 "~",
                                 "null",
                                 "0x1F",
                                 "017",
                                 "1:30",
                                 ".inf",
                                 "-5",
                                 "- dash",
                                 "? q",
                                 "a #b",
                                 "colon: x",
                                 "[x]",
                                 "{y}",
                                 "*star",
                                 "&amp",
                                 "!bang",
                                 "%pct",
                                 "@at",
                                 "`tick",
                                 "\"dq\"",
                                 "back\\slash",
                                 "tab\there",
                                 "\x01\x7f",
                                 "caf\xc3\xa9",
                                 "\xe2\x82\xac",
                                 "=",
                                 "<<",
                                 "2001-12-14t21:59:43.10-05:00",
                                 "1.0e+3",
                                 "crds://jwst_nircam_mask_0033.fits",
                                 "a,b",
                                 "x:y",
                                 "...",
                                 "---",
                                 "#",
                                 "'",
                                 "\xc2\x85nel",
                                 "\xef\xbf\xbe",
                                 "\xf0\x9f\x98\x80",
                                 "line\r\nbreak"});
  tree["awkward_keys"] = Json{{"1", 1}, {"true", 2}, {"a: b", 3}, {"", 4}, {"-", 5}, {"x y", 6}};
  w.write(dir / "cpp_arrays.asdf", tree);

  // cpp_fits_form.asdf: the ASDF-extension form (arrays point at FITS HDUs, no blocks).
  AsdfWriter ext;
  Json ftree = Json::object();
  ftree["_fits_hash"] = "0123abcd";
  ftree["data"] = make_fits_ndarray_node("SCI", 1, DataType::from_name("float32"), {2, 3, 8, 10});
  ftree["meta"] = Json{{"model_type", "RampModel"}};
  std::ofstream(dir / "cpp_fits_form.asdf", std::ios::binary) << ext.to_bytes(ftree);

  // cpp_step_config.asdf: a parameter file as --save-parameters writes it.
  Json c = Json::object();
  c["class"] = "jwst.pipeline.Detector1Pipeline";
  c["name"] = "Detector1Pipeline";
  c["parameters"] = Json{{"output_dir", nullptr},
                         {"save_results", true},
                         {"suffix", nullptr},
                         {"pre_hooks", Json::array()},
                         {"rejection_threshold", 4.0}};
  c["steps"] = Json::array({Json{{"class", "jwst.dq_init.dq_init_step.DQInitStep"},
                                 {"name", "dq_init"},
                                 {"parameters", Json{{"skip", false}, {"suffix", "dqinit"}}}}});
  c["meta"] = step_config_metadata_template("jwst.pipeline.Detector1Pipeline");
  write_step_config(dir / "cpp_step_config.asdf", c);
  SUCCEED();
}

TEST(Interop, DumpPythonFiles) {
  const fs::path dir = interop_dir();
  if (dir.empty()) GTEST_SKIP() << "STPIPE_ASDF_INTEROP_DIR not set (run by test_asdf_interop.py)";
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("py_", 0) != 0 || entry.path().extension() != ".asdf") continue;
    SCOPED_TRACE(name);
    ReadOptions strict;
    strict.validate_checksums = true;
    AsdfFile f = AsdfFile::open(entry.path(), strict);
    Json view = canonical(f, f.tree());
    view.erase("asdf_library");
    view.erase("history");
    std::ofstream(dir / (name + ".cpp.json")) << view.dump(1);
    ++n;
  }
  EXPECT_GT(n, 0) << "no py_*.asdf files in " << dir;
}
