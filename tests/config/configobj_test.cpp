// Tests of the ConfigObj reader and writer: syntax edge cases, errors, comments, round trips.
#include "stpipe/config/configobj.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "stpipe/util/error.h"
#include "test_support.h"

namespace stpipe::config {
namespace {

using Json = nlohmann::ordered_json;

std::string error_of(std::string_view text, ParseOptions opts = {}) {
  try {
    parse_configobj(text, opts);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ConfigObjParse, ScalarsQuotesAndComments) {
  Comments comments;
  ParseOptions opts;
  opts.comments = &comments;
  Tree t = parse_configobj(
      "# initial\n"
      "a = 1\n"
      "b=two\n"
      "   c   =   spaced value   # trailing\n"
      "d = \"quoted, with # hash\"  # real comment\n"
      "e = 'single \"inner\"'\n"
      "\"quoted key\" = v\n"
      "f =\n"
      "g = \"\"\n",
      opts);
  EXPECT_EQ(t["a"], "1");
  EXPECT_EQ(t["b"], "two");
  EXPECT_EQ(t["c"], "spaced value");
  EXPECT_EQ(t["d"], "quoted, with # hash");
  EXPECT_EQ(t["e"], "single \"inner\"");
  EXPECT_EQ(t["quoted key"], "v");
  EXPECT_EQ(t["f"], "");
  EXPECT_EQ(t["g"], "");
  EXPECT_EQ(comments["c"], "trailing");
  EXPECT_EQ(comments["d"], "real comment");
  EXPECT_EQ(comments["a"], "");
}

TEST(ConfigObjParse, Lists) {
  Tree t = parse_configobj(
      "a = x, y, z\n"
      "b = x,\n"
      "c = ,\n"
      "d = 'p, q', \"r\" ,s  # c\n"
      "e = x, y,\n"
      "f = 1,2,3\n");
  EXPECT_EQ(t["a"], Json::array({"x", "y", "z"}));
  EXPECT_EQ(t["b"], Json::array({"x"}));
  EXPECT_EQ(t["c"], Json::array());
  EXPECT_EQ(t["d"], Json::array({"p, q", "r", "s"}));
  EXPECT_EQ(t["e"], Json::array({"x", "y"}));
  EXPECT_EQ(t["f"], Json::array({"1", "2", "3"}));
}

TEST(ConfigObjParse, MultilineValues) {
  Tree t = parse_configobj(
      "a = \"\"\"one\n"
      "  two # not a comment\n"
      "three\"\"\"   # comment\n"
      "b = '''single line'''\n"
      "c = '''\n'''\n");
  EXPECT_EQ(t["a"], "one\n  two # not a comment\nthree");
  EXPECT_EQ(t["b"], "single line");
  EXPECT_EQ(t["c"], "\n");
}

TEST(ConfigObjParse, NestedSections) {
  Tree t = parse_configobj(
      "top = 1\n"
      "[a]\n"
      "  x = 1\n"
      "  [[b]]\n"
      "    y = 2\n"
      "    [[[c]]]\n"
      "      z = 3\n"
      "  [[b2]]\n"
      "[ 'd' ]  # comment\n"
      "w = 4\n");
  EXPECT_EQ(t["top"], "1");
  EXPECT_EQ(t["a"]["x"], "1");
  EXPECT_EQ(t["a"]["b"]["y"], "2");
  EXPECT_EQ(t["a"]["b"]["c"]["z"], "3");
  EXPECT_TRUE(t["a"]["b2"].is_object());
  EXPECT_EQ(t["d"]["w"], "4");
  // Key order: file order, scalars before sections.
  std::vector<std::string> keys;
  for (const auto& [k, v] : t["a"].items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"x", "b", "b2"}));
}

TEST(ConfigObjParse, Errors) {
  EXPECT_EQ(error_of("a = 1\nb = 2\n\na = 3\n"), "<string>: Duplicate keyword name at line 4.");
  EXPECT_EQ(error_of("a = 1\n\nxxx\n"),
            "<string>: Invalid line ('xxx') (matched as neither section nor keyword) at line 3.");
  EXPECT_EQ(error_of("[a]\n[a]\n"), "<string>: Duplicate section name at line 2.");
  EXPECT_EQ(error_of("[a]\n[[[b]]]\n"), "<string>: Section too nested at line 2.");
  EXPECT_EQ(error_of("[[a]\n"), "<string>: Cannot compute the section depth at line 1.");
  EXPECT_EQ(error_of("a = \"unterminated\n"), "<string>: Parse error in value at line 1.");
  EXPECT_EQ(error_of("a = x, , y\n"), "<string>: Parse error in value at line 1.");
  EXPECT_EQ(error_of("a = \"\"\"never closed\nb = 1\n"),
            "<string>: Parse error in multiline value at line 1.");
  EXPECT_EQ(error_of("x = 1\n[x]\n"), "<string>: Duplicate section name at line 2.");
  ParseOptions named;
  named.source = "my.cfg";
  EXPECT_EQ(
      error_of("it's bad\n", named),
      "my.cfg: Invalid line (\"it's bad\") (matched as neither section nor keyword) at line 1.");
}

TEST(ConfigObjParse, RawValuesForSpecs) {
  ParseOptions opts;
  opts.list_values = false;
  Comments comments;
  opts.comments = &comments;
  Tree t = parse_configobj(
      "a = integer(min=0, default=5)  # help text\n"
      "b = string(default='x')\n"
      "c = option('a', 'b', default=\"a\")\n"
      "d = \"kept quotes\"\n",
      opts);
  EXPECT_EQ(t["a"], "integer(min=0, default=5)");
  EXPECT_EQ(t["b"], "string(default='x')");
  EXPECT_EQ(t["c"], "option('a', 'b', default=\"a\")");
  EXPECT_EQ(t["d"], "\"kept quotes\"");
  EXPECT_EQ(comments["a"], "help text");
}

TEST(ConfigObjParse, QuirksMatchConfigObj) {
  // A key indented before a stray quote backtracks into the indentation.
  Tree t = parse_configobj("  \"a\" b = 1\n");
  EXPECT_EQ(t[" \"a\" b"], "1");
  // "]" inside an unquoted section name.
  Tree s = parse_configobj("[a]b]\n");
  EXPECT_TRUE(s["a]b"].is_object());
  // Carriage returns before the newline are dropped, a BOM is skipped.
  Tree r = parse_configobj("\xEF\xBB\xBFk = v\r\nj = w\r\n");
  EXPECT_EQ(r["k"], "v");
  EXPECT_EQ(r["j"], "w");
  // Non-breaking space counts as whitespace (as Python's \s does).
  Tree u = parse_configobj("k = v\xC2\xA0\n");
  EXPECT_EQ(u["k"], "v");
}

TEST(ConfigObjParse, Interpolation) {
  ParseOptions opts;
  opts.interpolation = true;
  Tree t = parse_configobj(
      "root = r\nl = %(root)s1, x\nn = %(q)d\n[DEFAULT]\nd = dv\n[s]\nx = %(root)s-%(d)s\n"
      "[[t]]\ny = %(x)s+\n",
      opts);
  EXPECT_EQ(t["l"], Json::array({"r1", "x"}));
  EXPECT_EQ(t["n"], "%(q)d");
  EXPECT_EQ(t["s"]["x"], "r-dv");
  EXPECT_EQ(t["s"]["t"]["y"], "r-dv+");
  // Off by default.
  EXPECT_EQ(parse_configobj("a = %(b)s\n")["a"], "%(b)s");
  EXPECT_EQ(error_of("a = %(b)s\nb = %(a)s\n", opts),
            "<string>: interpolation loop detected in value \"a\".");
  EXPECT_EQ(error_of("[s]\nb = %(nope)s\n", opts),
            "<string>: missing option \"nope\" in interpolation.");
}

TEST(ConfigObjParse, InvalidUtf8IsAnError) {
  EXPECT_THROW(parse_configobj("k = \xFF\n"), ConfigError);
}

TEST(ConfigObjValue, CommandLineValues) {
  EXPECT_EQ(parse_configobj_value("a,b,c"), Json::array({"a", "b", "c"}));
  EXPECT_EQ(parse_configobj_value("a,"), Json::array({"a"}));
  EXPECT_EQ(parse_configobj_value(","), Json::array());
  EXPECT_EQ(parse_configobj_value("a"), "a");
  EXPECT_EQ(parse_configobj_value("'quoted, with comma'"), "quoted, with comma");
  EXPECT_EQ(parse_configobj_value("None"), "None");
  EXPECT_EQ(parse_configobj_value(""), "");
  EXPECT_THROW(parse_configobj_value("'unbalanced"), ConfigError);
}

TEST(ConfigObjFile, ReadErrors) {
  EXPECT_THROW(read_configobj_file("/nonexistent/dir/x.cfg"), IoError);
  stpipe::testing::TempDir dir;
  { std::ofstream(dir / "bad.cfg") << "a = 1\na = 2\n"; }
  try {
    read_configobj_file(dir / "bad.cfg");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.cfg: Duplicate keyword name at line 2."),
              std::string::npos);
  }
}

TEST(ConfigObjWrite, TypedValues) {
  Tree t = Tree::object();
  t["b"] = true;
  t["n"] = nullptr;
  t["i"] = 42;
  t["f"] = 0.1;
  t["g"] = 1e20;
  t["h"] = 3.0;
  EXPECT_EQ(write_configobj(t), "b = True\nn = None\ni = 42\nf = 0.1\ng = 1e+20\nh = 3.0\n");
}

TEST(ConfigObjWrite, QuotingAndLists) {
  Tree t = Tree::object();
  t["plain"] = "abc";
  t["comma"] = "a, b";
  t["hash"] = "a # b";
  t["one"] = Json::array({"x"});
  t["none"] = Json::array();
  t["two"] = Json::array({"x", "y z"});
  t["empty"] = "";
  t["both"] = "it's \"q\"";
  t["nl"] = "line1\nline2";
  t["sec"]["inner"] = "1";
  const std::string text = write_configobj(t);
  EXPECT_NE(text.find("plain = abc\n"), std::string::npos);
  EXPECT_NE(text.find("one = x,\n"), std::string::npos);
  EXPECT_NE(text.find("none = ,\n"), std::string::npos);
  EXPECT_NE(text.find("empty = \"\"\n"), std::string::npos);
  EXPECT_NE(text.find("[sec]\n    inner = 1\n"), std::string::npos);
  EXPECT_EQ(parse_configobj(text), t);
}

TEST(ConfigObjWrite, UnquotableValueThrows) {
  Tree t = Tree::object();
  t["bad"] = Json::array({"a\nb"});
  EXPECT_THROW(write_configobj(t), ConfigError);
}

// Random trees of awkward strings survive write -> parse unchanged.
TEST(ConfigObjWrite, RandomRoundTrip) {
  std::mt19937 rng(1234);
  const std::vector<std::string> atoms = {"a", " ", ",",  "#",   "\"",     "'",  "=",        "[",
                                          "]", "é", "\t", "x y", "\"\"\"", "\n", "\xC2\xA0", "0"};
  auto word = [&](int max_len, bool allow_nl) {
    std::string s;
    const int n = static_cast<int>(rng() % max_len);
    for (int i = 0; i < n; ++i) {
      std::string a = atoms[rng() % atoms.size()];
      if (a == "\n" && !allow_nl) a = "b";
      s += a;
    }
    return s;
  };
  int written = 0;
  for (int iter = 0; iter < 300; ++iter) {
    Tree t = Tree::object();
    const int nkeys = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < nkeys; ++k) {
      std::string key = "k" + std::to_string(k) + word(3, false);
      if (rng() % 3 == 0) {
        Json list = Json::array();
        const int m = static_cast<int>(rng() % 4);
        for (int j = 0; j < m; ++j) list.push_back(word(5, false));
        t[key] = list;
      } else {
        t[key] = word(6, true);
      }
    }
    t["sub" + word(2, false)]["inner"] = word(4, true);
    std::string text;
    try {
      text = write_configobj(t);
    } catch (const ConfigError&) {
      continue;  // a value no quoting can express (e.g. both kinds of triple quotes)
    }
    ++written;
    ASSERT_EQ(parse_configobj(text), t) << text;
  }
  EXPECT_GT(written, 200);
}

}  // namespace
}  // namespace stpipe::config
