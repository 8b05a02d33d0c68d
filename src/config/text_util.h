// Internal text helpers for the config area: UTF-8 <-> code points and Python's str/int/float
// rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stpipe::config::detail {

using U32 = std::u32string;

/// Python's str.isspace() (the same set as `\s` in Python 3 regexes).
bool py_isspace(char32_t c);

/// Decodes UTF-8 into code points; returns nullopt on malformed UTF-8.
std::optional<U32> utf8_decode(std::string_view text);
/// Encodes code points as UTF-8.
std::string utf8_encode(std::u32string_view text);
/// Number of code points in valid UTF-8 (bytes that are not continuation bytes).
std::size_t utf8_length(std::string_view text);

/// Python's str.strip()/lstrip()/rstrip() with no argument.
std::u32string_view py_strip(std::u32string_view s);
std::u32string_view py_lstrip(std::u32string_view s);
std::u32string_view py_rstrip(std::u32string_view s);

/// Python's repr() of a str: quotes and escapes as CPython chooses them.
std::string py_repr(std::string_view utf8);

/// Python's int(str) for base 10 (whitespace, sign, underscores between digits); nullopt if
/// Python would raise or the value does not fit in 64 bits.
std::optional<std::int64_t> py_int(std::string_view text);
/// Python's float(str) (inf/nan spellings, underscores, exponents); nullopt if Python raises.
std::optional<double> py_float(std::string_view text);
/// Python's repr() of a float: shortest round trip, "1.0", "1e+16", "inf", "nan".
std::string py_float_repr(double value);

/// Python's os.path.normpath on a POSIX path.
std::string py_normpath(const std::string& path);

}  // namespace stpipe::config::detail
