// Configspec checks (validate's syntax and check functions, plus stpipe's file checks) and
// whole-tree validation with stpipe's error messages.
#include "stpipe/config/configspec.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <system_error>

#include "config/text_util.h"

namespace stpipe::config {

namespace {

using Json = nlohmann::json;

const std::set<std::string> kKnownChecks = {"",
                                            "pass",
                                            "integer",
                                            "float",
                                            "boolean",
                                            "string",
                                            "option",
                                            "list",
                                            "tuple",
                                            "int_list",
                                            "float_list",
                                            "bool_list",
                                            "string_list",
                                            "mixed_list",
                                            "force_list",
                                            "ip_addr",
                                            "ip_addr_list",
                                            "input_file",
                                            "output_file",
                                            "is_string_or_datamodel",
                                            "is_datamodel"};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
// ASCII part of Python's `\s` (multi-byte Unicode spaces are not recognised in checks).
bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}
bool is_quote(char c) { return c == '"' || c == '\''; }

std::size_t skip_ws(std::string_view s, std::size_t p) {
  while (p < s.size() && is_space(s[p])) ++p;
  return p;
}

// validate's Validator._unquote.
std::string vunquote(std::string_view v) {
  if (v.size() >= 2 && is_quote(v.front()) && v.front() == v.back())
    return std::string(v.substr(1, v.size() - 2));
  return std::string(v);
}

std::string strip(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// `(?:\s*,\s*)|(?:\s*$)` at p: returns the end of the terminator or npos.
std::size_t terminator(std::string_view s, std::size_t p) {
  const std::size_t f = skip_ws(s, p);
  if (f < s.size() && s[f] == ',') return skip_ws(s, f + 1);
  if (f == s.size()) return f;
  return std::string_view::npos;
}

// Identifier at p; returns its end or npos.
std::size_t ident_end(std::string_view s, std::size_t p) {
  if (p >= s.size() || !is_ident_start(s[p])) return std::string_view::npos;
  ++p;
  while (p < s.size() && is_ident_char(s[p])) ++p;
  return p;
}

// A quoted or unquoted (`[^'",\s<stop>][^,<stop>]*?`) scalar followed by `follow`; returns end of
// the scalar (the terminator is checked by the caller through `follow`).
template <typename Follow>
std::size_t scalar_then(std::string_view s, std::size_t p, char stop, Follow follow) {
  if (p >= s.size()) return std::string_view::npos;
  const char c = s[p];
  if (is_quote(c)) {
    for (std::size_t q = p + 1; q < s.size(); ++q) {
      if (s[q] == c && follow(q + 1)) return q + 1;
    }
    return std::string_view::npos;
  }
  if (c == ',' || c == stop || is_space(c)) return std::string_view::npos;
  for (std::size_t e = p + 1; e <= s.size(); ++e) {
    if (follow(e)) return e;
    if (e < s.size() && (s[e] == ',' || s[e] == stop)) break;
  }
  return std::string_view::npos;
}

// validate's _list_members.findall over the text between "list(" and ")".
std::vector<std::string> split_list_members(std::string_view m) {
  std::vector<std::string> out;
  auto follow = [&](std::size_t e) {
    const std::size_t f = skip_ws(m, e);
    return f == m.size() || m[f] == ',';
  };
  std::size_t p = 0;
  while (p < m.size()) {
    const std::size_t e = scalar_then(m, p, '=', follow);
    if (e == std::string_view::npos) {
      ++p;
      continue;
    }
    out.push_back(vunquote(m.substr(p, e - p)));
    const std::size_t f = skip_ws(m, e);
    p = f < m.size() ? skip_ws(m, f + 1) : f;
  }
  return out;
}

// The `list(...)` of a keyword argument, from just after "(": validate's greedy member
// repetition, last member and ")" followed by an argument terminator, searched depth first in
// the regex's order. Fills members and returns the index after ")", or npos.
std::size_t list_members(std::string_view s, std::size_t p0, std::vector<std::string>& members) {
  constexpr std::size_t npos = std::string_view::npos;
  const std::size_t n = s.size();
  if (n - p0 > 4000) return npos;  // bounded search; such checks are not realistic
  std::vector<char> memo(n + 1, 0);
  std::vector<std::size_t> close(n + 1, npos);
  auto final_at = [&](std::size_t p) -> std::size_t {
    if (p < n && is_quote(s[p])) {
      for (std::size_t q = p + 1; q + 1 < n; ++q) {
        if (s[q] == s[p] && s[q + 1] == ')' && terminator(s, q + 2) != npos) return q + 2;
      }
    } else if (p < n && s[p] != ',' && s[p] != ')' && !is_space(s[p])) {
      std::size_t e = p + 1;
      while (e < n && s[e] != ',' && s[e] != ')') ++e;
      if (e < n && s[e] == ')' && terminator(s, e + 1) != npos) return e + 1;
    }
    if (p < n && s[p] == ')' && terminator(s, p + 1) != npos) return p + 1;
    return npos;
  };
  auto item_ends = [&](std::size_t p) {
    std::vector<std::size_t> ends;
    const std::size_t m = skip_ws(s, p);
    if (m >= n) return ends;
    auto after_comma = [&](std::size_t comma) {
      const std::size_t g = skip_ws(s, comma + 1);
      for (std::size_t e = g + 1; e-- > comma + 1;) ends.push_back(e);
    };
    if (is_quote(s[m])) {
      for (std::size_t q = m + 1; q < n; ++q) {
        if (s[q] != s[m]) continue;
        const std::size_t f = skip_ws(s, q + 1);
        if (f < n && s[f] == ',') after_comma(f);
      }
    } else if (s[m] != ',' && s[m] != ')') {
      std::size_t e = m + 1;
      while (e < n && s[e] != ',' && s[e] != ')') ++e;
      if (e < n && s[e] == ',') after_comma(e);
    }
    return ends;
  };
  std::function<bool(std::size_t)> star = [&](std::size_t p) -> bool {
    if (memo[p]) return memo[p] == 1;
    for (std::size_t e : item_ends(p)) {
      if (e != p && star(e)) {
        memo[p] = 1;
        close[p] = close[e];
        return true;
      }
    }
    close[p] = final_at(p);
    memo[p] = close[p] == npos ? 2 : 1;
    return memo[p] == 1;
  };
  if (!star(p0)) return npos;
  members = split_list_members(s.substr(p0, close[p0] - 1 - p0));
  return close[p0];
}

struct Param {
  std::string text;
  bool is_list = false;
  std::string list_name;
  std::vector<std::string> members;
};

// validate's _paramfinder.findall over the argument text.
std::vector<Param> find_params(std::string_view a) {
  std::vector<Param> out;
  std::size_t p = 0;
  auto term_ok = [&](std::size_t e) { return terminator(a, e) != std::string_view::npos; };
  while (p < a.size()) {
    // 1. name = list(...)
    std::size_t ie = ident_end(a, p);
    if (ie != std::string_view::npos) {
      std::size_t q = skip_ws(a, ie);
      if (q < a.size() && a[q] == '=') {
        q = skip_ws(a, q + 1);
        if (a.substr(q, 5) == "list(") {
          Param prm;
          const std::size_t close = list_members(a, q + 5, prm.members);
          if (close != std::string_view::npos && term_ok(close)) {
            prm.text = std::string(a.substr(p, close - p));
            prm.is_list = true;
            prm.list_name = std::string(a.substr(p, ie - p));
            out.push_back(std::move(prm));
            p = terminator(a, close);
            continue;
          }
        }
      }
    }
    // 2-3. a quoted or unquoted positional value
    std::size_t e = scalar_then(a, p, '=', term_ok);
    // 4. name = value
    if (e == std::string_view::npos && ie != std::string_view::npos) {
      std::size_t q = skip_ws(a, ie);
      if (q < a.size() && a[q] == '=') {
        q = skip_ws(a, q + 1);
        e = scalar_then(a, q, '=', term_ok);
      }
    }
    if (e == std::string_view::npos) {
      ++p;
      continue;
    }
    Param prm;
    prm.text = std::string(a.substr(p, e - p));
    out.push_back(std::move(prm));
    p = terminator(a, e);
  }
  return out;
}

// Python's str() of a value, as validate's messages render it.
std::string py_str(const Json& v);

std::string py_repr_json(const Json& v) {
  if (v.is_string()) return detail::py_repr(v.get<std::string>());
  return py_str(v);
}

std::string py_str(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return v.get<std::string>();
    case Json::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case Json::value_t::null:
      return "None";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return v.dump();
    case Json::value_t::number_float:
      return detail::py_float_repr(v.get<double>());
    case Json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + py_repr_json(v[i]);
      return out + "]";
    }
    case Json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, val] : v.items()) {
        out += (first ? "" : ", ") + detail::py_repr(k) + ": " + py_repr_json(val);
        first = false;
      }
      return out + "}";
    }
    default:
      return v.dump();
  }
}

[[noreturn]] void wrong_type(const Json& v) {
  throw CheckError("the value \"" + py_str(v) + "\" is of the wrong type.");
}
[[noreturn]] void unacceptable(const Json& v) {
  throw CheckError("the value \"" + py_str(v) + "\" is unacceptable.");
}
[[noreturn]] void too_small(const Json& v) {
  throw CheckError("the value \"" + py_str(v) + "\" is too small.");
}
[[noreturn]] void too_big(const Json& v) {
  throw CheckError("the value \"" + py_str(v) + "\" is too big.");
}
[[noreturn]] void too_short(const Json& v) {
  throw CheckError("the value \"" + py_str(v) + "\" is too short.");
}
[[noreturn]] void too_long(const Json& v) {
  throw CheckError("the value \"" + py_str(v) + "\" is too long.");
}

// The min and max parameters of a check: positional arguments first, then keywords.
struct Bounds {
  std::optional<Json> min, max;
};

Bounds bounds_of(const Check& check) {
  Bounds b;
  if (check.args.size() > 0) b.min = check.args[0];
  if (check.args.size() > 1) b.max = check.args[1];
  if (check.kwargs.contains("min")) b.min = Json(check.kwargs["min"]);
  if (check.kwargs.contains("max")) b.max = Json(check.kwargs["max"]);
  return b;
}

std::optional<double> num_param(const std::optional<Json>& p, const char* name, bool to_float) {
  if (!p || p->is_null()) return std::nullopt;
  if (p->is_number()) return to_float ? p->get<double>() : std::trunc(p->get<double>());
  if (p->is_string()) {
    const std::string s = p->get<std::string>();
    if (to_float) {
      if (auto f = detail::py_float(s)) return *f;
    } else if (auto i = detail::py_int(s)) {
      return static_cast<double>(*i);
    }
  }
  throw ConfigError("passed an incorrect value \"" + py_str(*p) + "\" for parameter \"" + name +
                    "\".");
}

struct IntBounds {
  std::optional<std::int64_t> min, max;
};

IntBounds int_bounds(const Check& check) {
  Bounds b = bounds_of(check);
  IntBounds out;
  for (int k = 0; k < 2; ++k) {
    const auto& p = k == 0 ? b.min : b.max;
    const char* name = k == 0 ? "min" : "max";
    if (!p || p->is_null()) continue;
    std::optional<std::int64_t> v;
    if (p->is_number_integer())
      v = p->get<std::int64_t>();
    else if (p->is_number_float())
      v = static_cast<std::int64_t>(p->get<double>());
    else if (p->is_string())
      v = detail::py_int(p->get<std::string>());
    if (!v)
      throw ConfigError("passed an incorrect value \"" + py_str(*p) + "\" for parameter \"" + name +
                        "\".");
    (k == 0 ? out.min : out.max) = v;
  }
  return out;
}

Json is_integer(const Json& value, const IntBounds& b) {
  std::int64_t n = 0;
  if (value.is_boolean()) {
    n = value.get<bool>() ? 1 : 0;
  } else if (value.is_number_integer()) {
    n = value.get<std::int64_t>();
  } else if (value.is_string()) {
    auto parsed = detail::py_int(value.get<std::string>());
    if (!parsed) wrong_type(value);
    n = *parsed;
  } else {
    wrong_type(value);
  }
  const Json result = value.is_boolean() ? value : Json(n);
  if (b.min && n < *b.min) too_small(result);
  if (b.max && n > *b.max) too_big(result);
  return result;
}

Json is_float(const Json& value, std::optional<double> min, std::optional<double> max) {
  double x = 0;
  if (value.is_number()) {
    x = value.get<double>();
  } else if (value.is_boolean()) {
    x = value.get<bool>() ? 1.0 : 0.0;
  } else if (value.is_string()) {
    auto parsed = detail::py_float(value.get<std::string>());
    if (!parsed) wrong_type(value);
    x = *parsed;
  } else {
    wrong_type(value);
  }
  if (min && x < *min) too_small(Json(x));
  if (max && x > *max) too_big(Json(x));
  return Json(x);
}

Json is_boolean(const Json& value) {
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
    if (s == "false" || s == "no" || s == "off" || s == "0") return false;
    wrong_type(value);
  }
  if (value.is_boolean()) return value;
  if (value.is_number()) {
    const double x = value.get<double>();
    if (x == 0) return false;
    if (x == 1) return true;
  }
  wrong_type(value);
}

Json is_string(const Json& value, const IntBounds& b) {
  if (!value.is_string()) wrong_type(value);
  const auto len = static_cast<std::int64_t>(detail::utf8_length(value.get<std::string>()));
  if (b.min && len < *b.min) too_short(value);
  if (b.max && len > *b.max) too_long(value);
  return value;
}

Json is_list(const Json& value, const IntBounds& b) {
  if (!value.is_array()) wrong_type(value);
  const auto len = static_cast<std::int64_t>(value.size());
  if (b.min && len < *b.min) too_short(value);
  if (b.max && len > *b.max) too_long(value);
  return value;
}

Json is_ip_addr(const Json& value) {
  if (!value.is_string()) wrong_type(value);
  const std::string s = strip(value.get<std::string>());
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (true) {
    std::size_t j = s.find('.', i);
    parts.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  bool ok = !parts.empty() && parts.size() <= 4;
  for (const auto& p : parts) {
    ok = ok && !p.empty() && p.size() <= 3 &&
         std::all_of(p.begin(), p.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
         std::stoi(p) <= 255;
  }
  if (!ok) unacceptable(Json(s));
  return Json(s);
}

Json scalar_by_name(const std::string& type, const Json& value) {
  if (type == "integer") return is_integer(value, {});
  if (type == "float") return is_float(value, std::nullopt, std::nullopt);
  if (type == "ip_addr") return is_ip_addr(value);
  if (type == "string") return is_string(value, {});
  if (type == "boolean") return is_boolean(value);
  throw ConfigError("passed an incorrect value \"KeyError(" + detail::py_repr(type) +
                    ")\" for parameter \"'mixed_list'\".");
}

// Python's os.path.abspath(os.path.join(base, path)).
std::string resolve_path(const std::string& path, const CheckContext& ctx) {
  std::string joined = path;
  if (!ctx.from_command_line && !ctx.base_dir.empty() && (path.empty() || path[0] != '/')) {
    std::string base = ctx.base_dir.string();
    joined = base + ((base.back() == '/' || path.empty()) ? "" : "/") + path;
    if (path.empty()) joined = base + (base.back() == '/' ? "" : "/");
  }
  if (joined.empty() || joined[0] != '/') {
    std::error_code ec;
    auto cwd = std::filesystem::current_path(ec).string();
    joined = cwd + "/" + joined;
  }
  return detail::py_normpath(joined);
}

// Python's equality between an original and a checked value (ConfigObj writes back only when
// they differ, so 10 checked as a float stays 10).
bool py_equal(const Json& a, const Json& b) {
  auto numeric = [](const Json& v) { return v.is_number() || v.is_boolean(); };
  auto num = [](const Json& v) {
    return v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>();
  };
  if (numeric(a) && numeric(b)) return num(a) == num(b);
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!py_equal(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

// ---- SpecSection ------------------------------------------------------------------------------

const SpecSection::Entry* SpecSection::find(std::string_view key) const {
  for (const auto& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

SpecSection::Entry* SpecSection::find(std::string_view key) {
  for (auto& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

void SpecSection::set_check(const std::string& key, Check check) {
  if (Entry* e = find(key)) {
    e->check = std::move(check);
    e->section.reset();
    return;
  }
  entries.push_back(Entry{key, std::move(check), std::nullopt});
}

SpecSection& SpecSection::set_section(const std::string& key, SpecSection section) {
  if (Entry* e = find(key)) {
    e->check.reset();
    e->section = std::move(section);
    return *e->section;
  }
  entries.push_back(Entry{key, std::nullopt, std::move(section)});
  return *entries.back().section;
}

void SpecSection::merge(const SpecSection& over) {
  for (const auto& e : over.entries) {
    if (e.section) {
      Entry* mine = find(e.key);
      if (mine && mine->section) {
        mine->section->merge(*e.section);
      } else {
        set_section(e.key, *e.section);
      }
    } else if (e.check) {
      set_check(e.key, *e.check);
    }
  }
}

// ---- checks -------------------------------------------------------------------------------------

Check parse_check(std::string_view text) {
  Check check;
  check.text = std::string(text);
  // validate's `(.+?)\((.*)\)`: name up to the first "(" (at index >= 1) that has a ")" after it.
  const std::size_t last_close = text.rfind(')');
  std::size_t open = std::string_view::npos;
  if (last_close != std::string_view::npos) {
    const std::size_t k = text.find('(', 1);
    if (k != std::string_view::npos && k < last_close) open = k;
  }
  if (open == std::string_view::npos) {
    check.type = std::string(text);
    return check;
  }
  check.type = std::string(text.substr(0, open));
  const std::string_view args = text.substr(open + 1, last_close - open - 1);
  for (const Param& prm : find_params(args)) {
    if (prm.is_list) {
      Json list = Json::array();
      for (const auto& m : prm.members) list.push_back(m);
      if (prm.list_name == "default") {
        check.has_default = true;
        check.default_text = list;
      } else {
        check.kwargs[prm.list_name] = list;
      }
      continue;
    }
    const std::string arg = strip(prm.text);
    const std::size_t ie = ident_end(arg, 0);
    std::size_t q = ie == std::string::npos ? ie : skip_ws(arg, ie);
    if (ie != std::string::npos && q < arg.size() && arg[q] == '=') {
      const std::string name = arg.substr(0, ie);
      const std::string raw = arg.substr(skip_ws(arg, q + 1));
      const bool quoted_none = raw == "'None'" || raw == "\"None\"";
      std::string val = quoted_none ? raw : vunquote(raw);
      if (name == "default") {
        check.has_default = true;
        if (val == "None")
          check.default_text = nullptr;
        else if (quoted_none)
          check.default_text = "None";
        else
          check.default_text = val;
      } else {
        check.kwargs[name] = val;
      }
      continue;
    }
    check.args.emplace_back(vunquote(arg));
  }
  if (check.has_default) {
    check.default_value = check.default_text;
    const bool is_path = check.type == "input_file" || check.type == "output_file";
    if (!check.default_text.is_null() && !is_path && kKnownChecks.count(check.type)) {
      try {
        check.default_value = check_value(check, check.default_text);
      } catch (const Error&) {
        // A bad default is reported when it is used, as validate does.
      }
    }
  }
  return check;
}

Json check_value(const Check& check, const Json& value, const CheckContext& context) {
  if (value.is_null()) return nullptr;
  const std::string& t = check.type;
  if (t.empty() || t == "pass") return value;
  if (t == "integer") return is_integer(value, int_bounds(check));
  if (t == "float") {
    Bounds b = bounds_of(check);
    return is_float(value, num_param(b.min, "min", true), num_param(b.max, "max", true));
  }
  if (t == "boolean") return is_boolean(value);
  if (t == "string") return is_string(value, int_bounds(check));
  if (t == "option") {
    if (!value.is_string()) wrong_type(value);
    for (const auto& opt : check.args) {
      if (opt.is_string() && opt.get<std::string>() == value.get<std::string>()) return value;
    }
    unacceptable(value);
  }
  if (t == "list" || t == "tuple") return is_list(value, int_bounds(check));
  if (t == "force_list")
    return is_list(value.is_array() ? value : Json::array({value}), int_bounds(check));
  if (t == "int_list" || t == "float_list" || t == "bool_list" || t == "string_list" ||
      t == "ip_addr_list") {
    if (t == "string_list" && value.is_string()) wrong_type(value);
    Json list = is_list(value, int_bounds(check));
    Json out = Json::array();
    for (const auto& item : list) {
      if (t == "int_list")
        out.push_back(is_integer(item, {}));
      else if (t == "float_list")
        out.push_back(is_float(item, std::nullopt, std::nullopt));
      else if (t == "bool_list")
        out.push_back(is_boolean(item));
      else if (t == "string_list")
        out.push_back(is_string(item, {}));
      else
        out.push_back(is_ip_addr(item));
    }
    return out;
  }
  if (t == "mixed_list") {
    Json items;
    if (value.is_array()) {
      items = value;
    } else if (value.is_string()) {  // Python iterates a string's characters
      items = Json::array();
      auto decoded = detail::utf8_decode(value.get<std::string>());
      for (char32_t c : decoded.value_or(detail::U32{}))
        items.push_back(detail::utf8_encode(std::u32string_view(&c, 1)));
    } else {
      wrong_type(value);
    }
    if (items.size() < check.args.size()) too_short(value);
    if (items.size() > check.args.size()) too_long(value);
    Json out = Json::array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      out.push_back(scalar_by_name(
          check.args[i].is_string() ? check.args[i].get<std::string>() : "", items[i]));
    }
    return out;
  }
  if (t == "ip_addr") return is_ip_addr(value);
  if (t == "input_file" || t == "output_file") {
    const std::string abs = resolve_path(py_str(value), context);
    if (t == "input_file") {
      std::error_code ec;
      if (!std::filesystem::exists(abs, ec))
        throw CheckError("Path " + detail::py_repr(abs) + " does not exist");
    } else {
      const auto slash = abs.rfind('/');
      const std::string dir = slash == std::string::npos ? "" : abs.substr(0, slash);
      std::error_code ec;
      if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) throw IoError("Cannot create directory '" + dir + "': " + ec.message());
      }
    }
    return abs;
  }
  if (t == "is_string_or_datamodel") {
    if (!value.is_string()) wrong_type(value);
    return value;
  }
  if (t == "is_datamodel") wrong_type(value);
  throw CheckError("the check \"" + t + "\" is unknown.");
}

std::string value_repr(const Json& value) { return py_str(value); }

// ---- configspec text ------------------------------------------------------------------------

namespace {

void build_spec(const Tree& tree, const Comments& comments, const std::string& prefix,
                const std::string& source, SpecSection& out) {
  for (const auto& [key, value] : tree.items()) {
    const std::string path = prefix + key;
    if (value.is_object()) {
      SpecSection sub;
      build_spec(value, comments, path + "/", source, sub);
      out.entries.push_back(SpecSection::Entry{key, std::nullopt, std::move(sub)});
      continue;
    }
    if (!value.is_string()) throw ConfigError(source + ": bad check for '" + path + "'");
    Check check = parse_check(value.get<std::string>());
    if (!kKnownChecks.count(check.type)) {
      throw ConfigError(source + ": unknown check \"" + check.type + "\" for '" + path + "'");
    }
    if (auto it = comments.find(path); it != comments.end()) check.help = it->second;
    out.entries.push_back(SpecSection::Entry{key, std::move(check), std::nullopt});
  }
}

void write_spec_section(const SpecSection& spec, std::size_t depth, std::string& out) {
  std::string indent(depth * 4, ' ');
  for (const auto& e : spec.entries) {
    if (!e.check) continue;
    std::string line = indent + e.key + " = " + e.check->text;
    if (!e.check->help.empty()) line += "  # " + e.check->help;
    out += line + "\n";
  }
  for (const auto& e : spec.entries) {
    if (!e.section) continue;
    out += indent + std::string(depth + 1, '[') + e.key + std::string(depth + 1, ']') + "\n";
    write_spec_section(*e.section, depth + 1, out);
  }
}

}  // namespace

SpecSection parse_configspec(std::string_view text, const std::string& source) {
  Comments comments;
  ParseOptions opts;
  opts.list_values = false;
  opts.source = source;
  opts.comments = &comments;
  Tree tree = parse_configobj(text, opts);
  SpecSection spec;
  build_spec(tree, comments, "", source, spec);
  return spec;
}

std::string write_configspec(const SpecSection& spec) {
  std::string out;
  write_spec_section(spec, 0, out);
  return out;
}

// ---- validation ------------------------------------------------------------------------------

namespace {

struct Failure {
  std::vector<std::string> levels;
  std::optional<std::string> key;  // nullopt: "[missing section]"
  std::string message;
};

enum class SectionResult { kTrue, kFalse, kDict };

struct SectionOutcome {
  SectionResult result = SectionResult::kTrue;
  std::vector<Failure> failures;         // relative to this section
  std::vector<std::string> extras;       // this section's own extra keys
  std::vector<std::string> child_names;  // validated subsections, in order
  std::vector<SectionOutcome> children;
};

bool is_many(const std::string& key) { return key == "__many__" || key == "___many___"; }

SectionOutcome validate_section(const Tree& cfg, const SpecSection& spec, bool created, Tree& out,
                                const ValidateOptions& opts, bool is_root = false) {
  SectionOutcome oc;
  bool ret_true = true, ret_false = true, any_truthy = false, out_nonempty = false;
  std::set<std::string> in_spec;
  for (const auto& e : spec.entries) in_spec.insert(e.key);
  auto is_scalar = [&](const std::string& k) { return cfg.contains(k) && !cfg[k].is_object(); };
  auto is_section = [&](const std::string& k) { return cfg.contains(k) && cfg[k].is_object(); };

  auto validate_entry = [&](const std::string& key, const Check& check, bool missing) {
    out_nonempty = true;
    Json original = missing ? Json() : Json(cfg[key]);
    try {
      Json result;
      if (missing) {
        if (!check.has_default) {
          ret_true = false;
          if (!opts.allow_missing) oc.failures.push_back({{}, key, "missing"});
          return;
        }
        result = check.default_text.is_null()
                     ? Json()
                     : check_value(check, check.default_text, opts.context);
        if (opts.fill_defaults) out[key] = result;
      } else {
        result = check_value(check, original, opts.context);
        out[key] = py_equal(result, original) ? original : result;
      }
      ret_false = false;
      any_truthy = true;
    } catch (const CheckError& e) {
      ret_true = false;
      ret_false = false;
      any_truthy = true;
      oc.failures.push_back({{}, key, e.what()});
    }
  };

  // Scalars of the spec.
  for (const auto& e : spec.entries) {
    if (!e.check || is_many(e.key)) continue;
    if (is_section(e.key)) {
      ret_true = false;
      ret_false = false;
      any_truthy = true;
      out_nonempty = true;
      // ConfigObj reports it under the section when the check has no default (with a default
      // Python's ConfigObj crashes; we report it under the key).
      const std::string msg = "Value " + detail::py_repr(e.key) + " was provided as a section";
      if (e.check->has_default) {
        oc.failures.push_back({{}, e.key, msg});
      } else {
        oc.failures.push_back({{e.key}, std::nullopt, msg});
      }
      continue;
    }
    validate_entry(e.key, *e.check, !is_scalar(e.key));
  }
  // Scalars not in the spec: validated by __many__ or extra.
  const SpecSection::Entry* many_check = nullptr;
  const SpecSection::Entry* many_section = nullptr;
  for (const auto& e : spec.entries) {
    if (is_many(e.key) && e.check && !many_check) many_check = &e;
    if (e.key == "__many__" && e.section) many_section = &e;
  }
  std::vector<std::string> unvalidated;
  for (const auto& [key, value] : cfg.items()) {
    if (value.is_object() || in_spec.count(key)) continue;
    if (many_check) {
      validate_entry(key, *many_check->check, false);
    } else {
      unvalidated.push_back(key);
    }
  }
  // Sections of the spec given as scalars.
  for (const auto& e : spec.entries) {
    if (!e.section || e.key == "__many__") continue;
    if (is_scalar(e.key)) {
      ret_true = false;
      ret_false = false;
      any_truthy = true;
      out_nonempty = true;
      oc.failures.push_back(
          {{}, e.key, "Section " + detail::py_repr(e.key) + " was provided as a single value"});
    }
  }
  // Subsections: those of the config first, then the ones the spec adds.
  std::vector<std::pair<std::string, bool>> sections;  // name, created
  for (const auto& [key, value] : cfg.items()) {
    if (value.is_object()) sections.emplace_back(key, false);
  }
  for (const auto& e : spec.entries) {
    if (e.section && e.key != "__many__" && !cfg.contains(e.key))
      sections.emplace_back(e.key, true);
  }
  for (const auto& [name, was_created] : sections) {
    if (is_root && name == "DEFAULT") {  // ConfigObj never validates the root DEFAULT section
      out[name] = was_created ? Tree::object() : cfg[name];
      continue;
    }
    const SpecSection::Entry* se = spec.find(name);
    const SpecSection* sub_spec = nullptr;
    if (se && se->section && name != "__many__")
      sub_spec = &*se->section;
    else if (!se && many_section)
      sub_spec = &*many_section->section;
    if (!sub_spec) {
      unvalidated.push_back(name);
      continue;
    }
    static const Tree kEmpty = Tree::object();
    const Tree& sub_cfg = was_created ? kEmpty : cfg[name];
    Tree sub_out = Tree::object();
    SectionOutcome child = validate_section(sub_cfg, *sub_spec, was_created, sub_out, opts);
    out_nonempty = true;
    if (child.result == SectionResult::kFalse) {
      ret_true = false;
      oc.failures.push_back({{name}, std::nullopt, "missing"});
    } else if (child.result == SectionResult::kTrue) {
      ret_false = false;
      any_truthy = true;
    } else {
      ret_true = false;
      any_truthy = true;
      for (auto f : child.failures) {
        f.levels.insert(f.levels.begin(), name);
        oc.failures.push_back(std::move(f));
      }
    }
    child.failures.clear();
    out[name] = std::move(sub_out);
    oc.child_names.push_back(name);
    oc.children.push_back(std::move(child));
  }
  oc.extras = unvalidated;
  if (opts.allow_extra) {
    for (const auto& k : unvalidated) out[k] = cfg[k];
  }
  if (!created) ret_false = false;
  if (ret_false && out_nonempty) ret_false = !any_truthy;
  oc.result =
      ret_true ? SectionResult::kTrue : (ret_false ? SectionResult::kFalse : SectionResult::kDict);
  return oc;
}

// get_extra_values()[0]: own extras first, then depth first through validated subsections.
std::optional<std::pair<std::vector<std::string>, std::string>> first_extra(
    const SectionOutcome& oc) {
  if (!oc.extras.empty()) return std::make_pair(std::vector<std::string>{}, oc.extras.front());
  for (std::size_t i = 0; i < oc.children.size(); ++i) {
    if (auto found = first_extra(oc.children[i])) {
      found->first.insert(found->first.begin(), oc.child_names[i]);
      return found;
    }
  }
  return std::nullopt;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

}  // namespace

Tree validate(const Tree& config, const SpecSection& spec, const ValidateOptions& options) {
  if (!config.is_object()) throw ConfigError("validate: the configuration must be a section");
  Tree out = Tree::object();
  SectionOutcome oc = validate_section(config, spec, false, out, options, true);
  std::vector<Failure> failures = std::move(oc.failures);
  std::stable_sort(failures.begin(), failures.end(), [](const Failure& a, const Failure& b) {
    if (a.levels != b.levels) return a.levels < b.levels;
    return a.key.value_or("") < b.key.value_or("");
  });
  std::vector<std::string> messages;
  for (const auto& f : failures) {
    std::vector<std::string> path = f.levels;
    path.push_back(f.key ? *f.key : "[missing section]");
    messages.push_back("Config parameter " + detail::py_repr(join(path)) + ": " + f.message);
  }
  if (!options.allow_extra) {
    if (auto extra = first_extra(oc)) {
      const std::string where = extra->first.empty() ? "root" : join(extra->first);
      messages.push_back("Extra value " + detail::py_repr(extra->second) + " in " + where);
    }
  }
  if (!messages.empty()) {
    std::string msg;
    for (std::size_t i = 0; i < messages.size(); ++i) msg += (i ? "\n" : "") + messages[i];
    throw ConfigError(msg);
  }
  return out;
}

std::string dump_config_json(const std::filesystem::path& config_path,
                             const std::optional<std::string>& spec_text) {
  ParseOptions opts;
  opts.interpolation = true;  // as stpipe's ConfigObj(config_file) reads it
  Tree tree = read_configobj_file(config_path, opts);
  if (spec_text) {
    SpecSection spec = parse_configspec(*spec_text);
    ValidateOptions vopts;
    std::error_code ec;
    auto abs = std::filesystem::absolute(config_path, ec);
    vopts.context.base_dir = (ec ? config_path : abs).parent_path();
    tree = validate(tree, spec, vopts);
  }
  return tree.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace stpipe::config
