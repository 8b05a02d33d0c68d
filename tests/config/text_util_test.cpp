// Tests of the config area's Python-compatible text helpers (float repr, int(), float(), repr()).
#include "config/text_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace stpipe::config::detail {
namespace {

TEST(PyFloatRepr, MatchesPython) {
  EXPECT_EQ(py_float_repr(1e16), "1e+16");
  EXPECT_EQ(py_float_repr(1e-5), "1e-05");
  EXPECT_EQ(py_float_repr(0.0001), "0.0001");
  EXPECT_EQ(py_float_repr(123456789012345680.0), "1.2345678901234568e+17");
  EXPECT_EQ(py_float_repr(1.5), "1.5");
  EXPECT_EQ(py_float_repr(100.0), "100.0");
  EXPECT_EQ(py_float_repr(-0.0), "-0.0");
  EXPECT_EQ(py_float_repr(5e-324), "5e-324");
  EXPECT_EQ(py_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(py_float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(py_float_repr(9999999999999998.0), "9999999999999998.0");
  EXPECT_EQ(py_float_repr(INFINITY), "inf");
  EXPECT_EQ(py_float_repr(-INFINITY), "-inf");
  EXPECT_EQ(py_float_repr(NAN), "nan");
}

TEST(PyInt, MatchesPython) {
  EXPECT_EQ(py_int("1_000"), 1000);
  EXPECT_EQ(py_int("+5"), 5);
  EXPECT_EQ(py_int(" 7 "), 7);
  EXPECT_EQ(py_int("010"), 10);
  EXPECT_EQ(py_int("-12"), -12);
  for (const char* bad :
       {"1__0", "_1", "1_", "0x10", "2.5", "", " ", "1 2", "None", "99999999999999999999"}) {
    EXPECT_FALSE(py_int(bad).has_value()) << bad;
  }
}

TEST(PyFloat, MatchesPython) {
  EXPECT_EQ(py_float("1_0.5"), 10.5);
  EXPECT_EQ(py_float(".5"), 0.5);
  EXPECT_EQ(py_float("5."), 5.0);
  EXPECT_EQ(py_float("+.5e-3"), 0.0005);
  EXPECT_EQ(py_float("1e400"), INFINITY);
  EXPECT_EQ(py_float("1e-400"), 0.0);
  EXPECT_EQ(py_float("-Infinity"), -INFINITY);
  EXPECT_EQ(py_float("inf"), INFINITY);
  EXPECT_TRUE(std::isnan(*py_float("nan")));
  for (const char* bad : {"1e", "1_e5", "in f", "", ".", "e5", "1.2.3", "0x10"}) {
    EXPECT_FALSE(py_float(bad).has_value()) << bad;
  }
}

TEST(PyRepr, QuotesAndEscapes) {
  EXPECT_EQ(py_repr("a'b"), "\"a'b\"");
  EXPECT_EQ(py_repr("a\"b"), "'a\"b'");
  EXPECT_EQ(py_repr("a'\"b"), "'a\\'\"b'");
  EXPECT_EQ(py_repr(std::string("\x00\x7f\xc2\xa0\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\\", 14)),
            "'\\x00\\x7f\\xa0\xc3\xa9\\u2028\xf0\x9f\x98\x80\\\\'");
  EXPECT_EQ(py_repr("tab\there\n"), "'tab\\there\\n'");
}

TEST(PyNormpath, MatchesPosixpath) {
  EXPECT_EQ(py_normpath("/a/b/../c/./d/"), "/a/c/d");
  EXPECT_EQ(py_normpath("//a//b"), "//a/b");
  EXPECT_EQ(py_normpath("///a"), "/a");
  EXPECT_EQ(py_normpath("/.."), "/");
  EXPECT_EQ(py_normpath("a/../../b"), "../b");
  EXPECT_EQ(py_normpath(""), ".");
}

TEST(Utf8, DecodeRejectsMalformed) {
  EXPECT_TRUE(utf8_decode("h\xc3\xa9").has_value());
  EXPECT_FALSE(utf8_decode("\xc3").has_value());
  EXPECT_FALSE(utf8_decode("\xed\xa0\x80").has_value());  // surrogate
  EXPECT_FALSE(utf8_decode("\xc0\xaf").has_value());      // overlong
  EXPECT_EQ(utf8_length("h\xc3\xa9\xe6\x97\xa5"), 3u);
}

}  // namespace
}  // namespace stpipe::config::detail
