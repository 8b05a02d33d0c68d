// ConfigObj 5 reader and writer: a line-based parser that reproduces ConfigObj's matching rules.
//
// ConfigObj describes its syntax with backtracking regular expressions; the matchers below walk
// the same alternatives in the same order (lazy/greedy, first success wins), on code points, so
// that quirky inputs give the same values and errors as python-configobj 5.0.8.
#include "stpipe/config/configobj.h"

#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "config/text_util.h"
#include "stpipe/util/error.h"

namespace stpipe::config {

using detail::py_isspace;
using detail::U32;

namespace {

std::string enc(std::u32string_view s) { return detail::utf8_encode(s); }

bool is_quote(char32_t c) { return c == U'"' || c == U'\''; }

// next_nonws[p] = first index >= p that is not whitespace (size() if none).
std::vector<std::size_t> next_nonws_table(std::u32string_view s) {
  std::vector<std::size_t> nn(s.size() + 1, s.size());
  for (std::size_t p = s.size(); p-- > 0;) nn[p] = py_isspace(s[p]) ? nn[p + 1] : p;
  return nn;
}

// `\s*(#.*)?$` at position p.
bool rest_ok(std::u32string_view s, const std::vector<std::size_t>& nn, std::size_t p) {
  if (p > s.size()) return false;
  const std::size_t f = nn[p];
  return f == s.size() || s[f] == U'#';
}

// ConfigObj._unquote: strips one pair of matching quotes; an empty value is a syntax error.
struct SyntaxFailure {};
U32 unquote(std::u32string_view v) {
  if (v.empty()) throw SyntaxFailure{};
  if (v.front() == v.back() && is_quote(v.front())) return U32(v.substr(1, v.size() - 2));
  return U32(v);
}

// ---- section marker --------------------------------------------------------------------
struct SectionMatch {
  std::size_t depth_open = 0;
  std::size_t depth_close = 0;
  U32 name;  // as written (quotes kept)
  U32 comment;
  bool has_comment = false;
};

std::optional<SectionMatch> match_section(std::u32string_view line) {
  const std::size_t n = line.size();
  auto nn = next_nonws_table(line);
  const std::size_t start = nn[0];
  if (start >= n || line[start] != U'[') return std::nullopt;
  // tail[e]: line[e..] is (\s*\])+ \s*(#.*)?$
  std::vector<char> tail(n + 2, 0);
  for (std::size_t e = n + 1; e-- > 0;) {
    if (e > n) continue;
    const std::size_t f = nn[e];
    if (f < n && line[f] == U']') tail[e] = rest_ok(line, nn, f + 1) || tail[f + 1];
  }
  // next_tail[e] = smallest e' >= e with tail[e'].
  std::vector<std::size_t> next_tail(n + 2, n + 1);
  for (std::size_t e = n + 1; e-- > 0;) next_tail[e] = tail[e] ? e : next_tail[e + 1];
  // Open repetitions: "[" followed by whitespace, greedy.
  std::vector<std::size_t> rep_end;
  std::size_t p = start;
  while (p < n && line[p] == U'[') {
    p = nn[p + 1];
    rep_end.push_back(p);
  }
  for (std::size_t k = rep_end.size(); k >= 1; --k) {
    const std::size_t s = rep_end[k - 1];
    if (s >= n) continue;
    const char32_t c = line[s];
    std::size_t name_end = 0;  // exclusive
    bool found = false;
    if (is_quote(c)) {
      const std::size_t f = nn[s + 1];  // the \S inside the quotes
      for (std::size_t q = f + 1; q < n && f < n; ++q) {
        if (line[q] == c && tail[q + 1]) {
          name_end = q + 1;
          found = true;
          break;
        }
      }
    } else if (!py_isspace(c)) {
      const std::size_t e = next_tail[s + 1];
      if (e <= n) {
        name_end = e;
        found = true;
      }
    }
    if (!found) continue;
    SectionMatch m;
    m.depth_open = k;
    m.name = U32(line.substr(s, name_end - s));
    // Greedy close group, then the comment.
    std::size_t q = name_end;
    while (true) {
      const std::size_t f = nn[q];
      if (f < n && line[f] == U']') {
        ++m.depth_close;
        q = f + 1;
      } else {
        break;
      }
    }
    const std::size_t f = nn[q];
    if (f < n) {
      m.has_comment = true;
      m.comment = U32(line.substr(f));
    }
    return m;
  }
  return std::nullopt;
}

// ---- keyword line ------------------------------------------------------------------------
struct KeywordMatch {
  U32 key;    // as written
  U32 value;  // after "=" and leading whitespace, comment included
};

std::optional<KeywordMatch> match_keyword(std::u32string_view line) {
  const std::size_t n = line.size();
  auto nn = next_nonws_table(line);
  const std::size_t indent = nn[0];
  auto eq_after = [&](std::size_t p) { return p <= n && nn[p] < n && line[nn[p]] == U'='; };
  auto make = [&](std::size_t key_begin, std::size_t key_end) {
    KeywordMatch m;
    m.key = U32(line.substr(key_begin, key_end - key_begin));
    const std::size_t eq = nn[key_end];
    m.value = U32(line.substr(nn[eq + 1]));
    return m;
  };
  // Try the key starting at `i` (indentation given back one character at a time).
  for (std::size_t i = indent + 1; i-- > 0;) {
    if (i >= n) continue;
    const char32_t c = line[i];
    if (is_quote(c)) {
      for (std::size_t q = i + 1; q < n; ++q) {
        if (line[q] == c && eq_after(q + 1)) return make(i, q + 1);
      }
    } else if (c != U'=') {
      std::size_t eq = n;
      for (std::size_t p = i + 1; p < n; ++p) {
        if (line[p] == U'=') {
          eq = p;
          break;
        }
      }
      if (eq < n) {
        std::size_t e = eq;
        while (e > i + 1 && py_isspace(line[e - 1])) --e;
        return make(i, e);
      }
    }
    if (i + 1 < indent) break;  // further backtracking cannot find a new '='
  }
  return std::nullopt;
}

// ---- values (list_values=True) -------------------------------------------------------------
struct ValueParse {
  nlohmann::ordered_json value;
  U32 comment;
  bool has_comment = false;
};

class ValueMatcher {
 public:
  explicit ValueMatcher(std::u32string_view v) : v_(v), n_(v.size()), nn_(next_nonws_table(v)) {}

  // ConfigObj._valueexp followed by _handle_value's post-processing.
  ValueParse parse() {
    memo_.assign(n_ + 1, 0);
    stop_.assign(n_ + 1, 0);
    ValueParse out;
    if (star(0)) {
      std::size_t list_end = stop_[0];
      Single single = group2(list_end);
      if (single.has_comment) {
        out.has_comment = true;
        out.comment = U32(v_.substr(single.comment_begin));
      }
      const bool has_list = list_end > 0;
      if (!has_list && !single.present) throw SyntaxFailure{};
      std::optional<U32> single_value;
      if (single.present) {
        auto text = v_.substr(single.begin, single.end - single.begin);
        if (!(has_list && text.empty())) single_value = text.empty() ? U32() : unquote(text);
      }
      if (!has_list) {
        out.value = enc(*single_value);
        return out;
      }
      out.value = nlohmann::ordered_json::array();
      for (const auto& item : list_items(v_.substr(0, list_end)))
        out.value.push_back(enc(unquote(item)));
      if (single_value) out.value.push_back(enc(*single_value));
      return out;
    }
    // Alternative: a single comma, an empty list.
    if (n_ > 0 && v_[0] == U',' && rest_ok(v_, nn_, 1)) {
      out.value = nlohmann::ordered_json::array();
      const std::size_t f = nn_[1];
      if (f < n_) {
        out.has_comment = true;
        out.comment = U32(v_.substr(f));
      }
      return out;
    }
    throw SyntaxFailure{};
  }

 private:
  struct Single {
    bool ok = false;
    bool present = false;
    std::size_t begin = 0, end = 0;
    bool has_comment = false;
    std::size_t comment_begin = 0;
  };

  // group 2 (optional last item) then `\s*(#.*)?$`, starting at p.
  Single group2(std::size_t p) const {
    Single r;
    auto finish = [&](bool present, std::size_t b, std::size_t e, std::size_t rest_at) {
      r.ok = true;
      r.present = present;
      r.begin = b;
      r.end = e;
      const std::size_t f = nn_[rest_at];
      if (f < n_) {
        r.has_comment = true;
        r.comment_begin = f;
      }
      return r;
    };
    if (p < n_) {
      const char32_t c = v_[p];
      if (is_quote(c)) {
        for (std::size_t q = p + 1; q < n_; ++q) {
          if (v_[q] == c && rest_ok(v_, nn_, q + 1)) return finish(true, p, q + 1, q + 1);
        }
      } else if (c != U',' && c != U'#' && !py_isspace(c)) {
        for (std::size_t e = p + 1; e <= n_; ++e) {
          if (rest_ok(v_, nn_, e)) return finish(true, p, e, e);
          if (e < n_ && v_[e] == U',') break;
        }
      }
    }
    // Empty value, unless preceded by a comma.
    if ((p == 0 || v_[p - 1] != U',') && rest_ok(v_, nn_, p)) return finish(true, p, p, p);
    if (rest_ok(v_, nn_, p)) return finish(false, p, p, p);
    return r;
  }

  // Ends of one list item (`item \s*,\s*`) starting at pos, in the order the regex tries them.
  std::vector<std::size_t> item_ends(std::size_t pos) const {
    std::vector<std::size_t> ends;
    if (pos >= n_) return ends;
    const char32_t c = v_[pos];
    auto add_after_comma = [&](std::size_t comma) {
      const std::size_t g = nn_[comma + 1];
      for (std::size_t e = g + 1; e-- > comma + 1;) ends.push_back(e);
    };
    if (is_quote(c)) {
      for (std::size_t q = pos + 1; q < n_; ++q) {
        if (v_[q] != c) continue;
        const std::size_t f = nn_[q + 1];
        if (f < n_ && v_[f] == U',') add_after_comma(f);
      }
    } else if (c != U',' && c != U'#') {
      for (std::size_t p = pos + 1; p < n_; ++p) {
        if (v_[p] == U'#') break;
        if (v_[p] == U',') {
          add_after_comma(p);
          break;
        }
      }
    }
    return ends;
  }

  // Greedy star of list items followed by group2: memoised depth-first search.
  // Iterative (explicit stack) so that lines with many items cannot exhaust the call stack.
  bool star(std::size_t start) {
    struct Frame {
      std::size_t pos;
      std::vector<std::size_t> ends;
      std::size_t idx;
    };
    if (memo_[start]) return memo_[start] == 1;
    std::vector<Frame> stack;
    stack.push_back(Frame{start, item_ends(start), 0});
    while (!stack.empty()) {
      const std::size_t top = stack.size() - 1;
      bool pushed = false;
      bool resolved = false;
      while (stack[top].idx < stack[top].ends.size()) {
        const std::size_t e = stack[top].ends[stack[top].idx];
        if (e == stack[top].pos || memo_[e] == 2) {
          ++stack[top].idx;
          continue;
        }
        if (memo_[e] == 1) {
          memo_[stack[top].pos] = 1;
          stop_[stack[top].pos] = stop_[e];
          resolved = true;
          break;
        }
        auto ends = item_ends(e);
        stack.push_back(Frame{e, std::move(ends), 0});
        pushed = true;
        break;
      }
      if (pushed) continue;
      const std::size_t pos = stack[top].pos;
      if (!resolved) {
        if (group2(pos).ok) {
          memo_[pos] = 1;
          stop_[pos] = pos;
        } else {
          memo_[pos] = 2;
        }
      }
      stack.pop_back();
    }
    return memo_[start] == 1;
  }

  // ConfigObj._listvalueexp.findall over the list part.
  static std::vector<U32> list_items(std::u32string_view g) {
    std::vector<U32> items;
    const std::size_t n = g.size();
    auto nn = next_nonws_table(g);
    // first comma at or after p, and the start of the whitespace run before it
    auto lazy_end = [&](std::size_t from, std::size_t min_t, std::size_t& t, std::size_t& end) {
      for (std::size_t c = from; c < n; ++c) {
        if (g[c] == U',') {
          std::size_t s = c;
          while (s > min_t && py_isspace(g[s - 1])) --s;
          t = s;
          end = nn[c + 1];
          return true;
        }
      }
      return false;
    };
    std::size_t p = 0;
    while (p < n) {
      const char32_t c = g[p];
      bool matched = false;
      std::size_t t = 0, end = 0;
      if (is_quote(c)) {
        for (std::size_t q = p + 1; q < n; ++q) {
          if (g[q] != c) continue;
          const std::size_t f = nn[q + 1];
          if (f < n && g[f] == U',') {
            t = q + 1;
            end = nn[f + 1];
            matched = true;
            break;
          }
        }
      }
      if (!matched && !is_quote(c) && c != U',' && c != U'#')
        matched = lazy_end(p + 1, p + 1, t, end);
      if (!matched) matched = lazy_end(p, p, t, end);
      if (!matched) {
        ++p;
        continue;
      }
      items.emplace_back(g.substr(p, t - p));
      p = end;
    }
    return items;
  }

  std::u32string_view v_;
  std::size_t n_;
  std::vector<std::size_t> nn_;
  std::vector<char> memo_;  // 0 unknown, 1 success, 2 failure
  std::vector<std::size_t> stop_;
};

// ConfigObj._nolistvalue: raw value (quotes kept) and comment.
ValueParse parse_raw_value(std::u32string_view v) {
  const std::size_t n = v.size();
  auto nn = next_nonws_table(v);
  ValueParse out;
  auto finish = [&](std::size_t end) {
    out.value = enc(v.substr(0, end));
    const std::size_t f = nn[end];
    if (f < n) {
      out.has_comment = true;
      out.comment = U32(v.substr(f));
    }
    return out;
  };
  if (n > 0) {
    const char32_t c = v[0];
    if (is_quote(c)) {
      for (std::size_t q = 1; q < n; ++q) {
        if (v[q] == c && rest_ok(v, nn, q + 1)) return finish(q + 1);
      }
    } else if (c != U'#') {
      for (std::size_t e = 1; e <= n; ++e) {
        if (rest_ok(v, nn, e)) return finish(e);
      }
    }
  }
  if (rest_ok(v, nn, 0)) return finish(0);
  throw SyntaxFailure{};
}

// First position >= from where `quot` occurs and the rest of the line is `\s*(#.*)?`.
std::optional<std::size_t> find_closing_triple(std::u32string_view line, std::u32string_view quot,
                                               std::size_t from) {
  auto nn = next_nonws_table(line);
  for (std::size_t j = from; j + 3 <= line.size(); ++j) {
    if (line.substr(j, 3) == quot && rest_ok(line, nn, j + 3)) return j;
  }
  return std::nullopt;
}

struct ParseState {
  const ParseOptions& options;
  std::vector<U32> lines;

  [[noreturn]] void fail(const std::string& text, std::size_t index) const {
    throw ConfigError(options.source + ": " + text + " at line " + std::to_string(index + 1) + ".");
  }
};

std::string comment_text(const U32& comment) {
  std::u32string_view c = comment;
  if (!c.empty() && c.front() == U'#') c.remove_prefix(1);
  return enc(detail::py_strip(c));
}

std::vector<U32> split_lines(std::string_view text, const std::string& source) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  auto decoded = detail::utf8_decode(text);
  if (!decoded) throw ConfigError(source + ": not valid UTF-8 text");
  std::vector<U32> lines;
  std::size_t i = 0;
  const U32& s = *decoded;
  while (i < s.size()) {
    std::size_t j = s.find(U'\n', i);
    const bool last = j == U32::npos;
    if (last) j = s.size();
    std::size_t e = j;
    while (e > i && (s[e - 1] == U'\r' || s[e - 1] == U'\n')) --e;
    lines.emplace_back(s.substr(i, e - i));
    if (last) break;
    i = j + 1;
  }
  return lines;
}

// ---- interpolation (ConfigObj's "configparser" engine) -------------------------------------
// A section on the way from the root: the tree and its name (nullopt for the root).
struct ChainLink {
  const Tree* section;
  std::optional<std::string> name;
};

class Interpolator {
 public:
  explicit Interpolator(const std::string& source) : source_(source) {}

  // Interpolates every string (and string list item) of `in` into `out`, depth first.
  void section(const Tree& in, Tree& out, std::vector<ChainLink>& chain) {
    for (auto& [key, value] : out.items()) {
      if (value.is_string()) {
        value = top(key, value.get<std::string>(), chain);
      } else if (value.is_array()) {
        for (auto& item : value) {
          if (item.is_string()) item = top(key, item.get<std::string>(), chain);
        }
      }
    }
    for (auto& [key, value] : out.items()) {
      if (!value.is_object()) continue;
      chain.push_back(ChainLink{&in[key], key});
      section(in[key], value, chain);
      chain.pop_back();
    }
  }

 private:
  using Trail = std::set<std::pair<std::string, std::optional<std::string>>>;

  std::string top(const std::string& key, const std::string& value,
                  const std::vector<ChainLink>& chain) {
    if (value.find('%') == std::string::npos) return value;
    Trail trail;
    return recurse(key, value, chain.size() - 1, chain, trail);
  }

  // Value of `key` seen from the section owning the interpolated entry: that section, its
  // DEFAULT subsection, then the parents in turn. Returns the value and where it was found.
  std::pair<const Tree*, std::size_t> fetch(const std::string& key,
                                            const std::vector<ChainLink>& chain) const {
    for (std::size_t i = chain.size(); i-- > 0;) {
      const Tree& sec = *chain[i].section;
      auto it = sec.find(key);
      if (it != sec.end() && !it->is_object()) return {&*it, i};
      auto def = sec.find("DEFAULT");
      if (def != sec.end() && def->is_object()) {
        auto jt = def->find(key);
        if (jt != def->end() && !jt->is_object()) return {&*jt, i};
      }
    }
    throw ConfigError(source_ + ": missing option \"" + key + "\" in interpolation.");
  }

  std::string recurse(const std::string& key, std::string value, std::size_t where,
                      const std::vector<ChainLink>& chain, Trail& trail) {
    const auto mark = std::make_pair(key, chain[where].name);
    if (trail.count(mark)) {
      throw ConfigError(source_ + ": interpolation loop detected in value \"" + key + "\".");
    }
    // Python gives up with a RecursionError about here; also bound runaway growth.
    if (trail.size() > 900 || value.size() > (std::size_t{1} << 24)) {
      throw ConfigError(source_ + ": interpolation of \"" + key + "\" is too deep or too long");
    }
    trail.insert(mark);
    std::size_t pos = 0;
    while (true) {
      // The next "%(name)s" at or after pos.
      std::size_t start = value.find("%(", pos);
      std::size_t close = std::string::npos;
      while (start != std::string::npos) {
        close = value.find(')', start + 2);
        if (close != std::string::npos && close + 1 < value.size() && value[close + 1] == 's')
          break;
        start = value.find("%(", start + 1);
      }
      if (start == std::string::npos) break;
      const std::string name = value.substr(start + 2, close - start - 2);
      auto [found, index] = fetch(name, chain);
      if (trail.count(std::make_pair(name, chain[index].name))) {
        throw ConfigError(source_ + ": interpolation loop detected in value \"" + name + "\".");
      }
      if (!found->is_string()) {
        throw ConfigError(source_ + ": cannot interpolate the list value of \"" + name + "\"");
      }
      const std::string replacement = recurse(name, found->get<std::string>(), index, chain, trail);
      value = value.substr(0, start) + replacement + value.substr(close + 2);
      pos = start + replacement.size();
    }
    trail.erase(mark);
    return value;
  }

  std::string source_;
};

}  // namespace

Tree parse_configobj(std::string_view text, const ParseOptions& options) {
  ParseState st{options, split_lines(text, options.source)};
  Tree root = Tree::object();
  // stack[d] is the section at depth d (root at 0); names[d] its name.
  std::vector<Tree*> stack{&root};
  std::vector<std::string> names{""};
  auto path_of = [&](const std::string& key) {
    std::string p;
    for (std::size_t d = 1; d < names.size(); ++d) p += names[d] + "/";
    return p + key;
  };
  const std::size_t count = st.lines.size();
  for (std::size_t index = 0; index < count; ++index) {
    const U32& line = st.lines[index];
    auto sline = detail::py_strip(line);
    if (sline.empty() || sline.front() == U'#') continue;
    if (auto sec = match_section(line)) {
      if (sec->depth_open != sec->depth_close) st.fail("Cannot compute the section depth", index);
      const std::size_t depth = sec->depth_open;
      const std::size_t current = stack.size() - 1;
      if (depth > current + 1) st.fail("Section too nested", index);
      Tree& parent = *stack[depth - 1];
      std::string name;
      try {
        name = enc(unquote(sec->name));
      } catch (const SyntaxFailure&) {
        st.fail("Cannot compute the section depth", index);
      }
      if (parent.contains(name)) st.fail("Duplicate section name", index);
      stack.resize(depth);
      names.resize(depth);
      parent[name] = Tree::object();
      stack.push_back(&parent[name]);
      names.push_back(name);
      continue;
    }
    auto kw = match_keyword(line);
    if (!kw) {
      st.fail("Invalid line (" + detail::py_repr(enc(line)) +
                  ") (matched as neither section nor keyword)",
              index);
    }
    ValueParse parsed;
    const std::u32string_view value = kw->value;
    const std::size_t key_index = index;
    if (value.size() >= 3 && (value.substr(0, 3) == U"\"\"\"" || value.substr(0, 3) == U"'''")) {
      const U32 quot(value.substr(0, 3));
      if (auto j = find_closing_triple(value, quot, 3)) {
        parsed.value = enc(value.substr(3, *j - 3));
        auto nn = next_nonws_table(value);
        const std::size_t f = nn[*j + 3];
        if (f < value.size()) parsed.has_comment = true, parsed.comment = U32(value.substr(f));
      } else if (value.substr(3).find(quot) != U32::npos) {
        st.fail("Parse error in multiline value", key_index);
      } else {
        U32 acc(value.substr(3));
        std::size_t cur = index;
        bool closed = false;
        while (cur + 1 < count) {
          ++cur;
          acc += U'\n';
          const U32& next = st.lines[cur];
          if (next.find(quot) == U32::npos) {
            acc += next;
          } else {
            closed = true;
            break;
          }
        }
        if (!closed) st.fail("Parse error in multiline value", key_index);
        const U32& last = st.lines[cur];
        auto j2 = find_closing_triple(last, quot, 0);
        if (!j2) st.fail("Parse error in multiline value", key_index);
        acc += last.substr(0, *j2);
        parsed.value = enc(acc);
        auto nn = next_nonws_table(last);
        const std::size_t f = nn[*j2 + 3];
        if (f < last.size()) parsed.has_comment = true, parsed.comment = last.substr(f);
        index = cur;
      }
    } else {
      try {
        parsed = options.list_values ? ValueMatcher(value).parse() : parse_raw_value(value);
      } catch (const SyntaxFailure&) {
        st.fail("Parse error in value", key_index);
      }
    }
    std::string key;
    try {
      key = enc(unquote(kw->key));
    } catch (const SyntaxFailure&) {
      st.fail("Parse error in value", key_index);
    }
    Tree& section = *stack.back();
    // ConfigObj reports a duplicate on the last line of a multi-line value.
    if (section.contains(key)) st.fail("Duplicate keyword name", index);
    section[key] = std::move(parsed.value);
    if (options.comments) {
      (*options.comments)[path_of(key)] = parsed.has_comment ? comment_text(parsed.comment) : "";
    }
  }
  if (options.interpolation) {
    Tree out = root;
    std::vector<ChainLink> chain{ChainLink{&root, std::nullopt}};
    Interpolator(options.source).section(root, out, chain);
    return out;
  }
  return root;
}

Tree read_configobj_file(const std::filesystem::path& path, ParseOptions options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("Cannot read config file '" + path.string() + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw IoError("Cannot read config file '" + path.string() + "'");
  if (options.source == "<string>") options.source = path.string();
  return parse_configobj(buf.str(), options);
}

nlohmann::ordered_json parse_configobj_value(std::string_view value) {
  auto decoded = detail::utf8_decode(value);
  if (!decoded) throw ConfigError("Invalid value '" + std::string(value) + "': not valid UTF-8");
  try {
    return ValueMatcher(*decoded).parse().value;
  } catch (const SyntaxFailure&) {
    throw ConfigError("Invalid value " + detail::py_repr(std::string(value)) +
                      ": parse error (bad quoting or list syntax)");
  }
}

// ---- writer ----------------------------------------------------------------------------------
namespace {

const char* const kIndent = "    ";

// Python's str() of a scalar as ConfigObj's stringify writes it.
std::string scalar_text(const Tree& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) return detail::py_float_repr(v.get<double>());
  throw ConfigError("Cannot write a value of JSON type " + std::string(v.type_name()) +
                    " as ConfigObj text");
}

bool has_wspace_end(const U32& s) {
  auto edge = [](char32_t c) { return py_isspace(c) || is_quote(c); };
  return edge(s.front()) || edge(s.back());
}

// Candidate spellings for one string, in ConfigObj's order of preference.
std::vector<std::string> quote_candidates(const std::string& value, bool multiline) {
  std::vector<std::string> out;
  auto decoded = detail::utf8_decode(value);
  if (!decoded) throw ConfigError("Cannot write value: not valid UTF-8");
  const U32& s = *decoded;
  if (s.empty()) return {"\"\""};
  const bool has_nl = s.find(U'\n') != U32::npos;
  const bool plain_ok =
      !has_nl && !has_wspace_end(s) && s.find(U',') == U32::npos && s.find(U'#') == U32::npos;
  if (plain_ok) out.push_back(value);
  if (!has_nl) {
    if (value.find('"') == std::string::npos) out.push_back("\"" + value + "\"");
    if (value.find('\'') == std::string::npos) out.push_back("'" + value + "'");
  }
  if (multiline) {
    if (value.find("\"\"\"") == std::string::npos) out.push_back("\"\"\"" + value + "\"\"\"");
    if (value.find("'''") == std::string::npos) out.push_back("'''" + value + "'''");
  }
  return out;
}

// Spellings of a value to try, and the tree value ConfigObj must read back from them.
std::vector<std::string> value_candidates(const Tree& v, Tree& expected) {
  if (!v.is_array()) {
    const std::string text = scalar_text(v);
    expected = text;
    return quote_candidates(text, true);
  }
  expected = Tree::array();
  if (v.empty()) return {","};
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string item = scalar_text(v[i]);
    expected.push_back(item);
    std::string chosen;
    for (const auto& cand : quote_candidates(item, false)) {
      try {
        auto parsed = parse_configobj_value(cand + ",");
        if (parsed.is_array() && parsed.size() == 1 && parsed[0] == item) {
          chosen = cand;
          break;
        }
      } catch (const ConfigError&) {
      }
    }
    if (chosen.empty()) return {};
    out += (i ? ", " : "") + chosen;
  }
  if (v.size() == 1) out += ",";
  return {out};
}

// One `key = value` entry, checked by reading it back (with its indentation).
std::string write_entry(const std::string& indent, const std::string& key, const Tree& value) {
  Tree expected;
  const std::vector<std::string> values = value_candidates(value, expected);
  const std::vector<std::string> keys{key, "\"" + key + "\"", "'" + key + "'"};
  for (const auto& kc : keys) {
    for (const auto& vc : values) {
      std::string line = indent + kc + " = " + vc + "\n";
      try {
        Tree t = parse_configobj(line);
        if (t.size() == 1 && t.contains(key) && t[key] == expected) return line;
      } catch (const ConfigError&) {
      }
    }
  }
  throw ConfigError("Value " + detail::py_repr(key) + " = " + expected.dump() +
                    " cannot be safely quoted.");
}

std::string write_section_name(const std::string& name, std::size_t depth) {
  const std::string open(depth, '['), close(depth, ']');
  std::vector<std::string> cands{name, "\"" + name + "\"", "'" + name + "'"};
  for (const auto& cand : cands) {
    const std::string text = open + cand + close;
    auto decoded = detail::utf8_decode(text);
    if (!decoded || decoded->find(U'\n') != U32::npos) continue;
    auto m = match_section(*decoded);
    if (!m || m->depth_open != depth || m->depth_close != depth) continue;
    try {
      if (enc(unquote(m->name)) == name) return text;
    } catch (const SyntaxFailure&) {
    }
  }
  throw ConfigError("Section name " + detail::py_repr(name) + " cannot be safely quoted.");
}

void write_section(const Tree& section, std::size_t depth, std::string& out) {
  std::string indent;
  for (std::size_t d = 0; d < depth; ++d) indent += kIndent;
  for (const auto& [key, value] : section.items()) {
    if (value.is_object()) continue;
    out += write_entry(indent, key, value);
  }
  for (const auto& [key, value] : section.items()) {
    if (!value.is_object()) continue;
    out += indent + write_section_name(key, depth + 1) + "\n";
    write_section(value, depth + 1, out);
  }
}

}  // namespace

std::string write_configobj(const Tree& tree) {
  if (!tree.is_object()) throw ConfigError("write_configobj: the tree must be a JSON object");
  std::string out;
  write_section(tree, 0, out);
  return out;
}

}  // namespace stpipe::config
