// Parser for CRDS mapping files and other Python literals; mapping sha1sum computation.
#include "stpipe/crds/mapping.h"

#include <openssl/evp.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_set>

#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe::crds {

namespace {

std::string hex(const unsigned char* data, unsigned n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned k = 0; k < n; ++k) {
    out += kDigits[data[k] >> 4];
    out += kDigits[data[k] & 15];
  }
  return out;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Recursive-descent parser over the restricted Python grammar CRDS mappings use.
class Parser {
 public:
  Parser(const std::string& text, std::string where) : t_(text), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const {
    int line = 1;
    for (std::size_t k = 0; k < pos_ && k < t_.size(); ++k)
      if (t_[k] == '\n') ++line;
    throw ReferenceFileError("Cannot parse CRDS mapping '" + where_ + "' line " +
                             std::to_string(line) + ": " + what);
  }

  void skip_ws() {
    while (pos_ < t_.size()) {
      char c = t_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < t_.size() && t_[pos_] != '\n') ++pos_;
      } else if (c == '\\' && pos_ + 1 < t_.size() && t_[pos_ + 1] == '\n') {
        pos_ += 2;
      } else {
        break;
      }
    }
  }

  bool at_end() {
    skip_ws();
    return pos_ >= t_.size();
  }

  bool accept(char c) {
    skip_ws();
    if (pos_ < t_.size() && t_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }

  std::string name() {
    skip_ws();
    std::size_t start = pos_;
    while (pos_ < t_.size() &&
           (std::isalnum(static_cast<unsigned char>(t_[pos_])) || t_[pos_] == '_'))
      ++pos_;
    return t_.substr(start, pos_ - start);
  }

  PyValue value() {
    skip_ws();
    if (pos_ >= t_.size()) fail("unexpected end of text");
    char c = t_[pos_];
    if (c == '\'' || c == '"') return string_value();
    if (c == '(') return sequence('(', ')', PyValue::Kind::kTuple);
    if (c == '[') return sequence('[', ']', PyValue::Kind::kList);
    if (c == '{') return brace();
    if (c == '-' || c == '+' || c == '.' || std::isdigit(static_cast<unsigned char>(c)))
      return number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t save = pos_;
      std::string id = name();
      PyValue v;
      if (id == "None" || id == "null") return v;  // JSON spellings accepted too
      if (id == "True" || id == "False" || id == "true" || id == "false") {
        v.kind = PyValue::Kind::kBool;
        v.b = id == "True" || id == "true";
        return v;
      }
      // String prefixes r'..', u'..', b'..'.
      if ((id == "r" || id == "u" || id == "b" || id == "R" || id == "U") && pos_ < t_.size() &&
          (t_[pos_] == '\'' || t_[pos_] == '"'))
        return string_value(id == "r" || id == "R");
      skip_ws();
      static const std::set<std::string> kSelectors = {
          "Match",   "UseAfter",    "VersionAfter",        "SelectVersion",
          "Bracket", "ClosestTime", "GeometricallyNearest"};
      if (pos_ < t_.size() && t_[pos_] == '(' && kSelectors.count(id)) {
        v.kind = PyValue::Kind::kCall;
        v.s = id;
        ++pos_;
        if (!accept(')')) {
          v.items.push_back(value());
          while (accept(',')) {
            if (accept(')')) return v;
            v.items.push_back(value());
          }
          expect(')');
        }
        return v;
      }
      pos_ = save;
      fail("unexpected name '" + id + "'");
    }
    fail(std::string("unexpected character '") + c + "'");
  }

 private:
  PyValue number() {
    std::size_t start = pos_;
    if (t_[pos_] == '-' || t_[pos_] == '+') ++pos_;
    bool is_float = false;
    while (pos_ < t_.size()) {
      char c = t_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c)) || c == '_') {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E') {
        is_float = true;
        ++pos_;
        if ((c == 'e' || c == 'E') && pos_ < t_.size() && (t_[pos_] == '-' || t_[pos_] == '+'))
          ++pos_;
      } else {
        break;
      }
    }
    std::string text = t_.substr(start, pos_ - start);
    std::string clean;
    for (char c : text)
      if (c != '_') clean += c;
    PyValue v;
    try {
      if (is_float) {
        v.kind = PyValue::Kind::kFloat;
        v.f = std::stod(clean);
      } else {
        v.kind = PyValue::Kind::kInt;
        v.i = std::stoll(clean);
      }
    } catch (const std::exception&) {
      fail("bad number '" + text + "'");
    }
    return v;
  }

  PyValue string_value(bool raw = false) {
    PyValue v;
    v.kind = PyValue::Kind::kString;
    // Adjacent literals concatenate, as in Python.
    do {
      v.s += one_string(raw);
      raw = false;
      skip_ws();
    } while (pos_ < t_.size() && (t_[pos_] == '\'' || t_[pos_] == '"'));
    return v;
  }

  std::string one_string(bool raw) {
    char q = t_[pos_];
    bool triple = t_.compare(pos_, 3, std::string(3, q)) == 0;
    pos_ += triple ? 3 : 1;
    std::string out;
    while (true) {
      if (pos_ >= t_.size()) fail("unterminated string");
      char c = t_[pos_];
      if (triple ? t_.compare(pos_, 3, std::string(3, q)) == 0 : c == q) {
        pos_ += triple ? 3 : 1;
        return out;
      }
      if (c == '\n' && !triple) fail("newline in string");
      if (c == '\\' && pos_ + 1 < t_.size()) {
        char e = t_[pos_ + 1];
        if (raw) {
          out += c;
          out += e;
          pos_ += 2;
          continue;
        }
        pos_ += 2;
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case '0':
            out += '\0';
            break;
          case 'a':
            out += '\a';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'v':
            out += '\v';
            break;
          case '\\':
            out += '\\';
            break;
          case '\'':
            out += '\'';
            break;
          case '"':
            out += '"';
            break;
          case '\n':
            break;
          case 'x':
          case 'u':
          case 'U': {
            int n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
            if (pos_ + n > t_.size()) fail("bad escape");
            unsigned cp = 0;
            auto r = std::from_chars(t_.data() + pos_, t_.data() + pos_ + n, cp, 16);
            if (r.ec != std::errc() || r.ptr != t_.data() + pos_ + n) fail("bad escape");
            append_utf8(out, cp);
            pos_ += n;
            break;
          }
          default:
            out += '\\';
            out += e;
        }
        continue;
      }
      out += c;
      ++pos_;
    }
  }

  PyValue sequence(char open, char close, PyValue::Kind kind) {
    expect(open);
    PyValue v;
    v.kind = kind;
    bool trailing_comma = false;
    if (accept(close)) return v;
    v.items.push_back(value());
    while (accept(',')) {
      trailing_comma = true;
      if (accept(close)) return v;
      trailing_comma = false;
      v.items.push_back(value());
    }
    expect(close);
    // A parenthesised single value without a comma is just that value.
    if (kind == PyValue::Kind::kTuple && v.items.size() == 1 && !trailing_comma) {
      PyValue inner = v.items[0];
      return inner;
    }
    return v;
  }

  // A cheap identity for duplicate-key detection (repr() is slower).
  static std::string dup_key(const PyValue& k) {
    if (k.kind == PyValue::Kind::kString) return "s" + k.s;
    if (k.kind == PyValue::Kind::kTuple) {
      std::string out = "t";
      for (const auto& item : k.items) out += dup_key(item) + '\x1f';
      return out;
    }
    return "r" + k.repr();
  }

  PyValue brace() {
    expect('{');
    PyValue v;
    v.kind = PyValue::Kind::kDict;
    if (accept('}')) return v;
    PyValue first = value();
    if (accept(':')) {
      std::unordered_set<std::string> seen;
      auto add = [&](PyValue key, PyValue val) {
        if (!seen.insert(dup_key(key)).second) fail("duplicate key " + key.repr());
        v.dict.emplace_back(std::move(key), std::move(val));
      };
      add(std::move(first), value());
      while (accept(',')) {
        if (accept('}')) return v;
        PyValue key = value();
        expect(':');
        add(std::move(key), value());
      }
      expect('}');
      return v;
    }
    v.kind = PyValue::Kind::kSet;
    v.items.push_back(first);
    while (accept(',')) {
      if (accept('}')) return v;
      v.items.push_back(value());
    }
    expect('}');
    return v;
  }

  const std::string& t_;
  std::string where_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string python_float_str(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // e.g. "-1.2345e+03"
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  std::size_t e = sci.find('e');
  int exp10 = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (std::size_t k = 0; k < e; ++k)
    if (sci[k] != '.') digits += sci[k];
  std::string out;
  if (exp10 >= 16 || exp10 < -4) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += eb;
  } else if (exp10 < 0) {
    out = "0.";
    out.append(static_cast<std::size_t>(-exp10 - 1), '0');
    out += digits;
  } else {
    std::size_t int_len = static_cast<std::size_t>(exp10) + 1;
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return neg ? "-" + out : out;
}

std::string python_repr(const std::string& s) {
  char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out;
  out.reserve(s.size() + 2);
  out += q;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == q) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out + q;
}

std::string PyValue::str() const {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return b ? "True" : "False";
    case Kind::kInt:
      return std::to_string(i);
    case Kind::kFloat:
      return python_float_str(f);
    case Kind::kString:
      return s;
    default:
      return repr();
  }
}

std::string PyValue::repr() const {
  switch (kind) {
    case Kind::kString:
      return python_repr(s);
    case Kind::kTuple:
    case Kind::kList:
    case Kind::kSet: {
      std::string out = kind == Kind::kTuple ? "(" : (kind == Kind::kList ? "[" : "{");
      for (std::size_t k = 0; k < items.size(); ++k) out += (k ? ", " : "") + items[k].repr();
      if (kind == Kind::kTuple && items.size() == 1) out += ",";
      return out + (kind == Kind::kTuple ? ")" : (kind == Kind::kList ? "]" : "}"));
    }
    case Kind::kDict: {
      std::string out = "{";
      for (std::size_t k = 0; k < dict.size(); ++k)
        out += (k ? ", " : "") + dict[k].first.repr() + ": " + dict[k].second.repr();
      return out + "}";
    }
    case Kind::kCall: {
      std::string out = s + "(";
      for (std::size_t k = 0; k < items.size(); ++k) out += (k ? ", " : "") + items[k].repr();
      return out + ")";
    }
    default:
      return str();
  }
}

const PyValue* PyValue::get(const std::string& key) const {
  if (kind != Kind::kDict) return nullptr;
  for (const auto& [k, v] : dict)
    if (k.kind == Kind::kString && k.s == key) return &v;
  return nullptr;
}

PyValue parse_python_literal(const std::string& text, const std::string& where) {
  Parser p(text, where);
  PyValue v = p.value();
  if (!p.at_end()) p.fail("trailing text after the value");
  return v;
}

std::string mapping_checksum(const std::string& text) {
  std::string kept;
  kept.reserve(text.size());
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string_view line(text.data() + start, end - start);
    if (line.find("sha1sum") == std::string_view::npos) kept.append(line);
    start = end;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(kept.data(), kept.size(), md, &len, EVP_sha1(), nullptr);
  return hex(md, len);
}

std::string MappingFile::header_string(const std::string& key) const {
  const PyValue* v = header.get(key);
  return v && v->is_string() ? v->s : std::string();
}

std::string MappingFile::mapping_kind() const {
  std::string k = header_string("mapping");
  for (auto& c : k) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return k;
}

MappingFile parse_mapping(const std::string& text, const std::string& name, bool check_checksum) {
  Parser p(text, name);
  MappingFile m;
  m.name = name;
  bool have_header = false, have_selector = false;
  while (!p.at_end()) {
    std::string id = p.name();
    if (id.empty()) p.fail("expected 'header', 'comment' or 'selector'");
    p.expect('=');
    PyValue v = p.value();
    if (id == "header") {
      if (v.kind != PyValue::Kind::kDict) p.fail("header must be a dict");
      m.header = std::move(v);
      have_header = true;
    } else if (id == "comment") {
      m.comment = v.s;
    } else if (id == "selector") {
      if (v.kind != PyValue::Kind::kDict && v.kind != PyValue::Kind::kCall)
        p.fail("selector must be a dict or a Selector({...})");
      m.selector = std::move(v);
      have_selector = true;
    } else {
      p.fail("unexpected assignment to '" + id + "'");
    }
  }
  if (!have_header) throw ReferenceFileError("CRDS mapping '" + name + "' has no header");
  if (!have_selector) throw ReferenceFileError("CRDS mapping '" + name + "' has no selector");
  if (check_checksum) {
    std::string recorded = m.header_string("sha1sum");
    if (recorded.empty())
      throw ReferenceFileError("sha1sum is missing in CRDS mapping '" + name + "'");
    std::string actual = mapping_checksum(text);
    if (actual != recorded)
      throw ReferenceFileError("sha1sum mismatch in CRDS mapping '" + name + "': header says " +
                               recorded + ", text has " + actual +
                               " (use --no-checksum / CRDS_IGNORE_MAPPING_CHECKSUM to accept)");
  }
  return m;
}

MappingFile load_mapping_file(const std::filesystem::path& path, bool check_checksum) {
  return parse_mapping(read_text_file(path), path.filename().string(), check_checksum);
}

}  // namespace stpipe::crds
