// Tests for writing ASDF files: layout, round trip, big-endian and zlib blocks, FITS-extension
// form.
#include "stpipe/asdf/asdf_writer.h"

#include <cstring>
#include <fstream>

#include "stpipe/asdf/asdf_file.h"
#include "stpipe/util/error.h"
#include "test_support.h"

using namespace stpipe::asdf;
using stpipe::IoError;

namespace {

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

template <typename T>
std::vector<T> as_vector(const std::vector<std::byte>& b) {
  std::vector<T> out(b.size() / sizeof(T));
  std::memcpy(out.data(), b.data(), out.size() * sizeof(T));
  return out;
}

}  // namespace

TEST(AsdfWrite, HeaderTreeBlocksAndIndexLayout) {
  WriteOptions opt;
  opt.library_version = "9.9.9";
  AsdfWriter w(opt);
  std::vector<float> data = {1.5f, 2.5f, -3.0f, 4.0f, 5.0f, 6.25f};
  Json tree = Json::object();
  tree["data"] =
      w.add_array(DataType::from_name("float32"), {2, 3}, std::as_bytes(std::span(data)));
  tree["meta"] = Json{{"model_type", "ImageModel"}};
  std::string bytes = w.to_bytes(tree);
  const std::string head =
      "#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n"
      "--- !core/asdf-1.1.0\n"
      "asdf_library: !core/software-1.0.0 {author: stpipe-cpp developers, homepage: "
      "'https://github.com/spacetelescope/stpipe', name: stpipe-cpp, version: 9.9.9}\n"
      "history:\n"
      "  extensions:\n"
      "  - !core/extension_metadata-1.0.0\n"
      "    extension_class: asdf.extension.BuiltinExtension\n"
      "    software: !core/software-1.0.0 {name: asdf, version: 2.14.3}\n"
      "data: !core/ndarray-1.0.0\n"
      "  source: 0\n"
      "  datatype: float32\n"
      "  byteorder: little\n"
      "  shape: [2, 3]\n"
      "meta: {model_type: ImageModel}\n"
      "...\n";
  ASSERT_EQ(bytes.substr(0, head.size()), head);
  const std::size_t blk = head.size();
  EXPECT_EQ(bytes.substr(blk, 4),
            "\xd3"
            "BLK");
  EXPECT_EQ(static_cast<unsigned char>(bytes[blk + 5]), 48);  // header size
  const std::string index =
      "#ASDF BLOCK INDEX\n%YAML 1.1\n---\n- " + std::to_string(blk) + "\n...\n";
  EXPECT_EQ(bytes.substr(bytes.size() - index.size()), index);
  EXPECT_EQ(bytes.size(), blk + 54 + 24 + index.size());

  ReadOptions strict;
  strict.validate_checksums = true;
  AsdfFile f = AsdfFile::from_bytes(bytes_of(bytes), "w.asdf", strict);
  EXPECT_EQ(f.block_index(), (std::vector<std::uint64_t>{blk}));
  EXPECT_EQ(as_vector<float>(f.read_array(f.tree()["data"])), data);
  EXPECT_EQ(f.tree()["meta"]["model_type"], "ImageModel");
  EXPECT_EQ(f.tree()["asdf_library"]["name"], "stpipe-cpp");
}

TEST(AsdfWrite, RoundTripBigEndianZlibAndManyTypes) {
  stpipe::testing::TempDir dir;
  AsdfWriter w;
  std::vector<std::int16_t> i16 = {-1, 2, -300, 32767, -32768, 0};
  std::vector<double> f64 = {0.1, -2.5e-300, 1e300, 3.0};
  std::vector<std::uint32_t> u32(1000);
  for (std::size_t i = 0; i < u32.size(); ++i) u32[i] = static_cast<std::uint32_t>(i * 2654435761u);
  std::vector<std::uint8_t> u8(4096, 7);
  std::vector<std::uint8_t> empty;
  Json tree = Json::object();
  tree["be"] = w.add_array(DataType::from_name("int16"), {3, 2}, std::as_bytes(std::span(i16)),
                           ByteOrder::kBig);
  tree["f64"] = w.add_array(DataType::from_name("float64"), {4}, std::as_bytes(std::span(f64)),
                            ByteOrder::kBig, "zlib");
  tree["u32"] = w.add_array(DataType::from_name("uint32"), {10, 100}, std::as_bytes(std::span(u32)),
                            ByteOrder::kLittle, "zlib");
  tree["u8"] = w.add_array(DataType::from_name("uint8"), {64, 64}, std::as_bytes(std::span(u8)),
                           ByteOrder::kLittle, "zlib");
  tree["none"] = w.add_array(DataType::from_name("uint8"), {0, 5}, std::as_bytes(std::span(empty)));
  tree["scalars"] = Json{{"i", -5}, {"f", 2.0}, {"s", "3"}, {"b", false}, {"n", nullptr}};
  const auto path = dir / "rt.asdf";
  w.write(path, tree);

  ReadOptions strict;
  strict.validate_checksums = true;
  AsdfFile f = AsdfFile::open(path, strict);
  ASSERT_EQ(f.num_blocks(), 5u);
  EXPECT_EQ(f.block_header(1).compression, "zlib");
  EXPECT_EQ(f.block_header(3).data_size, 4096u);
  EXPECT_LT(f.block_header(3).used_size, 100u);  // 4096 equal bytes compress well
  EXPECT_EQ(describe_ndarray(f.tree()["be"]).byteorder, ByteOrder::kBig);
  // Stored big-endian: the first element -1 is 0xff 0xff, 2 is 0x00 0x02.
  EXPECT_EQ(f.block_data(0)[2], 0x00);
  EXPECT_EQ(f.block_data(0)[3], 0x02);
  EXPECT_EQ(as_vector<std::int16_t>(f.read_array(f.tree()["be"])), i16);
  EXPECT_EQ(as_vector<double>(f.read_array(f.tree()["f64"])), f64);
  EXPECT_EQ(as_vector<std::uint32_t>(f.read_array(f.tree()["u32"])), u32);
  EXPECT_EQ(as_vector<std::uint8_t>(f.read_array(f.tree()["u8"])), u8);
  EXPECT_TRUE(f.read_array(f.tree()["none"]).empty());
  EXPECT_EQ(f.tree()["scalars"], tree["scalars"]);
  EXPECT_TRUE(f.tree()["scalars"]["f"].is_number_float());
  EXPECT_TRUE(f.tree()["scalars"]["s"].is_string());

  EXPECT_THROW(w.add_array(DataType::from_name("int16"), {4}, std::as_bytes(std::span(i16))),
               IoError);
  EXPECT_THROW(w.add_array(DataType::from_name("int16"), {6}, std::as_bytes(std::span(i16)),
                           ByteOrder::kLittle, "lz4"),
               IoError);
  EXPECT_THROW(w.to_bytes(Json::array({1})), IoError);
  EXPECT_THROW(w.write("/nonexistent/dir/x.asdf", tree), IoError);
}

TEST(AsdfWrite, FitsExtensionFormHasNoBlocks) {
  AsdfWriter w;
  Json tree = Json::object();
  tree["_fits_hash"] = "abc123";
  tree["data"] = make_fits_ndarray_node("SCI", 1, DataType::from_name("float32"), {2, 3, 8, 10});
  tree["dq"] = make_fits_ndarray_node("DQ", 1, DataType::from_name("uint32"), {8, 10});
  std::string bytes = w.to_bytes(tree);
  EXPECT_NE(bytes.find("data: !core/ndarray-1.0.0\n  source: fits:SCI,1\n  datatype: float32\n"
                       "  byteorder: big\n  shape: [2, 3, 8, 10]\n"),
            std::string::npos)
      << bytes;
  EXPECT_EQ(bytes.find("BLK"), std::string::npos);
  EXPECT_EQ(bytes.find("BLOCK INDEX"), std::string::npos);
  EXPECT_EQ(bytes.substr(bytes.size() - 4), "...\n");
  AsdfFile f = AsdfFile::from_bytes(bytes_of(bytes), "ext");
  NdArrayInfo dq = describe_ndarray(f.tree()["dq"]);
  EXPECT_EQ(dq.source, ArraySource::kExternal);
  EXPECT_EQ(dq.external, "fits:DQ,1");
  EXPECT_EQ(dq.datatype.name, "uint32");
}

TEST(AsdfWrite, StringDatatypesAndHistoryEntriesKept) {
  AsdfWriter w;
  std::string chars = "abcdefgh";
  Json tree = Json::object();
  tree["names"] = w.add_array(DataType::string_type(ScalarKind::kAscii, 4), {2},
                              std::as_bytes(std::span(chars.data(), chars.size())));
  tree["history"] = Json{{"entries", Json::array({Json{{"description", "made by a test"}}})}};
  std::string bytes = w.to_bytes(tree);
  EXPECT_NE(bytes.find("datatype: [ascii, 4]"), std::string::npos) << bytes;
  AsdfFile f = AsdfFile::from_bytes(bytes_of(bytes), "s");
  NdArrayInfo info = describe_ndarray(f.tree()["names"]);
  EXPECT_EQ(info.datatype.kind, ScalarKind::kAscii);
  EXPECT_EQ(info.datatype.itemsize, 4u);
  auto got = f.read_array(f.tree()["names"]);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(got.data()), got.size()), chars);
  EXPECT_EQ(f.tree()["history"]["entries"][0]["description"], "made by a test");
  EXPECT_EQ(f.tree()["history"]["extensions"][0]["extension_class"],
            "asdf.extension.BuiltinExtension");
}
