// CRDS selector semantics: matchers, winnowing Match, UseAfter and the other selector classes.
#include "stpipe/crds/selector.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <regex>
#include <tuple>

#include "stpipe/util/strings.h"

namespace stpipe::crds {

namespace {

// ---------------------------------------------------------------- small string helpers

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  std::size_t k = 0;
  while (k < s.size()) {
    while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
    std::size_t st = k;
    while (k < s.size() && !std::isspace(static_cast<unsigned char>(s[k]))) ++k;
    if (k > st) out.push_back(s.substr(st, k - st));
  }
  return out;
}

std::vector<std::string> split_on(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t p = s.find(sep, start);
    if (p == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + sep.size();
  }
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (std::size_t k = 0; k < v.size(); ++k) out += (k ? sep : "") + v[k];
  return out;
}

std::string repr_list(const std::vector<std::string>& v, bool tuple) {
  std::string out = tuple ? "(" : "[";
  for (std::size_t k = 0; k < v.size(); ++k) out += (k ? ", " : "") + python_repr(v[k]);
  if (tuple && v.size() == 1) out += ",";
  return out + (tuple ? ")" : "]");
}

// Python float(): optional whitespace, a decimal/exponent number, inf/nan.
bool parse_float(const std::string& s, double& out) {
  std::string t = strip(s);
  if (t.empty()) return false;
  std::string clean;
  for (char c : t)
    if (c != '_') clean += c;
  char* end = nullptr;
  out = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return false;
  // strtod accepts hex floats; Python does not.
  return clean.find_first_of("xX") == std::string::npos;
}

// Python int(x, 10) for a string.
bool parse_int(const std::string& s, long long& out) {
  std::string t = strip(s);
  if (t.empty()) return false;
  std::size_t k = (t[0] == '+' || t[0] == '-') ? 1 : 0;
  if (k == t.size()) return false;
  for (std::size_t j = k; j < t.size(); ++j)
    if (!std::isdigit(static_cast<unsigned char>(t[j]))) return false;
  out = std::stoll(t);
  return true;
}

// ---------------------------------------------------------------- dates

struct DateTime {
  long long year = 1, month = 1, day = 1, hour = 0, minute = 0, second = 0, micro = 0;
};

[[noreturn]] void value_error(const std::string& msg) { throw std::invalid_argument(msg); }

long long int_or_fail(const std::string& s) {
  long long v;
  if (!parse_int(s, v)) value_error("invalid literal for int() with base 10: " + python_repr(s));
  return v;
}

bool is_leap(long long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

DateTime make_datetime(long long y, long long mo, long long d, long long h, long long mi,
                       long long s, long long us) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || y > 9999) value_error("year " + std::to_string(y) + " is out of range");
  if (mo < 1 || mo > 12) value_error("month must be in 1..12");
  int dim = kDays[mo - 1] + (mo == 2 && is_leap(y) ? 1 : 0);
  if (d < 1 || d > dim) value_error("day is out of range for month");
  if (h < 0 || h > 23) value_error("hour must be in 0..23");
  if (mi < 0 || mi > 59) value_error("minute must be in 0..59");
  if (s < 0 || s > 59) value_error("second must be in 0..59");
  if (us < 0 || us > 999999) value_error("microsecond must be in 0..999999");
  return DateTime{y, mo, d, h, mi, s, us};
}

void parse_time(std::string time, long long& h, long long& m, long long& s, long long& us) {
  time = strip(time);
  std::string ampm;
  if (time.size() >= 2) {
    std::string tail = to_upper(time.substr(time.size() - 2));
    if (tail == "AM" || tail == "PM") {
      ampm = tail;
      time = time.substr(0, time.size() - 2);
    }
  }
  std::vector<std::string> parts = split_on(time, ":");
  std::string second = "00";
  if (parts.size() == 2) {
  } else if (parts.size() == 3 || parts.size() == 4) {
    second = parts[2];
  } else if (parts.size() < 2) {
    value_error("not enough values to unpack (expected 2, got " + std::to_string(parts.size()) +
                ")");
  } else {
    value_error("too many values to unpack (expected 4)");
  }
  h = int_or_fail(parts[0]);
  m = int_or_fail(parts[1]);
  double sec;
  if (!parse_float(second, sec))
    value_error("could not convert string to float: " + python_repr(second));
  s = static_cast<long long>(sec);
  us = static_cast<long long>((sec - static_cast<double>(s)) * 1e6);
  if (ampm == "PM" && h < 12) h += 12;
  if (ampm == "AM" && h == 12) h -= 12;
}

bool all_digits(const std::string& s, std::size_t a, std::size_t n) {
  if (a + n > s.size()) return false;
  for (std::size_t k = a; k < a + n; ++k)
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) return false;
  return true;
}

DateTime parse_numerical_date(std::string dstr) {
  std::replace(dstr.begin(), dstr.end(), '-', '/');
  std::vector<std::string> parts = split_ws(dstr);
  if (parts.empty()) value_error("Unknown numerical date format: " + python_repr(dstr));
  std::string date = parts[0];
  std::string time = parts.size() == 1
                         ? "00:00:00"
                         : join(std::vector<std::string>(parts.begin() + 1, parts.end()), " ");
  long long h, mi, s, us;
  parse_time(time, h, mi, s, us);
  std::string year, month, day;
  auto slash = [&](std::size_t a, std::size_t b) {
    return date.size() > b && date[a] == '/' && date[b] == '/';
  };
  if (date.size() == 10 && slash(2, 5) && all_digits(date, 0, 2) && all_digits(date, 3, 2) &&
      all_digits(date, 6, 4)) {
    month = date.substr(0, 2), day = date.substr(3, 2), year = date.substr(6, 4);
  } else if (date.size() == 10 && slash(4, 7) && all_digits(date, 0, 4) && all_digits(date, 5, 2) &&
             all_digits(date, 8, 2)) {
    year = date.substr(0, 4), month = date.substr(5, 2), day = date.substr(8, 2);
  } else if (date.size() == 8 && slash(2, 5) && all_digits(date, 0, 2) && all_digits(date, 3, 2) &&
             all_digits(date, 6, 2) && (date[6] == '9' || date[6] <= '3')) {
    day = date.substr(0, 2), month = date.substr(3, 2);
    year = (date[6] == '9' ? "19" : "20") + date.substr(6, 2);
  } else if (date.size() == 15 && all_digits(date, 0, 8) && date[8] == ':' &&
             all_digits(date, 9, 6)) {
    year = date.substr(0, 4), month = date.substr(4, 2), day = date.substr(6, 2);
    h = std::stoll(date.substr(9, 2)), mi = std::stoll(date.substr(11, 2));
    s = std::stoll(date.substr(13, 2)), us = 0;
  } else {
    value_error("Unknown numerical date format: " + python_repr(dstr));
  }
  return make_datetime(std::stoll(year), std::stoll(month), std::stoll(day), h, mi, s, us);
}

long long month_num(const std::string& month, const std::string& initial) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::string m = month.substr(0, 3);
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!m.empty()) m[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(m[0])));
  for (int k = 0; k < 12; ++k)
    if (m == kMonths[k]) return k + 1;
  value_error("Invalid month value " + python_repr(month) + " in base date " +
              python_repr(initial));
}

DateTime parse_alphabetical_date(std::string date) {
  std::string initial = date;
  std::replace(date.begin(), date.end(), '-', ' ');
  std::replace(date.begin(), date.end(), '/', ' ');
  std::vector<std::string> parts = split_ws(date);
  std::string time = "00:00AM";
  if (parts.size() == 4) {
    time = parts[3];
  } else if (parts.size() != 3) {
    value_error("not enough values to unpack (expected 3, got " + std::to_string(parts.size()) +
                ")");
  }
  std::string month = parts[0], day = parts[1], year = parts[2];
  if (ends_with(day, ",")) day.pop_back();
  long long im, id, iy;
  try {
    im = month_num(month, initial);
    id = int_or_fail(day);
    iy = int_or_fail(year);
  } catch (const std::invalid_argument&) {
    std::swap(day, month);
    im = month_num(month, initial);
    id = int_or_fail(day);
    iy = int_or_fail(year);
  }
  long long h, mi, s, us;
  parse_time(time, h, mi, s, us);
  return make_datetime(iy, im, id, h, mi, s, us);
}

DateTime parse_date(std::string date) {
  if (date.find("UNDEFINED") != std::string::npos)
    value_error("One or more required date/time values is UNDEFINED");
  if (ends_with(date, " UT")) date = date.substr(0, date.size() - 3);
  static const std::regex kTSep(R"(^\d\d\d\d[-/]\d\d[-/]\d\dT\d\d(:\d\d){1,2}(\.\d{1,6})?$)");
  if (std::regex_match(date, kTSep)) std::replace(date.begin(), date.end(), 'T', ' ');
  static const std::regex kAlpha("[A-Za-z]{3,10}");
  if (std::regex_search(date, kAlpha)) return parse_alphabetical_date(date);
  return parse_numerical_date(date);
}

std::string format_date(const DateTime& d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld", d.year, d.month,
                d.day, d.hour, d.minute, d.second);
  std::string out = buf;
  if (d.micro) {
    std::snprintf(buf, sizeof buf, ".%06lld", d.micro);
    out += buf;
  }
  return out;
}

long long days_from_civil(long long y, long long m, long long d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

double total_seconds(const DateTime& d) {
  long long days = days_from_civil(d.year, d.month, d.day);
  long long secs = days * 86400 + d.hour * 3600 + d.minute * 60 + d.second;
  return static_cast<double>(secs) + static_cast<double>(d.micro) / 1e6;
}

// ---------------------------------------------------------------- keys and matchers

bool starts_with_nocase(const std::string& s, const char* p) {
  std::size_t n = std::strlen(p);
  if (s.size() < n) return false;
  for (std::size_t k = 0; k < n; ++k)
    if (std::toupper(static_cast<unsigned char>(s[k])) != p[k]) return false;
  return true;
}

bool esoteric_key(const std::string& key) {
  if (key.empty()) return false;
  char a = key.front(), b = key.back();
  bool bracketed = (a == '{' || a == '(' || a == '#') && (b == '}' || b == ')' || b == '#');
  return bracketed || starts_with_nocase(key, "BETWEEN") || starts_with_nocase(key, "NOT");
}

std::vector<std::string> glob_list(const std::string& value) {
  if (!esoteric_key(value) && value.find('|') != std::string::npos) {
    std::vector<std::string> out;
    for (auto& part : split_on(value, "|")) {
      std::string p = strip(part);
      if (!p.empty()) out.push_back(p);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  return {value};
}

std::string glob_compress(const std::string& value) { return join(glob_list(value), "|"); }

// fnmatch-style glob: * ? [seq] [!seq], case-sensitive, anchored.
bool glob_match(const char* p, const char* s) {
  while (*p) {
    if (*p == '*') {
      while (*p == '*') ++p;
      if (!*p) return true;
      for (const char* t = s; *t; ++t)
        if (glob_match(p, t)) return true;
      return glob_match(p, s + std::strlen(s));
    }
    if (!*s) return false;
    if (*p == '?') {
      ++p, ++s;
      continue;
    }
    if (*p == '[') {
      const char* q = p + 1;
      bool neg = false;
      if (*q == '!') neg = true, ++q;
      const char* start = q;
      if (*q == ']') ++q;
      while (*q && *q != ']') ++q;
      if (!*q) {  // no closing bracket: literal '['
        if (*s != '[') return false;
        ++p, ++s;
        continue;
      }
      bool found = false;
      for (const char* c = start; c < q; ++c) {
        if (c + 2 < q && c[1] == '-') {
          if (*s >= c[0] && *s <= c[2]) found = true;
          c += 2;
        } else if (*c == *s) {
          found = true;
        }
      }
      if (found == neg) return false;
      p = q + 1, ++s;
      continue;
    }
    if (*p != *s) return false;
    ++p, ++s;
  }
  return !*s;
}

class Matcher {
 public:
  enum class Kind { kLiteral, kRegex, kGlob, kInequality, kBinary, kNa, kNot };

  // Builds the matcher for one conditioned key element, as CRDS's selectors.matcher() does.
  static std::unique_ptr<Matcher> make(const std::string& key) {
    auto m = std::make_unique<Matcher>();
    m->key_ = key;
    if (starts_with(key, "(") && ends_with(key, ")") && key.size() >= 2) {
      m->kind_ = Kind::kRegex;
      m->key_ = key.substr(1, key.size() - 2);
      try {
        m->regex_ = std::make_unique<std::regex>(m->key_, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        // Reported when the rule is consulted, so one odd rule does not break the context.
        m->regex_error_ = "Bad regular expression " + python_repr(key) + ": " + e.what();
      }
    } else if (starts_with(key, "{") && ends_with(key, "}") && key.size() >= 2) {
      m->kind_ = Kind::kLiteral;
      m->key_ = key.substr(1, key.size() - 2);
    } else if (starts_with(key, "#") && ends_with(key, "#") && key.size() >= 2) {
      std::string k = to_upper(key);
      if (k.find(" AND ") != std::string::npos) return binary(k, "AND");
      if (k.find(" OR ") != std::string::npos) return binary(k, "OR");
      return make(k.substr(1, k.size() - 2));
    } else if (starts_with_nocase(key, "BETWEEN")) {
      std::vector<std::string> parts = split_ws(key);
      double lo, hi;
      if (parts.size() != 3 || !parse_float(parts[1], lo) || !parse_float(parts[2], hi) || lo > hi)
        throw ReferenceFileError("Invalid between relation " + python_repr(key));
      return binary(">=" + parts[1] + " AND <" + parts[2], "AND");
    } else if (starts_with_nocase(key, "NOT ")) {
      m->kind_ = Kind::kNot;
      m->a_ = make(strip(key.substr(4)));
    } else if (key.find('|') != std::string::npos || key.find('*') != std::string::npos) {
      m->kind_ = Kind::kGlob;
      m->globs_ = glob_list(key);
    } else if (key == "N/A") {
      m->kind_ = Kind::kNa;
    } else if (starts_with(key, ">") || starts_with(key, "<")) {
      static const std::regex kIneq(R"(^([><]=?)\s*([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?))");
      std::smatch sm;
      if (!std::regex_search(key, sm, kIneq))
        throw ReferenceFileError("Bad inequality " + python_repr(key));
      m->kind_ = Kind::kInequality;
      m->op_ = sm[1].str();
      m->number_ = std::stod(sm[2].str());
    } else {
      m->kind_ = Kind::kLiteral;
    }
    return m;
  }

  // 1 = match, 0 = don't care, -1 = no match.
  int match(const std::string& value_in) const {
    std::string value = kind_ == Kind::kBinary ? to_upper(value_in) : value_in;
    switch (kind_) {
      case Kind::kNa:
        return 0;
      case Kind::kNot: {
        int r = a_->match(value);
        return r == 1 ? -1 : (r == -1 ? 1 : 0);
      }
      default:
        break;
    }
    if (value == key_ || value == "*") return 1;
    if (value == "N/A") return 0;
    switch (kind_) {
      case Kind::kRegex:
        if (!regex_) throw SelectionError(regex_error_);
        return std::regex_search(value, *regex_, std::regex_constants::match_continuous) ? 1 : -1;
      case Kind::kGlob:
        for (const auto& g : globs_)
          if (glob_match(g.c_str(), value.c_str())) return 1;
        return -1;
      case Kind::kInequality: {
        double v;
        if (!parse_float(value, v)) return -1;
        bool r = op_ == ">"    ? v > number_
                 : op_ == "<"  ? v < number_
                 : op_ == ">=" ? v >= number_
                               : v <= number_;
        return r ? 1 : -1;
      }
      case Kind::kBinary: {
        bool r1 = a_->match(value) == 1, r2 = b_->match(value) == 1;
        return (and_ ? (r1 && r2) : (r1 || r2)) ? 1 : -1;
      }
      default:
        return -1;
    }
  }

 private:
  static std::unique_ptr<Matcher> binary(std::string key, const std::string& op) {
    auto m = std::make_unique<Matcher>();
    m->kind_ = Kind::kBinary;
    m->key_ = key;
    m->and_ = op == "AND";
    key = strip(key);
    if (starts_with(key, "#")) key = key.substr(1, key.size() - 2);
    std::vector<std::string> parts = split_on(key, op);
    m->a_ = make(strip(parts[0]));
    m->b_ = make(strip(parts.size() > 1 ? parts[1] : ""));
    return m;
  }

  Kind kind_ = Kind::kLiteral;
  std::string key_;
  std::unique_ptr<std::regex> regex_;
  std::string regex_error_;
  std::vector<std::string> globs_;
  std::string op_;
  double number_ = 0;
  bool and_ = true;
  std::unique_ptr<Matcher> a_, b_;
};

// ---------------------------------------------------------------- choices

// A selector's choice: a nested selector, or a terminal value in the mapping's own tree
// (not copied; `owned` keeps values built at lookup time, such as tie tuples, alive).
struct Choice {
  const PyValue* terminal = nullptr;
  std::shared_ptr<const PyValue> owned;
  std::shared_ptr<Selector> nested;
};

std::string choice_repr(const Choice& c) {
  return c.nested ? c.nested->class_name() + "(...)" : c.terminal->repr();
}

PyValue resolve(const Choice& c, const Header& h, std::vector<std::string>* trace) {
  if (c.nested) return c.nested->choose(h, trace);
  return *c.terminal;
}

void collect_choice(const Choice& c, std::set<std::string>& names) {
  if (c.nested) {
    c.nested->collect_names(names);
  } else if (c.terminal->is_string()) {
    names.insert(c.terminal->s);
  } else if (c.terminal->is_tuple()) {
    for (const auto& v : c.terminal->items)
      if (v.is_string()) names.insert(v.s);
  } else if (c.terminal->kind == PyValue::Kind::kDict) {
    for (const auto& kv : c.terminal->dict)
      if (kv.second.is_string()) names.insert(kv.second.s);
  }
}

Choice compile_choice(const PyValue& v, const PyValue& parkey, std::size_t level,
                      const SelectorOptions& opt) {
  Choice c;
  if (v.kind == PyValue::Kind::kCall) {
    c.nested = compile_selector(v, parkey, level + 1, opt);
  } else {
    c.terminal = &v;
  }
  return c;
}

std::string header_value(const Header& h, const std::string& key) {
  auto it = h.find(key);
  return it == h.end() ? std::string("UNDEFINED") : it->second;
}

void trace_line(std::vector<std::string>* trace, const std::string& line) {
  if (trace) trace->push_back(line);
}

// ---------------------------------------------------------------- Match

class MatchSelector : public Selector {
 public:
  struct Rule {
    std::vector<std::string> key;  // conditioned
    const PyValue* raw = nullptr;  // as written in the rmap, for --explain
    std::vector<std::unique_ptr<Matcher>> matchers;
    Choice choice;
  };

  MatchSelector(std::vector<std::string> params, const PyValue& dict, const PyValue& parkey,
                std::size_t level, const SelectorOptions& opt)
      : opt_(opt) {
    parameters_ = std::move(params);
    for (const auto& [k, v] : dict.dict) {
      std::vector<PyValue> single;
      if (k.kind != PyValue::Kind::kTuple) single.push_back(k);
      const std::vector<PyValue>& elems = k.kind == PyValue::Kind::kTuple ? k.items : single;
      if (elems.size() != parameters_.size())
        throw ReferenceFileError("Match key " + k.repr() + " in '" + opt.rmap_name +
                                 "' is wrong length for parameters " +
                                 repr_list(parameters_, true));
      Rule r;
      r.raw = &k;
      for (std::size_t i = 0; i < elems.size(); ++i) {
        PyValue e = substitute(parameters_[i], elems[i]);
        r.key.push_back(condition_element(e));
      }
      for (const auto& e : r.key) r.matchers.push_back(Matcher::make(e));
      r.choice = compile_choice(v, parkey, level, opt);
      rules_.push_back(std::move(r));
    }
    std::sort(rules_.begin(), rules_.end(),
              [](const Rule& a, const Rule& b) { return a.key < b.key; });
    for (std::size_t k = 1; k < rules_.size(); ++k)
      if (rules_[k].key == rules_[k - 1].key)
        throw ReferenceFileError("Duplicate Match key " + repr_list(rules_[k].key, true) + " in '" +
                                 opt.rmap_name + "'");
  }

  // Valid values per parameter ([] = no check), as CRDS's get_parkey_map(); computed on first
  // use since only header validation needs them.
  void compute_valid_values() const {
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      std::set<std::string> vals;
      bool esoteric = false;
      for (const auto& r : rules_) {
        if (esoteric_key(r.key[i])) {
          esoteric = true;
          break;
        }
        for (auto& g : glob_list(r.key[i])) vals.insert(g);
      }
      valid_[parameters_[i]] = esoteric ? std::vector<std::string>{}
                                        : std::vector<std::string>(vals.begin(), vals.end());
    }
  }

  std::string class_name() const override { return "Match"; }

  void collect_names(std::set<std::string>& names) const override {
    for (const auto& r : rules_) collect_choice(r.choice, names);
  }

  PyValue choose(const Header& h, std::vector<std::string>* trace) const override {
    std::call_once(valid_once_, [this] { compute_valid_values(); });
    for (const auto& name : parameters_) {
      if (!h.count(name)) {
        const auto& vl = valid_.at(name);
        if (std::find(vl.begin(), vl.end(), "N/A") == vl.end())
          throw SelectionError("Match required lookup parameter " + python_repr(name) +
                               " is undefined.");
      }
    }
    for (const auto& name : parameters_) validate_value(name, header_value(h, name));

    // Winnow: eliminate rules that cannot match, weight the rest by exact matches.
    std::vector<std::pair<int, std::size_t>> survivors;
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      int weight = 0;
      bool alive = true;
      for (std::size_t i = 0; i < parameters_.size() && alive; ++i) {
        int status = rules_[r].matchers[i]->match(header_value(h, parameters_[i]));
        if (status == -1) alive = false;
        weight -= status;
      }
      if (alive) survivors.emplace_back(weight, r);
    }
    std::stable_sort(survivors.begin(), survivors.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    if (trace) {
      std::vector<std::string> vals;
      for (const auto& p : parameters_) vals.push_back(p + "=" + python_repr(header_value(h, p)));
      trace->push_back("Match on " + join(vals, ", ") + ": " + std::to_string(survivors.size()) +
                       " of " + std::to_string(rules_.size()) + " rules can match");
    }
    std::string last_error;
    for (std::size_t g = 0; g < survivors.size();) {
      std::size_t e = g;
      while (e < survivors.size() && survivors[e].first == survivors[g].first) ++e;
      std::vector<const Rule*> group;
      for (std::size_t k = g; k < e; ++k) group.push_back(&rules_[survivors[k].second]);
      int exact = -survivors[g].first;
      g = e;
      Choice choice;
      std::string keys;
      if (trace)
        for (const Rule* r : group)
          keys += (keys.empty() ? "" : " + ") + (r->raw->kind == PyValue::Kind::kTuple
                                                     ? r->raw->repr()
                                                     : "(" + r->raw->repr() + ",)");
      if (group.size() > 1) {
        if (!opt_.merge_overlaps) throw SelectionError("More than one match clause matched.");
        if (group[0]->choice.nested) {
          std::shared_ptr<Selector> merged = group[0]->choice.nested;
          for (std::size_t k = 1; k < group.size(); ++k)
            merged = merge(merged, group[k]->choice.nested);
          choice.nested = merged;
        } else {
          auto tuple = std::make_shared<PyValue>();
          tuple->kind = PyValue::Kind::kTuple;
          for (const Rule* r : group) tuple->items.push_back(*r->choice.terminal);
          choice.terminal = tuple.get();
          choice.owned = std::move(tuple);
        }
      } else {
        choice = group[0]->choice;
      }
      trace_line(trace, "  trying rule " + keys + " (" + std::to_string(exact) +
                            " exact matches) -> " + choice_repr(choice));
      try {
        return resolve(choice, h, trace);
      } catch (const LookupError& err) {
        last_error = err.what();
        trace_line(trace, "  rule " + keys + " failed: " + last_error + "; trying the next one");
      }
    }
    trace_line(trace, "  no rule matched");
    throw LookupError("No match found.");
  }

 private:
  PyValue substitute(const std::string& param, const PyValue& elem) const {
    const PyValue* subs = opt_.substitutions.get(param);
    if (!subs || !elem.is_string()) return elem;
    const PyValue* rep = subs->get(elem.s);
    return rep ? *rep : elem;
  }

  static std::string condition_element(const PyValue& e) {
    if (e.is_string()) {
      const std::string& s = e.s;
      if ((starts_with(s, "{") && ends_with(s, "}")) || (starts_with(s, "(") && ends_with(s, ")")))
        return s;
      if (s.find('|') != std::string::npos) {
        std::vector<std::string> parts;
        for (auto& p : glob_list(s)) parts.push_back(condition_value(p));
        return join(parts, "|");
      }
      return condition_value(glob_compress(s));
    }
    if (e.is_tuple() || e.kind == PyValue::Kind::kSet) {
      std::vector<std::string> parts;
      for (auto& p : e.items) parts.push_back(condition_value(p.str()));
      return join(parts, "|");
    }
    return condition_value(e.str());
  }

  void validate_value(const std::string& name, const std::string& value) const {
    const auto& vl = valid_.at(name);
    auto has = [&](const std::string& v) { return std::find(vl.begin(), vl.end(), v) != vl.end(); };
    if (has(value) || has(condition_value(value))) return;
    if (has("*") || has("ANY") || has("N/A")) return;
    if (vl.empty()) return;
    if (starts_with(value, "NOT")) return validate_value(name, strip(value.substr(3)));
    if (esoteric_key(value) || value == "*" || value == "ANY" || value == "N/A") return;
    if (const PyValue* subs = opt_.substitutions.get(name)) {
      if (const PyValue* rep = subs->get(value); rep && rep->is_string())
        return validate_value(name, rep->s);
    }
    throw SelectionError(" parameter=" + python_repr(name) + " value=" + python_repr(value) +
                         " is not in " + repr_list(vl, false));
  }

  static std::shared_ptr<Selector> merge(const std::shared_ptr<Selector>& a,
                                         const std::shared_ptr<Selector>& b);

  SelectorOptions opt_;
  std::vector<Rule> rules_;
  mutable std::once_flag valid_once_;
  mutable std::map<std::string, std::vector<std::string>> valid_;
};

// ---------------------------------------------------------------- UseAfter family

std::string validated_date(const std::string& short_name, const std::vector<std::string>& params,
                           const Header& h) {
  for (const auto& p : params)
    if (!h.count(p))
      throw SelectionError(short_name + " required lookup parameter " + python_repr(p) +
                           " is undefined.");
  std::string date;
  for (const auto& p : params) {
    std::string v = strip(h.at(p));
    if (v == "UNDEFINED")
      throw SelectionError(short_name + " parameter " + python_repr(p) + " is UNDEFINED.");
    date += v + " ";
  }
  date = strip(date);
  try {
    return format_date(parse_date(date));
  } catch (const std::invalid_argument& e) {
    throw SelectionError(short_name + " Invalid date/time format for " + repr_list(params, true) +
                         " value = " + python_repr(date) + " exception is " +
                         python_repr(e.what()));
  }
}

class UseAfterSelector : public Selector {
 public:
  using Entries = std::vector<std::pair<std::string, Choice>>;

  UseAfterSelector(std::vector<std::string> params, Entries entries)
      : entries_(std::move(entries)) {
    parameters_ = std::move(params);
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }

  std::string class_name() const override { return "UseAfter"; }

  void collect_names(std::set<std::string>& names) const override {
    for (const auto& e : entries_) collect_choice(e.second, names);
  }

  PyValue choose(const Header& h, std::vector<std::string>* trace) const override {
    std::string date = validated_date("UseAfter", parameters_, h);
    auto it = std::upper_bound(entries_.begin(), entries_.end(), date,
                               [](const std::string& d, const auto& e) { return d < e.first; });
    if (it == entries_.begin()) {
      trace_line(trace,
                 "  UseAfter " + python_repr(date) + ": every USEAFTER is later (first " +
                     (entries_.empty() ? std::string("none") : python_repr(entries_[0].first)) +
                     ")");
      throw LookupError("No selection <= " + python_repr(date));
    }
    --it;
    trace_line(trace, "  UseAfter " + python_repr(date) + ": latest USEAFTER not after it is " +
                          python_repr(it->first) + " -> " + choice_repr(it->second));
    return resolve(it->second, h, trace);
  }

  // Merges equal-weight UseAfters; on colliding dates the greater choice (file name) wins.
  std::shared_ptr<Selector> merged_with(const UseAfterSelector& other) const {
    Entries out;
    std::size_t i = 0, j = 0;
    while (i < entries_.size() && j < other.entries_.size()) {
      const auto& a = entries_[i];
      const auto& b = other.entries_[j];
      if (a.first < b.first) {
        out.push_back(a), ++i;
      } else if (b.first < a.first) {
        out.push_back(b), ++j;
      } else {
        std::string ca = a.second.nested ? "" : a.second.terminal->str();
        std::string cb = b.second.nested ? "" : b.second.terminal->str();
        out.push_back(ca >= cb ? a : b);
        ++i, ++j;
      }
    }
    for (; i < entries_.size(); ++i) out.push_back(entries_[i]);
    for (; j < other.entries_.size(); ++j) out.push_back(other.entries_[j]);
    return std::make_shared<UseAfterSelector>(parameters_, std::move(out));
  }

 protected:
  Entries entries_;
};

std::shared_ptr<Selector> MatchSelector::merge(const std::shared_ptr<Selector>& a,
                                               const std::shared_ptr<Selector>& b) {
  auto* ua = dynamic_cast<const UseAfterSelector*>(a.get());
  auto* ub = dynamic_cast<const UseAfterSelector*>(b.get());
  if (!ua || !ub || a->class_name() != "UseAfter" || b->class_name() != "UseAfter")
    throw SelectionError("More than one match was found at the same weight and " + a->class_name() +
                         " does not support merging.");
  return ua->merged_with(*ub);
}

class ClosestTimeSelector : public UseAfterSelector {
 public:
  using UseAfterSelector::UseAfterSelector;
  std::string class_name() const override { return "ClosestTime"; }

  PyValue choose(const Header& h, std::vector<std::string>* trace) const override {
    std::string date = validated_date("ClosestTime", parameters_, h);
    if (entries_.empty()) throw LookupError("No selection for " + python_repr(date));
    double t = total_seconds(parse_date(date));
    std::size_t best = 0;
    float best_diff = std::numeric_limits<float>::infinity();
    for (std::size_t k = 0; k < entries_.size(); ++k) {
      double tk;
      try {
        tk = total_seconds(parse_date(entries_[k].first));
      } catch (const std::invalid_argument& e) {
        throw SelectionError(std::string("ClosestTime bad key: ") + e.what());
      }
      float diff = static_cast<float>(std::fabs(t - tk));
      if (diff < best_diff) best_diff = diff, best = k;
    }
    trace_line(trace, "  ClosestTime " + python_repr(date) + ": nearest is " +
                          python_repr(entries_[best].first) + " -> " +
                          choice_repr(entries_[best].second));
    return resolve(entries_[best].second, h, trace);
  }
};

std::vector<long long> version_tuple(const std::string& v) {
  std::vector<long long> out;
  for (auto& part : split_on(v, ".")) {
    std::size_t k = 0;
    while (k < part.size() && std::isdigit(static_cast<unsigned char>(part[k]))) ++k;
    if (k == 0) break;
    out.push_back(std::stoll(part.substr(0, k)));
    if (out.size() == 3 || k != part.size()) break;
  }
  if (out.empty()) throw SelectionError("Invalid version string " + python_repr(v));
  while (out.size() < 3) out.push_back(0);
  return out;
}

class VersionAfterSelector : public Selector {
 public:
  VersionAfterSelector(std::vector<std::string> params, UseAfterSelector::Entries entries) {
    parameters_ = std::move(params);
    for (auto& [k, c] : entries) entries_.push_back({version_tuple(k), {k, c}});
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  std::string class_name() const override { return "VersionAfter"; }
  void collect_names(std::set<std::string>& names) const override {
    for (const auto& e : entries_) collect_choice(e.second.second, names);
  }
  PyValue choose(const Header& h, std::vector<std::string>* trace) const override {
    std::vector<std::string> vals;
    for (const auto& p : parameters_) {
      if (!h.count(p))
        throw SelectionError("VersionAfter required lookup parameter " + python_repr(p) +
                             " is undefined.");
      vals.push_back(h.at(p));
    }
    std::string key = glob_compress(join(vals, "."));
    std::vector<long long> v = version_tuple(key);
    const Choice* found = nullptr;
    std::string found_key;
    for (const auto& e : entries_)
      if (e.first <= v) found = &e.second.second, found_key = e.second.first;
    if (!found) throw LookupError("No selection <= " + python_repr(key));
    trace_line(trace, "  VersionAfter " + python_repr(key) + ": chose " + python_repr(found_key) +
                          " -> " + choice_repr(*found));
    return resolve(*found, h, trace);
  }

 private:
  std::vector<std::pair<std::vector<long long>, std::pair<std::string, Choice>>> entries_;
};

// ---------------------------------------------------------------- numeric selectors

double header_number(const std::string& short_name, const std::string& name, const Header& h) {
  auto it = h.find(name);
  if (it == h.end()) throw SelectionError(python_repr(name));
  double v;
  if (!parse_float(it->second, v))
    throw SelectionError(short_name + " Invalid number for " + python_repr(name) +
                         " value = " + python_repr(it->second));
  return v;
}

double key_number(const PyValue& k, const std::string& rmap) {
  if (k.kind == PyValue::Kind::kInt) return static_cast<double>(k.i);
  if (k.kind == PyValue::Kind::kFloat) return k.f;
  double v;
  if (k.is_string() && parse_float(k.s, v)) return v;
  throw ReferenceFileError("Non-numeric selector key " + k.repr() + " in '" + rmap + "'");
}

class BracketSelector : public Selector {
 public:
  BracketSelector(std::vector<std::string> params, std::vector<std::pair<double, Choice>> e)
      : entries_(std::move(e)) {
    parameters_ = std::move(params);
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  std::string class_name() const override { return "Bracket"; }
  void collect_names(std::set<std::string>& names) const override {
    for (const auto& e : entries_) collect_choice(e.second, names);
  }
  PyValue choose(const Header& h, std::vector<std::string>* trace) const override {
    double x = header_number("Bracket", parameters_.at(0), h);
    if (entries_.empty()) throw SelectionError("list index out of range");
    std::size_t idx = 0;
    while (idx < entries_.size() && x > entries_[idx].first) ++idx;
    std::size_t lo, hi;
    if (idx == entries_.size()) {
      lo = hi = idx - 1;
    } else if (idx == 0 || x == entries_[idx].first) {
      lo = hi = idx;
    } else {
      lo = idx - 1, hi = idx;
    }
    trace_line(trace, "  Bracket " + python_float_str(x) + ": between keys " +
                          python_float_str(entries_[lo].first) + " and " +
                          python_float_str(entries_[hi].first));
    PyValue out;
    out.kind = PyValue::Kind::kTuple;
    out.items.push_back(resolve(entries_[lo].second, h, trace));
    out.items.push_back(lo == hi ? out.items[0] : resolve(entries_[hi].second, h, trace));
    return out;
  }

 private:
  std::vector<std::pair<double, Choice>> entries_;
};

class GeometricallyNearestSelector : public Selector {
 public:
  GeometricallyNearestSelector(std::vector<std::string> params,
                               std::vector<std::pair<std::string, Choice>> e)
      : entries_(std::move(e)) {
    parameters_ = std::move(params);
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [k, c] : entries_) {
      double v;
      if (!parse_float(k, v)) throw ReferenceFileError("Non-numeric GeometricallyNearest key " + k);
      numbers_.push_back(static_cast<float>(v));
    }
  }
  std::string class_name() const override { return "GeometricallyNearest"; }
  void collect_names(std::set<std::string>& names) const override {
    for (const auto& e : entries_) collect_choice(e.second, names);
  }
  PyValue choose(const Header& h, std::vector<std::string>* trace) const override {
    const std::string& name = parameters_.at(0);
    if (!h.count(name)) {
      bool has_na = false;
      for (const auto& e : entries_) has_na |= e.first == "N/A";
      if (!has_na)
        throw SelectionError("GeometricallyNearest required lookup parameter " + python_repr(name) +
                             " is undefined.");
    }
    double x = header_number("GeometricallyNearest", name, h);
    if (entries_.empty()) throw SelectionError("attempt to get argmin of an empty sequence");
    std::size_t best = 0;
    float best_diff = std::numeric_limits<float>::infinity();
    for (std::size_t k = 0; k < numbers_.size(); ++k) {
      float diff = std::fabs(numbers_[k] - static_cast<float>(x));
      if (diff < best_diff) best_diff = diff, best = k;
    }
    trace_line(trace, "  GeometricallyNearest " + python_float_str(x) + ": nearest key " +
                          entries_[best].first + " -> " + choice_repr(entries_[best].second));
    return resolve(entries_[best].second, h, trace);
  }

 private:
  std::vector<std::pair<std::string, Choice>> entries_;
  std::vector<float> numbers_;
};

class SelectVersionSelector : public Selector {
 public:
  struct Entry {
    double version;
    char relation;  // '<' or '='
    std::string text;
    Choice choice;
  };
  SelectVersionSelector(std::vector<std::string> params, std::vector<Entry> e)
      : entries_(std::move(e)) {
    parameters_ = std::move(params);
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.version, a.relation) < std::tie(b.version, b.relation);
    });
  }
  static Entry parse_relation(const std::string& text, Choice c, const std::string& rmap) {
    Entry e{0, '=', text, std::move(c)};
    std::string t = strip(text);
    std::string no_eq;
    for (char ch : t)
      if (ch != '=') no_eq += ch;
    if (strip(no_eq) == "default") {
      e.version = std::numeric_limits<double>::infinity();
      return e;
    }
    if (!starts_with(t, "<") && !starts_with(t, "=")) t = "=" + t;
    if (starts_with(t, "<")) e.relation = '<';
    std::size_t k = 0;
    while (k < t.size() && (t[k] == '<' || t[k] == '=')) ++k;
    if (!parse_float(t.substr(k), e.version))
      throw ReferenceFileError("Invalid version expression in: " + python_repr(text) + " in '" +
                               rmap + "'");
    return e;
  }
  std::string class_name() const override { return "SelectVersion"; }
  void collect_names(std::set<std::string>& names) const override {
    for (const auto& e : entries_) collect_choice(e.choice, names);
  }
  PyValue choose(const Header& h, std::vector<std::string>* trace) const override {
    const std::string& name = parameters_.at(0);
    auto it = h.find(name);
    if (it == h.end()) throw SelectionError(python_repr(name));
    std::string value = it->second;
    std::string no_eq;
    for (char ch : value)
      if (ch != '=') no_eq += ch;
    double v;
    if (strip(no_eq) == "default" || strip(no_eq) == "DEFAULT") {
      v = std::numeric_limits<double>::infinity();
    } else if (!parse_float(value, v)) {
      throw SelectionError("SelectVersion Invalid number for " + python_repr(name) +
                           " value = " + python_repr(value));
    }
    std::size_t idx = 0;
    while (idx < entries_.size() &&
           std::tie(entries_[idx].version, entries_[idx].relation) < std::make_tuple(v, '='))
      ++idx;
    if (idx == entries_.size()) throw SelectionError("list index out of range");
    trace_line(trace, "  SelectVersion " + python_repr(value) + ": relation " +
                          python_repr(entries_[idx].text) + " -> " +
                          choice_repr(entries_[idx].choice));
    return resolve(entries_[idx].choice, h, trace);
  }

 private:
  std::vector<Entry> entries_;
};

std::vector<std::string> level_parameters(const PyValue& parkey, std::size_t level,
                                          const std::string& rmap) {
  std::vector<std::string> out;
  bool nested = !parkey.items.empty() && parkey.items[0].is_tuple();
  if (!nested) {
    if (level != 0)
      throw ReferenceFileError("Selector nesting deeper than parkey in '" + rmap + "'");
    for (const auto& p : parkey.items) out.push_back(to_upper(p.str()));
    return out;
  }
  if (level >= parkey.items.size())
    throw ReferenceFileError("Selector nesting deeper than parkey in '" + rmap + "'");
  for (const auto& p : parkey.items[level].items) out.push_back(to_upper(p.str()));
  return out;
}

}  // namespace

std::string reformat_date(const std::string& date) {
  try {
    return format_date(parse_date(date));
  } catch (const std::invalid_argument& e) {
    throw SelectionError(e.what());
  }
}

std::shared_ptr<Selector> compile_selector(const PyValue& value, const PyValue& parkey,
                                           std::size_t level, const SelectorOptions& opt) {
  std::string cls = "Match";
  const PyValue* dict = &value;
  if (value.kind == PyValue::Kind::kCall) {
    cls = value.s;
    if (value.items.size() != 1 || value.items[0].kind != PyValue::Kind::kDict)
      throw ReferenceFileError(cls + " in '" + opt.rmap_name + "' must take one dict");
    dict = &value.items[0];
  } else if (value.kind != PyValue::Kind::kDict) {
    throw ReferenceFileError("Bad selector in '" + opt.rmap_name + "'");
  }
  std::vector<std::string> params = level_parameters(parkey, level, opt.rmap_name);
  if (cls == "Match") return std::make_shared<MatchSelector>(params, *dict, parkey, level, opt);
  if (cls == "UseAfter" || cls == "ClosestTime" || cls == "VersionAfter") {
    UseAfterSelector::Entries entries;
    for (const auto& [k, v] : dict->dict)
      entries.emplace_back(k.str(), compile_choice(v, parkey, level, opt));
    if (cls == "UseAfter") return std::make_shared<UseAfterSelector>(params, std::move(entries));
    if (cls == "ClosestTime")
      return std::make_shared<ClosestTimeSelector>(params, std::move(entries));
    return std::make_shared<VersionAfterSelector>(params, std::move(entries));
  }
  if (cls == "Bracket") {
    std::vector<std::pair<double, Choice>> entries;
    for (const auto& [k, v] : dict->dict)
      entries.emplace_back(key_number(k, opt.rmap_name), compile_choice(v, parkey, level, opt));
    return std::make_shared<BracketSelector>(params, std::move(entries));
  }
  if (cls == "GeometricallyNearest") {
    std::vector<std::pair<std::string, Choice>> entries;
    for (const auto& [k, v] : dict->dict)
      entries.emplace_back(condition_value(k.str()), compile_choice(v, parkey, level, opt));
    return std::make_shared<GeometricallyNearestSelector>(params, std::move(entries));
  }
  if (cls == "SelectVersion") {
    std::vector<SelectVersionSelector::Entry> entries;
    for (const auto& [k, v] : dict->dict)
      entries.push_back(SelectVersionSelector::parse_relation(
          k.str(), compile_choice(v, parkey, level, opt), opt.rmap_name));
    return std::make_shared<SelectVersionSelector>(params, std::move(entries));
  }
  throw ReferenceFileError("Unknown selector class '" + cls + "' in '" + opt.rmap_name + "'");
}

}  // namespace stpipe::crds
