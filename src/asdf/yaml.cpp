// YAML <-> JSON for ASDF trees: yaml-cpp parsing with pyyaml's YAML 1.1 scalar resolution, and a
// small block-style emitter whose quoting keeps every value's type when pyyaml reads it back.
#include "stpipe/asdf/yaml.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "stpipe/util/error.h"

namespace stpipe::asdf {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_digit_or_us(char c) { return is_digit(c) || c == '_'; }
bool is_octal_or_us(char c) { return (c >= '0' && c <= '7') || c == '_'; }
bool is_hex_or_us(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '_';
}

template <typename Pred>
size_t skip_while(std::string_view s, size_t i, Pred pred) {
  while (i < s.size() && pred(s[i])) ++i;
  return i;
}

// Matches (:[0-5]?[0-9])+ starting at i; returns the end position, or npos if no group matched.
size_t match_sexagesimal_groups(std::string_view s, size_t i) {
  size_t groups = 0;
  while (i < s.size() && s[i] == ':') {
    if (i + 2 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '5' && is_digit(s[i + 2])) {
      i += 3;
    } else if (i + 1 < s.size() && is_digit(s[i + 1])) {
      i += 2;
    } else {
      return std::string_view::npos;
    }
    ++groups;
  }
  return groups ? i : std::string_view::npos;
}

bool match_bool(std::string_view s, bool* value) {
  static const char* kTrue[] = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const char* kFalse[] = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  for (const char* t : kTrue)
    if (s == t) return *value = true, true;
  for (const char* f : kFalse)
    if (s == f) return *value = false, true;
  return false;
}

bool match_null(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool match_int(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  std::string_view r = s.substr(i);
  if (r.empty()) return false;
  if (r.size() > 2 && r[0] == '0' && r[1] == 'b')
    return skip_while(r, 2, [](char c) { return c == '0' || c == '1' || c == '_'; }) == r.size();
  if (r.size() > 2 && r[0] == '0' && r[1] == 'x') return skip_while(r, 2, is_hex_or_us) == r.size();
  if (r == "0") return true;
  if (r[0] == '0') return skip_while(r, 1, is_octal_or_us) == r.size();
  if (r[0] >= '1' && r[0] <= '9') {
    size_t j = skip_while(r, 1, is_digit_or_us);
    if (j == r.size()) return true;
    return match_sexagesimal_groups(r, j) == r.size();
  }
  return false;
}

// [eE][-+][0-9]+ to the end (or nothing at all).
bool match_exponent_tail(std::string_view s, size_t j) {
  if (j == s.size()) return true;
  if (s[j] != 'e' && s[j] != 'E') return false;
  if (j + 1 >= s.size() || (s[j + 1] != '+' && s[j + 1] != '-')) return false;
  if (j + 2 >= s.size()) return false;
  return skip_while(s, j + 2, is_digit) == s.size();
}

bool match_float(std::string_view s) {
  bool sign = !s.empty() && (s[0] == '+' || s[0] == '-');
  std::string_view r = s.substr(sign ? 1 : 0);
  if (r.empty()) return false;
  if (r == ".inf" || r == ".Inf" || r == ".INF") return true;
  if (!sign && (r == ".nan" || r == ".NaN" || r == ".NAN")) return true;
  if (!sign && r[0] == '.' && r.size() > 1 && is_digit(r[1]))
    return match_exponent_tail(r, skip_while(r, 2, is_digit_or_us));
  if (!is_digit(r[0])) return false;
  size_t j = skip_while(r, 1, is_digit_or_us);
  if (j < r.size() && r[j] == '.')
    return match_exponent_tail(r, skip_while(r, j + 1, is_digit_or_us));
  size_t k = match_sexagesimal_groups(r, j);
  if (k == std::string_view::npos || k >= r.size() || r[k] != '.') return false;
  return skip_while(r, k + 1, is_digit_or_us) == r.size();
}

bool match_timestamp(std::string_view s) {
  auto digits = [&](size_t& i, int n) {
    for (int k = 0; k < n; ++k, ++i)
      if (i >= s.size() || !is_digit(s[i])) return false;
    return true;
  };
  auto opt_digit = [&](size_t& i) {
    if (i < s.size() && is_digit(s[i])) ++i;
  };
  auto ch = [&](size_t& i, char c) {
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  };
  size_t i = 0;
  if (!digits(i, 4) || !ch(i, '-')) return false;
  size_t save = i;
  if (digits(i, 2) && ch(i, '-') && digits(i, 2) && i == s.size()) return true;
  i = save;
  if (!digits(i, 1)) return false;
  opt_digit(i);
  if (!ch(i, '-') || !digits(i, 1)) return false;
  opt_digit(i);
  if (i < s.size() && (s[i] == 'T' || s[i] == 't')) {
    ++i;
  } else {
    size_t j = skip_while(s, i, [](char c) { return c == ' ' || c == '\t'; });
    if (j == i) return false;
    i = j;
  }
  if (!digits(i, 1)) return false;
  opt_digit(i);
  if (!ch(i, ':') || !digits(i, 2) || !ch(i, ':') || !digits(i, 2)) return false;
  if (ch(i, '.')) i = skip_while(s, i, is_digit);
  if (i == s.size()) return true;
  i = skip_while(s, i, [](char c) { return c == ' ' || c == '\t'; });
  if (ch(i, 'Z')) return i == s.size();
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    ++i;
    if (!digits(i, 1)) return false;
    opt_digit(i);
    if (ch(i, ':') && !digits(i, 2)) return false;
    return i == s.size();
  }
  return false;
}

std::string without_underscores(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '_') out += c;
  return out;
}

// Parses a pyyaml int (text already known to match, or explicitly tagged !!int).
Json construct_int(std::string_view text) {
  std::string v = without_underscores(text);
  bool negative = false;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    negative = v[0] == '-';
    v.erase(0, 1);
  }
  if (v.empty()) throw IoError("'" + std::string(text) + "' is not an integer");
  unsigned __int128 value = 0;
  const unsigned __int128 kLimit = static_cast<unsigned __int128>(1) << 64;
  auto accumulate = [&](std::string_view digits, unsigned base) {
    if (digits.empty()) throw IoError("'" + std::string(text) + "' is not an integer");
    for (char c : digits) {
      unsigned d;
      if (is_digit(c))
        d = static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        d = static_cast<unsigned>(c - 'A' + 10);
      else
        throw IoError("'" + std::string(text) + "' is not an integer");
      if (d >= base) throw IoError("'" + std::string(text) + "' is not an integer");
      value = value * base + d;
      if (value >= kLimit)
        throw IoError("integer '" + std::string(text) + "' is outside the 64-bit range");
    }
  };
  if (v == "0") {
    value = 0;
  } else if (v.rfind("0b", 0) == 0) {
    accumulate(std::string_view(v).substr(2), 2);
  } else if (v.rfind("0x", 0) == 0) {
    accumulate(std::string_view(v).substr(2), 16);
  } else if (v[0] == '0') {
    accumulate(v, 8);
  } else if (v.find(':') != std::string::npos) {
    std::vector<std::string_view> parts;
    std::string_view rest(v);
    for (size_t p; (p = rest.find(':')) != std::string_view::npos; rest.remove_prefix(p + 1))
      parts.push_back(rest.substr(0, p));
    parts.push_back(rest);
    for (auto part : parts) {
      unsigned __int128 before = value;
      value = 0;
      accumulate(part, 10);
      value += before * 60;
      if (value >= kLimit)
        throw IoError("integer '" + std::string(text) + "' is outside the 64-bit range");
    }
  } else {
    accumulate(v, 10);
  }
  if (negative) {
    if (value > (static_cast<unsigned __int128>(1) << 63))
      throw IoError("integer '" + std::string(text) + "' is outside the 64-bit range");
    return Json(static_cast<std::int64_t>(-static_cast<__int128>(value)));
  }
  if (value <= static_cast<unsigned __int128>(std::numeric_limits<std::int64_t>::max()))
    return Json(static_cast<std::int64_t>(value));
  return Json(static_cast<std::uint64_t>(value));
}

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::result_out_of_range) {
    // Python's float() gives inf / 0.0 for out-of-range values; from_chars reports an error.
    size_t e = s.find_first_of("eE");
    bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    *out = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    return p == s.data() + s.size();
  }
  return ec == std::errc() && p == s.data() + s.size();
}

// Parses a pyyaml float (text matched the implicit resolver, or is explicitly tagged !!float).
Json construct_float(std::string_view text) {
  std::string v = without_underscores(text);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double sign = 1.0;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    if (v[0] == '-') sign = -1.0;
    v.erase(0, 1);
  }
  if (v == ".inf") return Json(sign * std::numeric_limits<double>::infinity());
  if (v == ".nan") return Json(std::numeric_limits<double>::quiet_NaN());
  double out = 0.0;
  if (v.find(':') != std::string::npos) {
    std::string_view rest(v);
    std::vector<std::string_view> parts;
    for (size_t p; (p = rest.find(':')) != std::string_view::npos; rest.remove_prefix(p + 1))
      parts.push_back(rest.substr(0, p));
    parts.push_back(rest);
    for (auto part : parts) {
      double d;
      if (!parse_double(part, &d)) throw IoError("'" + std::string(text) + "' is not a float");
      out = out * 60.0 + d;
    }
    return Json(sign * out);
  }
  if (!parse_double(v, &out)) throw IoError("'" + std::string(text) + "' is not a float");
  return Json(sign * out);
}

Json construct_bool(std::string_view text) {
  std::string v(text);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "yes" || v == "true" || v == "on") return Json(true);
  if (v == "no" || v == "false" || v == "off") return Json(false);
  throw IoError("'" + std::string(text) + "' is not a boolean");
}

const std::string kTagStr = std::string(kYamlTagPrefix) + "str";
const std::string kTagInt = std::string(kYamlTagPrefix) + "int";
const std::string kTagFloat = std::string(kYamlTagPrefix) + "float";
const std::string kTagBool = std::string(kYamlTagPrefix) + "bool";
const std::string kTagNull = std::string(kYamlTagPrefix) + "null";
const std::string kTagTimestamp = std::string(kYamlTagPrefix) + "timestamp";
const std::string kTagMap = std::string(kYamlTagPrefix) + "map";
const std::string kTagSeq = std::string(kYamlTagPrefix) + "seq";
const std::string kTagOmap = std::string(kYamlTagPrefix) + "omap";

// Decodes one UTF-8 code point at s[i]; returns false on invalid input.
bool next_code_point(std::string_view s, size_t& i, char32_t& cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int extra;
  if (c < 0x80) {
    cp = c;
    extra = 0;
  } else if ((c & 0xE0) == 0xC0) {
    cp = c & 0x1F;
    extra = 1;
  } else if ((c & 0xF0) == 0xE0) {
    cp = c & 0x0F;
    extra = 2;
  } else if ((c & 0xF8) == 0xF0) {
    cp = c & 0x07;
    extra = 3;
  } else {
    return false;
  }
  if (i + static_cast<size_t>(extra) >= s.size()) return false;
  for (int k = 1; k <= extra; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (d & 0x3F);
  }
  static const char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += static_cast<size_t>(extra) + 1;
  return true;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    if (!next_code_point(s, i, cp)) return false;
  }
  return true;
}

bool is_nonspecific(const std::string& tag) { return tag.empty() || tag == "?" || tag == "!"; }

// Converts a yaml-cpp node graph into the JSON convention of tree.h.
class Converter {
 public:
  Converter(const std::string& origin, size_t budget, int max_depth)
      : origin_(origin), budget_(budget), max_depth_(max_depth) {}

  Json convert(const YAML::Node& n, int depth) {
    if (depth > max_depth_)
      fail("the tree is nested deeper than " + std::to_string(max_depth_) +
               " levels (or is cyclic through an alias)",
           n);
    if (budget_ == 0) fail("the tree expands to too many nodes (alias expansion?)", n);
    --budget_;
    const std::string tag = n.Tag();
    if (!valid_utf8(tag)) fail("a tag is not valid UTF-8", n);
    // A tag is a URI ("tag:...") or local ("!x"); anything else would read back differently,
    // since a bare "core/x" is this library's short form of an ASDF tag.
    if (!is_nonspecific(tag) && tag[0] != '!' && tag.find(':') == std::string::npos)
      fail("the tag '" + tag + "' is neither a URI nor a local tag", n);
    switch (n.Type()) {
      case YAML::NodeType::Null:
        if (is_nonspecific(tag) || tag == kTagNull) return Json(nullptr);
        if (tag == kTagStr || tag == kTagTimestamp) return Json("");
        return make_tagged(tag, Json(""));
      case YAML::NodeType::Scalar:
        return scalar(tag, n);
      case YAML::NodeType::Sequence: {
        if (tag == kTagOmap) return omap(n, depth);
        Json arr = Json::array();
        size_t i = 0;
        for (const auto& item : n) {
          path_.push_back("[" + std::to_string(i++) + "]");
          arr.push_back(convert(item, depth + 1));
          path_.pop_back();
        }
        if (is_nonspecific(tag) || tag == kTagSeq) return arr;
        Json out = Json::object();
        out[kTagKey] = tag;
        out[kValueKey] = std::move(arr);
        return out;
      }
      case YAML::NodeType::Map: {
        Json obj = Json::object();
        if (!is_nonspecific(tag) && tag != kTagMap) obj[kTagKey] = tag;
        for (auto it = n.begin(); it != n.end(); ++it) {
          std::string key = key_text(it->first);
          path_.push_back(key);
          Json value = convert(it->second, depth + 1);
          obj[key] = std::move(value);
          path_.pop_back();
        }
        return obj;
      }
      default:
        fail("undefined node", n);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what, const YAML::Node& n) {
    std::string where;
    for (const auto& p : path_) where += (where.empty() || p[0] == '[' ? "" : ".") + p;
    std::string msg = origin_ + ": YAML tree: " + what;
    if (!where.empty()) msg += " at '" + where + "'";
    const YAML::Mark m = n.Mark();
    if (!m.is_null()) msg += " (line " + std::to_string(m.line + 1) + ")";
    throw IoError(msg);
  }

  std::string key_text(const YAML::Node& k) {
    if (k.Type() == YAML::NodeType::Scalar) {
      std::string key = k.Scalar();
      if (!valid_utf8(key)) fail("a mapping key is not valid UTF-8", k);
      if (key == kTagKey) fail("the mapping key '__tag__' is reserved by this reader", k);
      return key;
    }
    if (k.Type() == YAML::NodeType::Null) fail("a null mapping key is not supported", k);
    fail("a non-scalar mapping key is not supported", k);
  }

  Json scalar(const std::string& tag, const YAML::Node& n) {
    const std::string& text = n.Scalar();
    if (!valid_utf8(text)) fail("a scalar is not valid UTF-8", n);
    try {
      if (tag == "?") return resolve_plain_scalar(text);
      if (tag == "!" || tag.empty() || tag == kTagStr || tag == kTagTimestamp) return Json(text);
      if (tag == kTagInt) return construct_int(text);
      if (tag == kTagFloat) return construct_float(text);
      if (tag == kTagBool) return construct_bool(text);
      if (tag == kTagNull) return Json(nullptr);
    } catch (const IoError& e) {
      fail(e.what(), n);
    }
    Json out = Json::object();
    out[kTagKey] = tag;
    out[kValueKey] = text;
    return out;
  }

  Json omap(const YAML::Node& n, int depth) {
    Json obj = Json::object();
    for (const auto& item : n) {
      if (item.Type() != YAML::NodeType::Map || item.size() != 1)
        fail("an !!omap entry is not a single-pair mapping", item);
      auto it = item.begin();
      std::string key = key_text(it->first);
      path_.push_back(key);
      obj[key] = convert(it->second, depth + 1);
      path_.pop_back();
    }
    return obj;
  }

  const std::string& origin_;
  size_t budget_;
  int max_depth_;
  std::vector<std::string> path_;
};

// ---------------------------------------------------------------------------------------------
// Emitter

// Code points pyyaml accepts unescaped in a stream (besides tab/newline/CR).
bool printable(char32_t cp) {
  return (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 || (cp >= 0xA0 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

std::string quote_string(std::string_view s) {
  bool single_ok = true;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    if (!next_code_point(s, i, cp))
      throw IoError("cannot write a string that is not valid UTF-8: '" +
                    std::string(s.substr(0, 40)) + "'");
    if (!printable(cp) || cp == 0x85) single_ok = false;
  }
  if (single_ok) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'')
        out += "''";
      else
        out += c;
    }
    return out + "'";
  }
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    char32_t cp = 0;
    next_code_point(s, i, cp);
    char buf[16];
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case 0:
        out += "\\0";
        break;
      default:
        if (printable(cp) && cp != 0x85) {
          out.append(s.substr(start, i - start));
        } else if (cp <= 0xFF) {
          std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(cp));
          out += buf;
        } else {
          std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(cp));
          out += buf;
        }
    }
  }
  return out + "\"";
}

// Block context also allows flow indicators and ':' not followed by a space inside a plain
// scalar (as pyyaml's emitter does: `source: fits:SCI,1`).
bool is_safe_block_plain_string(std::string_view s) {
  if (s.empty()) return false;
  std::string probe(s);
  for (std::size_t i = 1; i < probe.size(); ++i) {
    char c = probe[i];
    if (c == ',' || c == '[' || c == ']' || c == '{' || c == '}') probe[i] = 'x';
    if (c == ':' && i + 1 < probe.size() && probe[i + 1] != ' ') probe[i] = 'x';
  }
  return is_safe_plain_string(probe) && resolve_plain_scalar(s).is_string() && !match_timestamp(s);
}

std::string format_string(std::string_view s, bool block = false) {
  if (is_safe_plain_string(s) || (block && is_safe_block_plain_string(s))) return std::string(s);
  return quote_string(s);
}

std::string format_float(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[64];
  // Python's repr: scientific notation when the decimal exponent is < -4 or >= 16.
  auto sci = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string s(buf, sci.ptr);
  size_t e = s.find('e');
  int exp10 = std::atoi(s.c_str() + e + 1);
  if (exp10 >= -4 && exp10 < 16) {
    auto fx = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
    s.assign(buf, fx.ptr);
    if (s.find('.') == std::string::npos) s += ".0";
    return s;
  }
  // "1e-05" -> "1.0e-05" so that pyyaml's float resolver (which needs a '.') matches.
  if (s.find('.') == std::string::npos) s.insert(e, ".0");
  return s;
}

std::string format_tag(const std::string& tag) {
  for (unsigned char c : tag) {
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '"' || c == '\\' || c == '{' ||
        c == '}' || c == '[' || c == ']' || c == ',' || c == '`' || c == '^' || c == '|')
      throw IoError("cannot write the YAML tag '" + tag + "': it contains '" +
                    std::string(1, static_cast<char>(c)) + "'");
  }
  if (tag.empty()) throw IoError("cannot write an empty YAML tag");
  std::string full = expand_tag(tag);
  if (full.rfind(kAsdfTagPrefix, 0) == 0 && full.size() > kAsdfTagPrefix.size())
    return "!" + full.substr(kAsdfTagPrefix.size());
  if (full.rfind(kYamlTagPrefix, 0) == 0 && full.size() > kYamlTagPrefix.size())
    return "!!" + full.substr(kYamlTagPrefix.size());
  return "!<" + full + ">";
}

class Emitter {
 public:
  std::string out;

  // Emits a map's entries in block style, each line at `indent`; if `first_inline`, the first
  // entry continues the current line (after "- ").
  void block_map(const Json& obj, int indent, bool first_inline) {
    bool first = true;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (it.key() == kTagKey) continue;
      if (!(first && first_inline)) out.append(static_cast<size_t>(indent), ' ');
      first = false;
      out += format_string(it.key());
      out += ':';
      after_key(it.value(), indent);
    }
  }

  void block_seq(const Json& arr, int indent) {
    for (const auto& item : arr) {
      out.append(static_cast<size_t>(indent), ' ');
      out += '-';
      after_dash(item, indent + 2);
    }
  }

  // A value following "key:" on the current line.
  void after_key(const Json& v, int indent) {
    auto tag = tag_of(v);
    const Json& payload = untagged(v);
    std::string tagtext = tag ? " " + format_tag(*tag) : "";
    if (is_scalar(payload) || is_flow(v)) {
      out += ' ';
      if (!tag && payload.is_string())
        out += format_string(payload.get_ref<const std::string&>(), true);
      else
        flow(v);
      out += '\n';
    } else if (payload.is_object()) {
      out += tagtext + "\n";
      block_map(payload, indent + 2, false);
    } else {
      out += tagtext + "\n";
      block_seq(payload, indent);
    }
  }

  // A value following "-" on the current line; nested block content goes at `indent`.
  void after_dash(const Json& v, int indent) {
    auto tag = tag_of(v);
    const Json& payload = untagged(v);
    if (is_scalar(payload) || is_flow(v)) {
      out += ' ';
      if (!tag && payload.is_string())
        out += format_string(payload.get_ref<const std::string&>(), true);
      else
        flow(v);
      out += '\n';
    } else if (payload.is_object()) {
      if (tag) {
        out += " " + format_tag(*tag) + "\n";
        block_map(payload, indent, false);
      } else {
        out += ' ';
        block_map(payload, indent, true);
      }
    } else {
      out += (tag ? " " + format_tag(*tag) : std::string()) + "\n";
      block_seq(payload, indent);
    }
  }

  // A node in flow style (scalars, or collections of scalars).
  void flow(const Json& v) {
    auto tag = tag_of(v);
    const Json& payload = untagged(v);
    if (tag && (is_scalar(payload) || payload.is_array())) out += format_tag(*tag) + " ";
    if (payload.is_object()) {
      if (tag) out += format_tag(*tag) + " ";
      out += '{';
      bool first = true;
      for (auto it = payload.begin(); it != payload.end(); ++it) {
        if (it.key() == kTagKey) continue;
        if (!first) out += ", ";
        first = false;
        out += format_string(it.key());
        out += ": ";
        flow(it.value());
      }
      out += '}';
    } else if (payload.is_array()) {
      out += '[';
      bool first = true;
      for (const auto& item : payload) {
        if (!first) out += ", ";
        first = false;
        flow(item);
      }
      out += ']';
    } else {
      scalar(payload);
    }
  }

  void scalar(const Json& v) {
    switch (v.type()) {
      case Json::value_t::null:
        out += "null";
        break;
      case Json::value_t::boolean:
        out += v.get<bool>() ? "true" : "false";
        break;
      case Json::value_t::number_integer:
        out += std::to_string(v.get<std::int64_t>());
        break;
      case Json::value_t::number_unsigned:
        out += std::to_string(v.get<std::uint64_t>());
        break;
      case Json::value_t::number_float:
        out += format_float(v.get<double>());
        break;
      case Json::value_t::string:
        out += format_string(v.get_ref<const std::string&>());
        break;
      case Json::value_t::binary:
        throw IoError("cannot write a JSON binary value as YAML");
      default:
        throw IoError("cannot write this JSON value as YAML");
    }
  }

  static bool is_scalar(const Json& v) { return !v.is_object() && !v.is_array(); }

  // Flow style for empty collections and collections whose children are all scalars.
  static bool is_flow(const Json& v) {
    const Json& payload = untagged(v);
    if (is_scalar(payload)) return true;
    for (auto it = payload.begin(); it != payload.end(); ++it) {
      if (payload.is_object() && it.key() == kTagKey) continue;
      const Json& child = it.value();
      if (tag_of(child) || !is_scalar(child)) return false;
    }
    return true;
  }
};

}  // namespace

Json resolve_plain_scalar(std::string_view text) {
  bool b;
  if (match_null(text)) return Json(nullptr);
  if (match_bool(text, &b)) return Json(b);
  if (match_int(text)) return construct_int(text);
  if (match_float(text)) return construct_float(text);
  return Json(std::string(text));
}

bool is_safe_plain_string(std::string_view s) {
  if (s.empty()) return false;
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '.' || c == '/' || c == '-' || c == '+' || c == '(' || c == ')' || c == ' ' ||
           c == '@' || c == '$' || c == '^' || c == '=' || c == ';';
  };
  for (char c : s)
    if (!allowed(c)) return false;
  char first = s.front();
  if (first == ' ' || s.back() == ' ' || first == '@') return false;
  if ((first == '-' || first == '+') && (s.size() == 1 || s[1] == ' ')) return false;
  if (s == "=" || s.find("  ") != std::string_view::npos) return false;
  if (match_timestamp(s)) return false;
  bool b;
  if (match_null(s) || match_bool(s, &b) || match_int(s) || match_float(s)) return false;
  return true;
}

YamlDocument parse_yaml(std::string_view text, const std::string& origin, int max_depth) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw IoError(origin + ": malformed YAML tree: " + e.what());
  } catch (const std::exception& e) {
    throw IoError(origin + ": cannot parse the YAML tree: " + e.what());
  }
  YamlDocument doc;
  try {
    Converter conv(origin, 4 * text.size() + 10000, max_depth);
    std::string tag = root.Tag();
    doc.root_tag = is_nonspecific(tag) ? std::string() : tag;
    if (!root.IsDefined() || root.IsNull()) {
      doc.tree = Json::object();
      return doc;
    }
    doc.tree = conv.convert(root, 0);
    // The root's tag lives in root_tag only: drop it from a map, unwrap a tagged sequence/scalar.
    if (doc.tree.is_object() && doc.tree.contains(kTagKey)) {
      if (root.IsMap()) {
        doc.tree.erase(kTagKey);
      } else {
        Json value = doc.tree.at(kValueKey);
        doc.tree = std::move(value);
      }
    }
  } catch (const IoError&) {
    throw;
  } catch (const YAML::Exception& e) {
    throw IoError(origin + ": malformed YAML tree: " + e.what());
  } catch (const std::exception& e) {
    throw IoError(origin + ": cannot convert the YAML tree: " + e.what());
  }
  return doc;
}

std::string emit_yaml(const Json& tree, std::string_view root_tag) {
  Emitter em;
  em.out = "---";
  if (!root_tag.empty()) em.out += " " + format_tag(std::string(root_tag));
  const Json& payload = untagged(tree);
  if (payload.is_object() && !Emitter::is_flow(tree)) {
    em.out += '\n';
    em.block_map(payload, 0, false);
  } else if (payload.is_array() && !Emitter::is_flow(tree)) {
    em.out += '\n';
    em.block_seq(payload, 0);
  } else {
    em.out += ' ';
    em.flow(tree);
    em.out += '\n';
  }
  em.out += "...\n";
  return em.out;
}

}  // namespace stpipe::asdf
