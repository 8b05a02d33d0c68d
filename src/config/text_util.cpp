// Internal text helpers for the config area: UTF-8, Python whitespace, repr, int() and float().
#include "config/text_util.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

namespace stpipe::config::detail {

bool py_isspace(char32_t c) {
  switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

std::optional<U32> utf8_decode(std::string_view text) {
  U32 out;
  out.reserve(text.size());
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    int len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (i + len > n) return std::nullopt;
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string utf8_encode(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::u32string_view py_lstrip(std::u32string_view s) {
  std::size_t b = 0;
  while (b < s.size() && py_isspace(s[b])) ++b;
  return s.substr(b);
}

std::u32string_view py_rstrip(std::u32string_view s) {
  std::size_t e = s.size();
  while (e > 0 && py_isspace(s[e - 1])) --e;
  return s.substr(0, e);
}

std::u32string_view py_strip(std::u32string_view s) { return py_rstrip(py_lstrip(s)); }

namespace {

// An approximation of Python's str.isprintable() for one code point: control, format,
// separator (other than the space), surrogate and private-use characters are not printable.
bool py_isprintable(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0)) return false;
  if (c == 0xAD || c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F))
    return false;
  if ((c >= 0x205F && c <= 0x2064) || (c >= 0x2066 && c <= 0x206F) || c == 0x3000) return false;
  if (c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) || c == 0xFFFE || c == 0xFFFF) return false;
  if ((c >= 0xD800 && c <= 0xF8FF) || c >= 0xF0000) return false;
  return true;
}

}  // namespace

std::string py_repr(std::string_view utf8) {
  auto decoded = utf8_decode(utf8);
  U32 s = decoded ? *decoded : U32(utf8.begin(), utf8.end());
  const bool has_single = s.find(U'\'') != U32::npos;
  const bool has_double = s.find(U'"') != U32::npos;
  const char32_t quote = (has_single && !has_double) ? U'"' : U'\'';
  std::string out(1, static_cast<char>(quote));
  char buf[16];
  for (char32_t c : s) {
    if (c == quote || c == U'\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == U'\t') {
      out += "\\t";
    } else if (c == U'\n') {
      out += "\\n";
    } else if (c == U'\r') {
      out += "\\r";
    } else if (!py_isprintable(c)) {
      if (c < 0x100) {
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      } else if (c < 0x10000) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      } else {
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      }
      out += buf;
    } else {
      out += utf8_encode(std::u32string_view(&c, 1));
    }
  }
  out.push_back(static_cast<char>(quote));
  return out;
}

namespace {

// Strips Python whitespace from UTF-8 text; nullopt if the text is not valid UTF-8.
std::optional<std::string> strip_utf8(std::string_view text) {
  auto decoded = utf8_decode(text);
  if (!decoded) return std::nullopt;
  return utf8_encode(py_strip(*decoded));
}

// Removes underscores that sit between two digits; nullopt if an underscore is elsewhere.
std::optional<std::string> remove_digit_underscores(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      const bool ok = i > 0 && i + 1 < s.size() &&
                      std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                      std::isdigit(static_cast<unsigned char>(s[i + 1]));
      if (!ok) return std::nullopt;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<std::int64_t> py_int(std::string_view text) {
  auto stripped = strip_utf8(text);
  if (!stripped || stripped->empty()) return std::nullopt;
  std::string s = *stripped;
  bool negative = false;
  std::size_t pos = 0;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    pos = 1;
  }
  auto digits = remove_digit_underscores(s.substr(pos));
  if (!digits || digits->empty()) return std::nullopt;
  for (char c : *digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  std::string full = (negative ? "-" : "") + *digits;
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(full.data(), full.data() + full.size(), value);
  if (ec != std::errc() || ptr != full.data() + full.size()) return std::nullopt;
  return value;
}

std::optional<double> py_float(std::string_view text) {
  auto stripped = strip_utf8(text);
  if (!stripped || stripped->empty()) return std::nullopt;
  std::string s = *stripped;
  std::size_t pos = 0;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    pos = 1;
  }
  std::string_view body(s.data() + pos, s.size() - pos);
  if (iequals(body, "inf") || iequals(body, "infinity")) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (iequals(body, "nan")) return std::numeric_limits<double>::quiet_NaN();
  auto cleaned = remove_digit_underscores(std::string(body));
  if (!cleaned || cleaned->empty()) return std::nullopt;
  // Grammar: digits [. digits] | . digits, then optional e[+-]digits.
  const std::string& b = *cleaned;
  std::size_t i = 0;
  std::size_t mantissa_digits = 0;
  while (i < b.size() && std::isdigit(static_cast<unsigned char>(b[i]))) ++i, ++mantissa_digits;
  if (i < b.size() && b[i] == '.') {
    ++i;
    while (i < b.size() && std::isdigit(static_cast<unsigned char>(b[i]))) ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (i < b.size() && (b[i] == 'e' || b[i] == 'E')) {
    ++i;
    if (i < b.size() && (b[i] == '+' || b[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < b.size() && std::isdigit(static_cast<unsigned char>(b[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != b.size()) return std::nullopt;
  // from_chars does not accept a leading '+' or '.'-only forms differently; it handles ".5".
  double value = 0;
  auto [ptr, ec] = std::from_chars(b.data(), b.data() + b.size(), value);
  if (ptr != b.data() + b.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Overflow gives inf in Python, underflow gives 0.
    bool big = false;
    auto epos = b.find_first_of("eE");
    if (epos != std::string::npos)
      big = b[epos + 1] != '-';
    else
      big = true;
    value = big ? std::numeric_limits<double>::infinity() : 0.0;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

std::string py_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci looks like "-1.2345e+02" or "5e-324".
  bool negative = false;
  std::size_t p = 0;
  if (sci[0] == '-') negative = true, p = 1;
  const std::size_t epos = sci.find('e');
  std::string digits;
  for (std::size_t i = p; i < epos; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  const int exponent = std::stoi(sci.substr(epos + 1));
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += ebuf;
  } else if (exponent < 0) {
    out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  } else {
    const auto int_len = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
      out += digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return out;
}

std::string py_normpath(const std::string& path) {
  if (path.empty()) return ".";
  std::size_t initial_slashes = 0;
  if (path[0] == '/') {
    initial_slashes = 1;
    if (path.size() > 1 && path[1] == '/' && (path.size() == 2 || path[2] != '/'))
      initial_slashes = 2;
  }
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string comp = path.substr(i, j - i);
    if (!comp.empty() && comp != ".") {
      if (comp != ".." || (initial_slashes == 0 && parts.empty()) ||
          (!parts.empty() && parts.back() == "..")) {
        parts.push_back(comp);
      } else if (!parts.empty()) {
        parts.pop_back();
      }
    }
    i = j + 1;
  }
  std::string out(initial_slashes, '/');
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  return out.empty() ? "." : out;
}

}  // namespace stpipe::config::detail
