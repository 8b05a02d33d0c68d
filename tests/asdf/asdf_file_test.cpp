// Tests for reading ASDF files: real stdatamodels/jwst files, a zlib file written by Python asdf,
// blocks, the block index, arrays, and IoError on malformed input.
#include "stpipe/asdf/asdf_file.h"

#include <cstring>
#include <fstream>
#include <map>

#include "stpipe/asdf/asdf_writer.h"
#include "stpipe/asdf/yaml.h"
#include "stpipe/util/error.h"
#include "test_support.h"

using namespace stpipe::asdf;
using stpipe::IoError;

namespace {

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

// The bytes of the ASDF_METADATA column of the FITS HDU named ASDF (a minimal FITS walk).
std::vector<std::uint8_t> fits_asdf_extension(const std::filesystem::path& p) {
  auto b = read_bytes(p);
  std::size_t pos = 0;
  while (pos + 2880 <= b.size()) {
    std::map<std::string, std::string> cards;
    std::size_t h = pos;
    bool end = false;
    while (!end && h + 80 <= b.size()) {
      std::string card(reinterpret_cast<const char*>(&b[h]), 80);
      h += 80;
      std::string key = card.substr(0, 8);
      key.erase(key.find_last_not_of(' ') + 1);
      if (key == "END") end = true;
      if (card.size() > 10 && card[8] == '=') {
        std::string v = card.substr(10);
        v.erase(0, v.find_first_not_of(' '));
        if (!v.empty() && v[0] == '\'') {
          v = v.substr(1, v.find('\'', 1) - 1);
        } else {
          v = v.substr(0, v.find('/'));
        }
        v.erase(v.find_last_not_of(' ') + 1);
        cards[key] = v;
      }
    }
    std::size_t data_start = (h + 2879) / 2880 * 2880;
    long long nbytes = std::abs(std::stoll(cards["BITPIX"])) / 8;
    long long naxis = std::stoll(cards["NAXIS"]);
    long long n = naxis ? 1 : 0;
    for (long long i = 1; i <= naxis; ++i) n *= std::stoll(cards["NAXIS" + std::to_string(i)]);
    long long pcount = cards.count("PCOUNT") ? std::stoll(cards["PCOUNT"]) : 0;
    if (cards["EXTNAME"] == "ASDF") {
      long long width = std::stoll(cards["NAXIS1"]);
      return {b.begin() + data_start, b.begin() + data_start + width};
    }
    std::size_t size = static_cast<std::size_t>(n * nbytes + pcount);
    pos = data_start + (size + 2879) / 2880 * 2880;
  }
  return {};
}

template <typename T>
std::vector<T> as_vector(const std::vector<std::byte>& b) {
  std::vector<T> out(b.size() / sizeof(T));
  std::memcpy(out.data(), b.data(), out.size() * sizeof(T));
  return out;
}

// Written by Python asdf 2.14.3:
//   asdf.AsdfFile({'a': np.arange(6, dtype='>i2').reshape(2, 3),
//                  'b': np.array([1.5, -2.25, 3e10], dtype='<f8'),
//                  'c': np.arange(10, dtype=np.uint8)}).write_to(p, all_array_compression='zlib')
const char* kPythonZlibHex =
    "234153444620312e302e300a23415344465f5354414e4441524420312e352e300a2559414d4c20312e310a25544147"
    "20"
    "21207461673a73747363692e6564753a617364662f0a2d2d2d2021636f72652f617364662d312e312e300a61736466"
    "5f"
    "6c6962726172793a2021636f72652f736f6674776172652d312e302e30207b617574686f723a205468652041534446"
    "20"
    "446576656c6f706572732c20686f6d65706167653a2027687474703a2f2f6769746875622e636f6d2f617364662d66"
    "6f"
    "726d61742f61736466272c0a20206e616d653a20617364662c2076657273696f6e3a20322e31342e337d0a68697374"
    "6f"
    "72793a0a2020657874656e73696f6e733a0a20202d2021636f72652f657874656e73696f6e5f6d657461646174612d"
    "31"
    "2e302e300a20202020657874656e73696f6e5f636c6173733a20617364662e657874656e73696f6e2e4275696c7469"
    "6e"
    "457874656e73696f6e0a20202020736f6674776172653a2021636f72652f736f6674776172652d312e302e30207b6e"
    "61"
    "6d653a20617364662c2076657273696f6e3a20322e31342e337d0a613a2021636f72652f6e6461727261792d312e30"
    "2e"
    "300a2020736f757263653a20300a202064617461747970653a20696e7431360a2020627974656f726465723a206269"
    "67"
    "0a202073686170653a205b322c20335d0a623a2021636f72652f6e6461727261792d312e302e300a2020736f757263"
    "65"
    "3a20310a202064617461747970653a20666c6f617436340a2020627974656f726465723a206c6974746c650a202073"
    "68"
    "6170653a205b335d0a633a2021636f72652f6e6461727261792d312e302e300a2020736f757263653a20320a202064"
    "61"
    "7461747970653a2075696e74380a2020627974656f726465723a206269670a202073686170653a205b31305d0a2e2e"
    "2e"
    "0ad3424c4b0030000000007a6c696200000000000000140000000000000014000000000000000c84d3e86b42f03094"
    "9b"
    "59336e7a8295cb789c636060606460626066606160050000430010d3424c4b0030000000007a6c6962000000000000"
    "00"
    "19000000000000001900000000000000181addfc96e530659d14c59ca6be463602789c636000811ff6608a81e90090"
    "d8"
    "d0f741da0900257b0485d3424c4b0030000000007a6c69620000000000000012000000000000001200000000000000"
    "0a"
    "c56bd5480f6e5413cb62a0ad9666613a789c6360646266616563e7e0040000af002e234153444620424c4f434b2049"
    "4e"
    "4445580a2559414d4c20312e310a2d2d2d0a2d203637330a2d203734370a2d203832360a2e2e2e0a";

std::vector<std::uint8_t> from_hex(const char* hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; hex[i] && hex[i + 1]; i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  return out;
}

void expect_io_error(std::string_view bytes, const std::string& needle) {
  try {
    AsdfFile::from_bytes(bytes_of(bytes), "bad.asdf");
    ADD_FAILURE() << "no IoError for input containing: " << needle;
  } catch (const IoError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("bad.asdf"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
  }
}

}  // namespace

TEST(AsdfRead, StdatamodelsImageFile) {
  STPIPE_REQUIRE_SHARED_DATA();
  AsdfFile f =
      AsdfFile::open(stpipe::testing::shared_data("stdatamodels/stdatamodels172_image.asdf"));
  EXPECT_EQ(f.asdf_version(), "1.0.0");
  EXPECT_EQ(f.standard_version(), "1.5.0");
  EXPECT_EQ(f.root_tag(), "tag:stsci.edu:asdf/core/asdf-1.1.0");
  std::vector<std::string> keys;
  for (auto it = f.tree().begin(); it != f.tree().end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"asdf_library", "history", "data", "dq", "err", "meta"}));
  const Json& meta = f.tree()["meta"];
  EXPECT_EQ(meta["model_type"], "ImageModel");
  EXPECT_EQ(meta["bunit_data"], "DN/s");
  EXPECT_EQ(meta["date"], "2026-11-23T19:32:55.753");
  EXPECT_EQ(meta["instrument"]["name"], "NIRCAM");
  EXPECT_EQ(tag_of(f.tree()["asdf_library"]), "tag:stsci.edu:asdf/core/software-1.0.0");
  EXPECT_EQ(f.tree()["asdf_library"]["version"], "2.14.3");
  EXPECT_EQ(tag_of(f.tree()["history"]["extensions"][0]),
            "tag:stsci.edu:asdf/core/extension_metadata-1.0.0");

  ASSERT_EQ(f.num_blocks(), 3u);
  EXPECT_EQ(f.block_index(), (std::vector<std::uint64_t>{848, 1222, 1596}));
  EXPECT_EQ(f.block_header(0).offset, 848u);
  EXPECT_EQ(f.block_header(0).used_size, 320u);

  NdArrayInfo data = describe_ndarray(f.tree()["data"]);
  EXPECT_EQ(data.datatype.name, "float32");
  EXPECT_EQ(data.byteorder, ByteOrder::kLittle);
  EXPECT_EQ(data.shape, (std::vector<std::int64_t>{8, 10}));
  EXPECT_EQ(data.source, ArraySource::kBlock);
  EXPECT_EQ(data.block, 0);
  auto values = as_vector<float>(f.read_array(f.tree()["data"]));
  ASSERT_EQ(values.size(), 80u);
  double sum = 0;
  for (float v : values) {
    EXPECT_EQ(v, 1.5f);  // python: model.data.sum() == 120.0, all 1.5
    sum += v;
  }
  EXPECT_EQ(sum, 120.0);
  NdArrayInfo dq = describe_ndarray(f.tree()["dq"]);
  EXPECT_EQ(dq.datatype.name, "uint32");
  EXPECT_EQ(dq.datatype.itemsize, 4u);
  EXPECT_EQ(dq.block, 1);
  auto dqv = as_vector<std::uint32_t>(f.read_array(f.tree()["dq"]));
  EXPECT_EQ(dqv, std::vector<std::uint32_t>(80, 0));

  // Checksums written by asdf verify.
  ReadOptions strict;
  strict.validate_checksums = true;
  EXPECT_NO_THROW(AsdfFile::open(
      stpipe::testing::shared_data("stdatamodels/stdatamodels172_image.asdf"), strict));
}

TEST(AsdfRead, FitsAsdfExtensionOfRampModel) {
  STPIPE_REQUIRE_SHARED_DATA();
  auto bytes =
      fits_asdf_extension(stpipe::testing::shared_data("stdatamodels/stdatamodels172_ramp.fits"));
  ASSERT_EQ(bytes.size(), 1361u);
  AsdfFile f = AsdfFile::from_bytes(bytes, "ramp ASDF extension");
  EXPECT_EQ(f.num_blocks(), 0u);
  EXPECT_EQ(f.tree()["_fits_hash"],
            "7de36cb3f0cc5fdc62132f3da6cd733269136a51a9d1c4950e781dae1aa41d84");
  EXPECT_EQ(f.tree()["meta"]["exposure"]["ngroups"], 3);
  EXPECT_TRUE(f.tree()["meta"]["exposure"]["ngroups"].is_number_integer());
  EXPECT_EQ(f.tree()["meta"]["ref_file"]["mask"]["name"], "crds://jwst_nircam_mask_0033.fits");
  EXPECT_EQ(f.tree()["meta"]["observation"]["date"], "2016-01-01");
  NdArrayInfo sci = describe_ndarray(f.tree()["data"]);
  EXPECT_EQ(sci.source, ArraySource::kExternal);
  EXPECT_EQ(sci.external, "fits:SCI,1");
  EXPECT_EQ(sci.byteorder, ByteOrder::kBig);
  EXPECT_EQ(sci.shape, (std::vector<std::int64_t>{2, 3, 8, 10}));
  auto src = parse_fits_source(sci.external);
  ASSERT_TRUE(src);
  EXPECT_EQ(src->name, "SCI");
  EXPECT_EQ(src->ver, 1);
  NdArrayInfo gdq = describe_ndarray(f.tree()["groupdq"]);
  EXPECT_EQ(gdq.datatype.name, "uint8");
  EXPECT_EQ(describe_ndarray(f.tree()["pixeldq"]).external, "fits:PIXELDQ,1");
  try {
    f.read_array(f.tree()["data"]);
    FAIL() << "external source read";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("fits:SCI,1"), std::string::npos);
  }
}

TEST(AsdfRead, FitsAsdfExtensionOfRawExposureKeepsYamlTypes) {
  STPIPE_REQUIRE_SHARED_DATA();
  auto bytes = fits_asdf_extension(
      stpipe::testing::shared_data("jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits"));
  ASSERT_EQ(bytes.size(), 4373u);
  AsdfFile f = AsdfFile::from_bytes(bytes, "uncal ASDF extension");
  EXPECT_EQ(f.tree()["asdf_library"]["version"], "2.15.1");
  const Json& meta = f.tree()["meta"];
  // Plain scalars resolved the pyyaml way: 01019 is not octal (has a 9) -> string.
  EXPECT_EQ(meta["observation"]["program_number"], "01019");
  EXPECT_EQ(meta["observation"]["visit_id"], "01019001001");
  EXPECT_EQ(meta["observation"]["observation_number"], "001");
  EXPECT_EQ(meta["oss_software_version"], "008.004.002.000");
  EXPECT_EQ(meta["data_processing_software_version"], "2023_3");
  EXPECT_TRUE(meta["exposure"]["nints"].is_number_integer());
  EXPECT_EQ(meta["exposure"]["nints"], 6);
  EXPECT_TRUE(meta["exposure"]["duration"].is_number_float());
  EXPECT_DOUBLE_EQ(meta["exposure"]["duration"].get<double>(), 13.26600000000298);
  EXPECT_EQ(meta["exposure"]["integration_time"].get<double>(), 0.7280000000000001);
  EXPECT_EQ(meta["ephemeris"]["spatial_x_bary"].get<double>(), -123118901.2512072);
  EXPECT_EQ(meta["aperture"]["position_angle"].get<double>(), 0.0);
  EXPECT_TRUE(meta["aperture"]["position_angle"].is_number_float());
  EXPECT_EQ(meta["guidestar"]["gs_udec"].get<double>(), 1.25438831746578e-05);
  EXPECT_EQ(meta["exposure"]["zero_frame"], false);
  EXPECT_EQ(meta["guidestar"]["gs_function_end_time"], "2022-04-27 00:31:06.0000000");
  EXPECT_EQ(meta["program"]["pi_name"], "Nelan, Edmund");
  EXPECT_EQ(meta["aperture"]["pps_name"], "");
  EXPECT_TRUE(meta["target"].is_object() && meta["target"].empty());
  const Json& extra = f.tree()["extra_fits"]["PRIMARY"]["header"];
  ASSERT_TRUE(extra.is_array());
  EXPECT_EQ(extra[0], (Json::array({"NEXTEND", 1, "Number of file extensions"})));
  NdArrayInfo sci = describe_ndarray(f.tree()["data"]);
  EXPECT_EQ(sci.datatype.name, "uint16");
  EXPECT_EQ(sci.shape, (std::vector<std::int64_t>{6, 2, 128, 128}));
}

TEST(AsdfRead, ZlibBlocksWrittenByPythonAsdf) {
  AsdfFile f = AsdfFile::from_bytes(from_hex(kPythonZlibHex), "python_zlib.asdf");
  ASSERT_EQ(f.num_blocks(), 3u);
  EXPECT_EQ(f.block_header(0).compression, "zlib");
  EXPECT_EQ(f.block_header(0).data_size, 12u);
  EXPECT_EQ(f.block_index(), (std::vector<std::uint64_t>{673, 747, 826}));
  NdArrayInfo a = describe_ndarray(f.tree()["a"]);
  EXPECT_EQ(a.byteorder, ByteOrder::kBig);
  EXPECT_EQ(as_vector<std::int16_t>(f.read_array(f.tree()["a"])),
            (std::vector<std::int16_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(as_vector<double>(f.read_array(f.tree()["b"])),
            (std::vector<double>{1.5, -2.25, 3e10}));
  auto c = as_vector<std::uint8_t>(f.read_array(f.tree()["c"]));
  EXPECT_EQ(c, (std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  ReadOptions strict;
  strict.validate_checksums = true;
  EXPECT_NO_THROW(AsdfFile::from_bytes(from_hex(kPythonZlibHex), "python_zlib.asdf", strict));
}

TEST(AsdfRead, TreeOnlyAndCommentsAndInlineData) {
  const std::string text =
      "#ASDF 1.0.0\n#ASDF_STANDARD 1.6.0\n# a comment line\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n"
      "--- !core/asdf-1.1.0\n"
      "x: !core/ndarray-1.1.0\n  data: [[1, 2, 3], [4, 5, 6]]\n  datatype: int32\n  shape: [2, 3]\n"
      "y: !core/ndarray-1.0.0 [1.5, 2.5]\n"
      "...\n";
  AsdfFile f = AsdfFile::from_bytes(bytes_of(text), "inline.asdf");
  EXPECT_EQ(f.standard_version(), "1.6.0");
  EXPECT_EQ(f.num_blocks(), 0u);
  NdArrayInfo x = describe_ndarray(f.tree()["x"]);
  EXPECT_EQ(x.source, ArraySource::kInline);
  EXPECT_EQ(as_vector<std::int32_t>(f.read_array(f.tree()["x"])),
            (std::vector<std::int32_t>{1, 2, 3, 4, 5, 6}));
  NdArrayInfo y = describe_ndarray(f.tree()["y"]);
  EXPECT_EQ(y.datatype.name, "float64");
  EXPECT_EQ(y.shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(as_vector<double>(f.read_array(f.tree()["y"])), (std::vector<double>{1.5, 2.5}));
  // A header with no tree at all is an empty tree.
  AsdfFile empty = AsdfFile::from_bytes(bytes_of("#ASDF 1.0.0\n"), "empty.asdf");
  EXPECT_TRUE(empty.tree().is_object() && empty.tree().empty());
}

TEST(AsdfRead, OffsetStridesAndStreamedBlock) {
  // Block of 12 little-endian int16: 0..11. A transposed 3x2 view with offset 2 and strides.
  std::vector<std::int16_t> v(12);
  for (int i = 0; i < 12; ++i) v[i] = static_cast<std::int16_t>(i);
  AsdfWriter w;
  w.add_array(DataType::from_name("int16"), {12}, std::as_bytes(std::span(v)));
  Json tree = {{"dummy", 1}};
  std::string bytes = w.to_bytes(tree);
  // Hand-made nodes pointing into block 0.
  Json view = make_tagged("core/ndarray-1.0.0", Json{{"source", 0},
                                                     {"datatype", "int16"},
                                                     {"byteorder", "little"},
                                                     {"shape", {3, 2}},
                                                     {"offset", 2},
                                                     {"strides", {2, 6}}});
  AsdfFile f = AsdfFile::from_bytes(bytes_of(bytes), "strided.asdf");
  EXPECT_EQ(as_vector<std::int16_t>(f.read_array(view)),
            (std::vector<std::int16_t>{1, 4, 2, 5, 3, 6}));
  Json reversed = make_tagged("core/ndarray-1.0.0", Json{{"source", -1},
                                                         {"datatype", "int16"},
                                                         {"byteorder", "little"},
                                                         {"shape", {3}},
                                                         {"offset", 22},
                                                         {"strides", {-2}}});
  EXPECT_EQ(as_vector<std::int16_t>(f.read_array(reversed)),
            (std::vector<std::int16_t>{11, 10, 9}));
  Json outside = make_tagged("core/ndarray-1.0.0", Json{{"source", 0},
                                                        {"datatype", "int16"},
                                                        {"byteorder", "little"},
                                                        {"shape", {3}},
                                                        {"offset", 22},
                                                        {"strides", {2}}});
  EXPECT_THROW(f.read_array(outside), IoError);
  Json star = make_tagged(
      "core/ndarray-1.0.0",
      Json{{"source", 0}, {"datatype", "int16"}, {"byteorder", "little"}, {"shape", {"*", 4}}});
  NdArrayInfo si = f.resolve(star);
  EXPECT_EQ(si.shape, (std::vector<std::int64_t>{3, 4}));
  // A streamed block (flag 1) runs to the end of the file.
  std::string streamed = "#ASDF 1.0.0\n%YAML 1.1\n---\na: 1\n...\n";
  streamed += std::string(
      "\xd3"
      "BLK\x00\x30",
      6);
  std::string header(48, '\0');
  header[3] = 1;
  streamed += header;
  streamed += std::string("\x01\x00\x02\x00", 4);
  AsdfFile s = AsdfFile::from_bytes(bytes_of(streamed), "streamed.asdf");
  ASSERT_EQ(s.num_blocks(), 1u);
  EXPECT_TRUE(s.block_header(0).streamed());
  EXPECT_EQ(s.block_data(0).size(), 4u);
  Json sn = make_tagged(
      "core/ndarray-1.0.0",
      Json{{"source", 0}, {"datatype", "uint16"}, {"byteorder", "little"}, {"shape", {"*"}}});
  EXPECT_EQ(as_vector<std::uint16_t>(s.read_array(sn)), (std::vector<std::uint16_t>{1, 2}));
}

TEST(AsdfRead, MalformedInputsGiveIoError) {
  const std::string head = "#ASDF 1.0.0\n%YAML 1.1\n--- !core/asdf-1.1.0\n";
  expect_io_error("", "not an ASDF file");
  expect_io_error("hello", "not an ASDF file");
  expect_io_error("#ASDF 2.0.0\n", "unsupported ASDF file format version '2.0.0'");
  expect_io_error(head + "a: 1\n", "not terminated");
  expect_io_error(head + "a: [1, 2\n...\n", "malformed YAML");
  expect_io_error(head + "a: &x [1, *x]\n...\n", "cyclic");
  expect_io_error(head + "a: 99999999999999999999999\n...\n", "outside the 64-bit range");
  expect_io_error(head + "? [1, 2]\n: 3\n...\n", "non-scalar mapping key");
  expect_io_error("#ASDF 1.0.0\n%YAML 1.1\n--- [1, 2]\n...\n",
                  "root of the ASDF tree is not a mapping");
  expect_io_error(head + "a: !!int abc\n...\n", "is not an integer");
  std::string deep = head + "a: " + std::string(300, '[') + std::string(300, ']') + "\n...\n";
  expect_io_error(deep, "deeper");
  // Blocks.
  const std::string tree = head + "a: 1\n...\n";
  std::string blk = std::string(
      "\xd3"
      "BLK",
      4);
  expect_io_error(tree + blk + std::string("\x00\x10", 2) + std::string(16, '\0'), "below 48");
  expect_io_error(tree + blk + std::string("\x00\x30", 2) + std::string(20, '\0'),
                  "truncated block header");
  std::string hdr(48, '\0');
  hdr[15] = 100;  // allocated 100
  hdr[23] = 100;  // used 100
  hdr[31] = 100;  // data 100
  expect_io_error(tree + blk + std::string("\x00\x30", 2) + hdr + "short", "truncated file");
  std::string bz = hdr;
  std::memcpy(&bz[4], "bzp2", 4);
  bz[15] = bz[23] = bz[31] = 4;
  expect_io_error(tree + blk + std::string("\x00\x30", 2) + bz + "abcd",
                  "compression 'bzp2' is not supported");
  std::string zl = bz;
  std::memcpy(&zl[4], "zlib", 4);
  expect_io_error(tree + blk + std::string("\x00\x30", 2) + zl + "abcd", "bad zlib data");
  std::string used_gt = hdr;
  used_gt[15] = 4;
  used_gt[23] = 5;
  expect_io_error(tree + blk + std::string("\x00\x30", 2) + used_gt + "abcde", "exceeds allocated");
  std::string sizes = hdr;
  sizes[15] = sizes[23] = 4;
  sizes[31] = 5;
  expect_io_error(tree + blk + std::string("\x00\x30", 2) + sizes + "abcd",
                  "data size 5 != used size 4");
  sizes[31] = 4;
  expect_io_error(tree + blk + std::string("\x00\x30", 2) + sizes + "abcdXXXXXX",
                  "bad block magic");
  // Checksum mismatch only when asked for.
  std::string ck = sizes;
  ck[32] = 1;
  std::string ckfile = tree + blk + std::string("\x00\x30", 2) + ck + "abcd";
  EXPECT_NO_THROW(AsdfFile::from_bytes(bytes_of(ckfile), "ck.asdf"));
  ReadOptions strict;
  strict.validate_checksums = true;
  EXPECT_THROW(AsdfFile::from_bytes(bytes_of(ckfile), "ck.asdf", strict), IoError);
  // ndarray problems.
  AsdfFile ok = AsdfFile::from_bytes(bytes_of(ckfile), "ck.asdf");
  EXPECT_THROW(describe_ndarray(Json{{"source", 0}}), IoError);  // untagged
  EXPECT_THROW(
      describe_ndarray(make_tagged(
          "core/ndarray-1.0.0",
          Json{{"source", 0}, {"datatype", "float99"}, {"byteorder", "little"}, {"shape", {1}}})),
      IoError);
  EXPECT_THROW(
      ok.read_array(make_tagged(
          "core/ndarray-1.0.0",
          Json{{"source", 3}, {"datatype", "uint8"}, {"byteorder", "little"}, {"shape", {1}}})),
      IoError);
  EXPECT_THROW(
      ok.read_array(make_tagged(
          "core/ndarray-1.0.0",
          Json{{"source", 0}, {"datatype", "uint8"}, {"byteorder", "little"}, {"shape", {5}}})),
      IoError);
  EXPECT_THROW(
      ok.read_array(make_tagged(
          "core/ndarray-1.0.0",
          Json{{"source", 0}, {"datatype", "uint8"}, {"byteorder", "middle"}, {"shape", {4}}})),
      IoError);
  EXPECT_EQ(
      as_vector<std::uint8_t>(ok.read_array(make_tagged(
          "core/ndarray-1.0.0",
          Json{{"source", 0}, {"datatype", "uint8"}, {"byteorder", "little"}, {"shape", {4}}}))),
      (std::vector<std::uint8_t>{'a', 'b', 'c', 'd'}));
  EXPECT_THROW(AsdfFile::open("/nonexistent/dir/x.asdf"), IoError);
}

TEST(AsdfRead, FitsSourceParsing) {
  auto a = parse_fits_source("fits:SCI,2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "SCI");
  EXPECT_EQ(a->ver, 2);
  auto b = parse_fits_source("fits:3");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->name, "");
  EXPECT_EQ(b->index, 3);
  auto c = parse_fits_source("fits:A,B,4");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "A,B");
  EXPECT_FALSE(parse_fits_source("fits:SCI,"));
  EXPECT_FALSE(parse_fits_source("fits:SCI,x"));
  EXPECT_FALSE(parse_fits_source("data.asdf"));
}

TEST(AsdfRead, EveryTruncationAndByteFlipGivesAFileOrIoError) {
  STPIPE_REQUIRE_SHARED_DATA();
  const auto good =
      read_bytes(stpipe::testing::shared_data("stdatamodels/stdatamodels172_image.asdf"));
  ASSERT_EQ(good.size(), 2026u);
  int parsed = 0, rejected = 0;
  auto attempt = [&](std::vector<std::uint8_t> bytes) {
    try {
      AsdfFile f = AsdfFile::from_bytes(std::move(bytes), "mutant.asdf");
      for (auto it = f.tree().begin(); it != f.tree().end(); ++it) {
        if (!is_ndarray(it.value())) continue;
        try {
          f.read_array(it.value());
        } catch (const IoError&) {
        }
      }
      ++parsed;
    } catch (const IoError&) {
      ++rejected;
    }  // any other exception type fails the test
  };
  for (std::size_t n = 0; n < good.size(); ++n) attempt({good.begin(), good.begin() + n});
  for (std::size_t i = 0; i < good.size(); i += 3) {
    for (int v : {0x00, 0xff, good[i] ^ 0x20}) {
      auto b = good;
      b[i] = static_cast<std::uint8_t>(v);
      attempt(b);
    }
  }
  // Cutting inside the tree or a block is an error; cutting only the block index is not.
  EXPECT_GT(rejected, 1900);
  EXPECT_GT(parsed, 100);
}
