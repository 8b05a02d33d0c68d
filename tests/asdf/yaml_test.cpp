// Tests for YAML scalar resolution (pyyaml YAML 1.1 rules), tag convention and the emitter.
#include "stpipe/asdf/yaml.h"

#include <cmath>
#include <limits>

#include "stpipe/util/error.h"
#include "test_support.h"

using namespace stpipe::asdf;
using stpipe::IoError;

TEST(YamlScalars, ResolvesLikePyyaml) {
  EXPECT_TRUE(resolve_plain_scalar("").is_null());
  EXPECT_TRUE(resolve_plain_scalar("~").is_null());
  EXPECT_TRUE(resolve_plain_scalar("NULL").is_null());
  EXPECT_EQ(resolve_plain_scalar("yes"), true);
  EXPECT_EQ(resolve_plain_scalar("Off"), false);
  EXPECT_EQ(resolve_plain_scalar("y"), "y");  // not a YAML 1.1 bool in pyyaml
  EXPECT_EQ(resolve_plain_scalar("42"), 42);
  EXPECT_TRUE(resolve_plain_scalar("42").is_number_integer());
  EXPECT_EQ(resolve_plain_scalar("-17"), -17);
  EXPECT_EQ(resolve_plain_scalar("1_000"), 1000);
  EXPECT_EQ(resolve_plain_scalar("0x1F"), 31);
  EXPECT_EQ(resolve_plain_scalar("0b101"), 5);
  EXPECT_EQ(resolve_plain_scalar("017"), 15);     // octal
  EXPECT_EQ(resolve_plain_scalar("019"), "019");  // not octal -> string
  EXPECT_EQ(resolve_plain_scalar("1:30"), 90);    // sexagesimal
  EXPECT_EQ(resolve_plain_scalar("18446744073709551615").get<std::uint64_t>(),
            18446744073709551615ull);
  EXPECT_EQ(resolve_plain_scalar("-9223372036854775808").get<std::int64_t>(),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_THROW(resolve_plain_scalar("18446744073709551616"), IoError);
  EXPECT_TRUE(resolve_plain_scalar("1.5").is_number_float());
  EXPECT_EQ(resolve_plain_scalar("1.5").get<double>(), 1.5);
  EXPECT_EQ(resolve_plain_scalar("1.").get<double>(), 1.0);
  EXPECT_EQ(resolve_plain_scalar(".5").get<double>(), 0.5);
  EXPECT_EQ(resolve_plain_scalar("1.0e+3").get<double>(), 1000.0);
  EXPECT_EQ(resolve_plain_scalar("1e3"), "1e3");  // pyyaml needs a '.' and a signed exponent
  EXPECT_EQ(resolve_plain_scalar("1.0e3"), "1.0e3");
  EXPECT_EQ(resolve_plain_scalar("-.inf").get<double>(), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(resolve_plain_scalar(".NaN").get<double>()));
  EXPECT_EQ(resolve_plain_scalar("1:30.5").get<double>(), 90.5);
  EXPECT_EQ(resolve_plain_scalar("2016-01-01"), "2016-01-01");  // timestamps stay strings
  EXPECT_EQ(resolve_plain_scalar("008.004.002.000"), "008.004.002.000");
}

TEST(YamlScalars, SafePlainStrings) {
  EXPECT_TRUE(is_safe_plain_string("NIRCAM"));
  EXPECT_TRUE(is_safe_plain_string("DN/s"));
  EXPECT_TRUE(is_safe_plain_string("The ASDF Developers"));
  EXPECT_FALSE(is_safe_plain_string(""));
  EXPECT_FALSE(is_safe_plain_string("true"));
  EXPECT_FALSE(is_safe_plain_string("null"));
  EXPECT_FALSE(is_safe_plain_string("12"));
  EXPECT_FALSE(is_safe_plain_string("1.5"));
  EXPECT_FALSE(is_safe_plain_string("2016-01-01"));
  EXPECT_FALSE(is_safe_plain_string("a: b"));
  EXPECT_FALSE(is_safe_plain_string("#x"));
  EXPECT_FALSE(is_safe_plain_string("- x"));
  EXPECT_FALSE(is_safe_plain_string("x "));
  EXPECT_FALSE(is_safe_plain_string("<SPECIFY>"));
  EXPECT_TRUE(is_safe_plain_string("1e3"));  // a string for pyyaml, so no quotes needed
}

TEST(YamlParse, TagsAndQuotedScalars) {
  YamlDocument d = parse_yaml(
      "%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n"
      "a: !core/ndarray-1.0.0 {source: 0, shape: [1, 2]}\n"
      "b: '12'\nc: \"true\"\nd: null\ne:\nf: !!str 3\ng: !!float 1e3\nh: !<tag:example.org:x-1.0> "
      "7\n"
      "i: !core/complex-1.0.0 1+2j\nj: !!int '0x10'\nk: !custom [1, 2]\nl: !!omap [{z: 1}, {y: "
      "2}]\n"
      "m: |\n  two\n  lines\n1: numeric key\n...\n",
      "t.asdf");
  EXPECT_EQ(d.root_tag, "tag:stsci.edu:asdf/core/asdf-1.1.0");
  const Json& t = d.tree;
  EXPECT_FALSE(t.contains(kTagKey));
  EXPECT_EQ(tag_of(t["a"]), "tag:stsci.edu:asdf/core/ndarray-1.0.0");
  EXPECT_EQ(t["a"].begin().key(), kTagKey);  // tag first
  EXPECT_EQ(t["a"]["shape"], Json::array({1, 2}));
  EXPECT_EQ(t["b"], "12");
  EXPECT_EQ(t["c"], "true");
  EXPECT_TRUE(t["d"].is_null());
  EXPECT_TRUE(t["e"].is_null());
  EXPECT_EQ(t["f"], "3");
  EXPECT_EQ(t["g"].get<double>(), 1000.0);
  EXPECT_EQ(tag_of(t["h"]), "tag:example.org:x-1.0");
  EXPECT_EQ(untagged(t["h"]), "7");  // a tagged scalar keeps its text
  EXPECT_EQ(untagged(t["i"]), "1+2j");
  EXPECT_EQ(t["j"], 16);
  EXPECT_EQ(tag_of(t["k"]), "tag:stsci.edu:asdf/custom");  // `!` is remapped by %TAG
  EXPECT_EQ(untagged(t["k"]), Json::array({1, 2}));
  EXPECT_EQ(t["l"].dump(), R"({"z":1,"y":2})");
  EXPECT_EQ(t["m"], "two\nlines\n");
  EXPECT_EQ(t["1"], "numeric key");
  EXPECT_THROW(parse_yaml("a: {__tag__: 1}\n", "t.asdf"), IoError);
}

TEST(YamlParse, AliasBombIsRejected) {
  std::string y = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    y += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) y += std::string(i ? ", *" : "*") + prev;
    y += "]\n";
    prev = c;
  }
  try {
    parse_yaml(y, "bomb.asdf");
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("too many nodes"), std::string::npos) << e.what();
  }
}

TEST(YamlEmit, LayoutLikeAsdf) {
  Json tree = Json::object();
  tree["data"] = make_tagged(
      "core/ndarray-1.0.0",
      Json{{"source", 0}, {"datatype", "float32"}, {"byteorder", "little"}, {"shape", {8, 10}}});
  tree["meta"] = Json{{"instrument", {{"name", "NIRCAM"}}},
                      {"date", "2016-01-01"},
                      {"n", 3},
                      {"x", 0.1},
                      {"big", 1e20},
                      {"small", 1e-5},
                      {"whole", 2.0},
                      {"flag", true},
                      {"none", nullptr},
                      {"quote", "it's"},
                      {"nl", "a\nb"},
                      {"num", "12"}};
  tree["list"] = Json::array({Json{{"a", 1}}, Json::array({1, 2}), "s"});
  tree["empty"] = Json::object();
  std::string y = emit_yaml(tree, "tag:stsci.edu:asdf/core/asdf-1.1.0");
  const std::string expected =
      "--- !core/asdf-1.1.0\n"
      "data: !core/ndarray-1.0.0\n"
      "  source: 0\n"
      "  datatype: float32\n"
      "  byteorder: little\n"
      "  shape: [8, 10]\n"
      "meta:\n"
      "  instrument: {name: NIRCAM}\n"
      "  date: '2016-01-01'\n"
      "  n: 3\n"
      "  x: 0.1\n"
      "  big: 1.0e+20\n"
      "  small: 1.0e-05\n"
      "  whole: 2.0\n"
      "  flag: true\n"
      "  none: null\n"
      "  quote: 'it''s'\n"
      "  nl: \"a\\nb\"\n"
      "  num: '12'\n"
      "list:\n"
      "- {a: 1}\n"
      "- [1, 2]\n"
      "- s\n"
      "empty: {}\n"
      "...\n";
  EXPECT_EQ(y, expected);
  // And it reads back to the same tree.
  YamlDocument back = parse_yaml("%TAG ! tag:stsci.edu:asdf/\n" + y, "rt");
  Json want = tree;
  want["data"][kTagKey] = "tag:stsci.edu:asdf/core/ndarray-1.0.0";
  EXPECT_EQ(back.tree, want);
  EXPECT_EQ(back.root_tag, "tag:stsci.edu:asdf/core/asdf-1.1.0");
}

TEST(YamlEmit, RoundTripsAwkwardValues) {
  Json tree = Json::object();
  const std::vector<std::string> strings = {"",
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
                                            "crds://jwst_nircam_mask_0033.fits"};
  for (std::size_t i = 0; i < strings.size(); ++i)
    tree[std::string("s").append(std::to_string(i))] = strings[i];
  tree["weird key: x"] = 1;
  tree["floats"] = Json::array({0.1, -0.0, 1e300, 5e-324, 123456789.125, 1e16, 1e15,
                                std::numeric_limits<double>::infinity()});
  tree["ints"] = Json::array(
      {0, -1, std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::uint64_t>::max()});
  tree["nested"] = Json::array({Json::array({Json::array({1})}), Json::object()});
  tree["tagged_seq"] = make_tagged("tag:example.org:list-1.0", Json::array({Json{{"k", "v"}}}));
  tree["tagged_scalar"] = make_tagged("core/complex-1.0.0", "1+2j");
  std::string y = emit_yaml(tree);
  YamlDocument back = parse_yaml("%TAG ! tag:stsci.edu:asdf/\n" + y, "rt");
  EXPECT_EQ(back.tree, tree) << y;
  EXPECT_TRUE(back.tree["floats"][1].is_number_float());
  EXPECT_TRUE(std::signbit(back.tree["floats"][1].get<double>()));
  EXPECT_THROW(emit_yaml(Json{{"bad", "\xff"}}), IoError);
  EXPECT_THROW(emit_yaml(make_tagged("has space", Json::object())), IoError);
}

TEST(YamlParse, InvalidUtf8IsRejectedLikePyyaml) {
  try {
    parse_yaml("a: \"x\xff\"\n", "u.asdf");
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_yaml("\xc3: 1\n", "u.asdf"), IoError);
  EXPECT_EQ(to_text(Json("x\xff"), 10), "\"x\xef\xbf\xbd\"");  // replaced, no exception
}

TEST(YamlParse, RootTagIsSeparatedFromTheTree) {
  YamlDocument seq = parse_yaml("--- !<tag:x.org:list-1.0> [1, 2]\n", "r");
  EXPECT_EQ(seq.root_tag, "tag:x.org:list-1.0");
  EXPECT_EQ(seq.tree, Json::array({1, 2}));
  YamlDocument omap = parse_yaml("--- !!omap [{b: 1}, {a: 2}]\n", "r");
  EXPECT_EQ(omap.tree.dump(), R"({"b":1,"a":2})");
  EXPECT_EQ(emit_yaml(seq.tree, seq.root_tag), "--- !<tag:x.org:list-1.0> [1, 2]\n...\n");
}

TEST(YamlParse, VerbatimTagMustBeAUri) {
  EXPECT_THROW(parse_yaml("a: !<core/x-1.0.0> {}\n", "v"), IoError);
  EXPECT_EQ(tag_of(parse_yaml("a: !<tag:x.org:y> {}\n", "v").tree["a"]), "tag:x.org:y");
}
