// CRDS contexts: loading a mapping closure, rmap header rules, and best-reference lookup.
#include "stpipe/crds/context.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <set>
#include <variant>

#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe::crds {

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_na(const std::string& v) { return upper(v) == "N/A"; }
bool is_omit(const std::string& v) { return upper(v) == "OMIT"; }

// JWST's global extra parkeys (crds.jwst.extra_keys).
const std::vector<std::string>& observatory_extra_keys(const std::string& obs) {
  static const std::vector<std::string> kJwst = {"META.VISIT.TSOVISIT",
                                                 "META.INSTRUMENT.LAMP_STATE"};
  static const std::vector<std::string> kNone;
  return obs == "jwst" ? kJwst : kNone;
}

// ------------------------------------------------------------ rmap header expressions

// A tiny evaluator for the restricted Python expressions rmaps use in rmap_relevance,
// rmap_omit and parkey_relevance: literals, header names, tuples/lists, comparisons,
// `in` / `not in`, and/or/not.
class Expr {
 public:
  struct Value;
  using List = std::vector<Value>;
  struct Value {
    std::variant<std::monostate, bool, double, std::string, List> v;
    bool truthy() const {
      if (std::holds_alternative<bool>(v)) return std::get<bool>(v);
      if (std::holds_alternative<double>(v)) return std::get<double>(v) != 0;
      if (std::holds_alternative<std::string>(v)) return !std::get<std::string>(v).empty();
      if (std::holds_alternative<List>(v)) return !std::get<List>(v).empty();
      return false;
    }
  };

  Expr(const std::string& text, const Header& names) : t_(text), names_(names) {}

  bool evaluate() {
    Value v = or_expr();
    skip();
    if (p_ < t_.size()) fail("unexpected text");
    return v.truthy();
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    throw SelectionError("cannot evaluate " + python_repr(t_) + ": " + why);
  }
  void skip() {
    while (p_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[p_]))) ++p_;
  }
  bool word(const std::string& w) {
    skip();
    if (t_.compare(p_, w.size(), w) != 0) return false;
    std::size_t e = p_ + w.size();
    if (e < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[e])) || t_[e] == '_'))
      return false;
    p_ = e;
    return true;
  }
  bool sym(const std::string& s) {
    skip();
    if (t_.compare(p_, s.size(), s) != 0) return false;
    p_ += s.size();
    return true;
  }
  static bool equal(const Value& a, const Value& b) {
    if (a.v.index() != b.v.index()) {
      if (std::holds_alternative<bool>(a.v) && std::holds_alternative<double>(b.v))
        return (std::get<bool>(a.v) ? 1.0 : 0.0) == std::get<double>(b.v);
      if (std::holds_alternative<double>(a.v) && std::holds_alternative<bool>(b.v))
        return equal(b, a);
      return false;
    }
    if (std::holds_alternative<List>(a.v)) {
      const auto& x = std::get<List>(a.v);
      const auto& y = std::get<List>(b.v);
      if (x.size() != y.size()) return false;
      for (std::size_t k = 0; k < x.size(); ++k)
        if (!equal(x[k], y[k])) return false;
      return true;
    }
    if (std::holds_alternative<bool>(a.v)) return std::get<bool>(a.v) == std::get<bool>(b.v);
    if (std::holds_alternative<double>(a.v)) return std::get<double>(a.v) == std::get<double>(b.v);
    if (std::holds_alternative<std::string>(a.v))
      return std::get<std::string>(a.v) == std::get<std::string>(b.v);
    return true;  // both None
  }
  bool contains(const Value& item, const Value& container) {
    if (std::holds_alternative<List>(container.v)) {
      for (const auto& x : std::get<List>(container.v))
        if (equal(item, x)) return true;
      return false;
    }
    if (std::holds_alternative<std::string>(container.v) &&
        std::holds_alternative<std::string>(item.v))
      return std::get<std::string>(container.v).find(std::get<std::string>(item.v)) !=
             std::string::npos;
    fail("'in' needs a sequence");
  }
  int compare(const Value& a, const Value& b) {
    if (std::holds_alternative<double>(a.v) && std::holds_alternative<double>(b.v)) {
      double x = std::get<double>(a.v), y = std::get<double>(b.v);
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (std::holds_alternative<std::string>(a.v) && std::holds_alternative<std::string>(b.v))
      return std::get<std::string>(a.v).compare(std::get<std::string>(b.v));
    fail("ordering comparison of different types");
  }
  Value or_expr() {
    Value v = and_expr();
    while (word("or")) {
      Value r = and_expr();
      if (!v.truthy()) v = r;
    }
    return v;
  }
  Value and_expr() {
    Value v = not_expr();
    while (word("and")) {
      Value r = not_expr();
      if (v.truthy()) v = r;
    }
    return v;
  }
  Value not_expr() {
    if (word("not")) return Value{!not_expr().truthy()};
    return comparison();
  }
  Value comparison() {
    Value left = primary();
    Value result{true};
    bool any = false;
    while (true) {
      std::string op;
      std::size_t save = p_;
      if (sym("=="))
        op = "==";
      else if (sym("!="))
        op = "!=";
      else if (sym("<="))
        op = "<=";
      else if (sym(">="))
        op = ">=";
      else if (sym("<"))
        op = "<";
      else if (sym(">"))
        op = ">";
      else if (word("in"))
        op = "in";
      else if (word("not")) {
        if (!word("in")) {
          p_ = save;
          break;
        }
        op = "not in";
      } else {
        break;
      }
      Value right = primary();
      bool r;
      if (op == "==")
        r = equal(left, right);
      else if (op == "!=")
        r = !equal(left, right);
      else if (op == "in")
        r = contains(left, right);
      else if (op == "not in")
        r = !contains(left, right);
      else {
        int c = compare(left, right);
        r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
      }
      any = true;
      if (!r) result = Value{false};
      left = right;
    }
    return any ? result : left;
  }
  Value primary() {
    skip();
    if (p_ >= t_.size()) fail("unexpected end");
    char c = t_[p_];
    if (c == '(' || c == '[') {
      char close = c == '(' ? ')' : ']';
      ++p_;
      List items;
      bool comma = false;
      if (!sym(std::string(1, close))) {
        items.push_back(or_expr());
        while (sym(",")) {
          comma = true;
          if (sym(std::string(1, close))) goto done;
          items.push_back(or_expr());
        }
        if (!sym(std::string(1, close))) fail("expected closing bracket");
      }
    done:
      if (c == '(' && items.size() == 1 && !comma) return items[0];
      return Value{items};
    }
    if (c == '\'' || c == '"') {
      ++p_;
      std::string s;
      while (p_ < t_.size() && t_[p_] != c) {
        if (t_[p_] == '\\' && p_ + 1 < t_.size()) ++p_;
        s += t_[p_++];
      }
      if (p_ >= t_.size()) fail("unterminated string");
      ++p_;
      return Value{s};
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
      std::size_t st = p_;
      ++p_;
      while (p_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[p_])) || t_[p_] == '.' ||
                                t_[p_] == '+' || t_[p_] == '-'))
        ++p_;
      try {
        return Value{std::stod(t_.substr(st, p_ - st))};
      } catch (const std::exception&) {
        fail("bad number");
      }
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t st = p_;
      while (p_ < t_.size() &&
             (std::isalnum(static_cast<unsigned char>(t_[p_])) || t_[p_] == '_' || t_[p_] == '.'))
        ++p_;
      std::string id = t_.substr(st, p_ - st);
      if (id == "True" || id == "always") return Value{true};
      if (id == "False") return Value{false};
      if (id == "None") return Value{};
      auto it = names_.find(id);
      if (it == names_.end()) it = names_.find(upper(id));
      if (it == names_.end()) fail("name " + python_repr(id) + " is not defined");
      return Value{it->second};
    }
    fail(std::string("unexpected character '") + c + "'");
  }

  const std::string& t_;
  const Header& names_;
  std::size_t p_ = 0;
};

std::string header_text(const MappingFile& f, const char* key, const std::string& dflt) {
  const PyValue* v = f.header.get(key);
  return v ? v->str() : dflt;
}

}  // namespace

std::string BestRef::crds_string() const {
  switch (kind) {
    case Kind::kFile:
      return files.at(0);
    case Kind::kFiles: {
      std::vector<std::string> q;
      std::string out = "(";
      for (std::size_t k = 0; k < files.size(); ++k) out += (k ? ", " : "") + python_repr(files[k]);
      return out + ")";
    }
    case Kind::kFileMap: {
      std::string out = "{";
      for (std::size_t k = 0; k < files.size(); ++k)
        out += (k ? ", " : "") + python_repr(keys[k]) + ": " + python_repr(files[k]);
      return out + "}";
    }
    case Kind::kNotApplicable:
      return "NOT FOUND n/a";
    case Kind::kOmit:
      return "";
    case Kind::kError:
      return "NOT FOUND " + message;
  }
  return "";
}

// ------------------------------------------------------------ ReferenceMapping

ReferenceMapping::ReferenceMapping(MappingFile parsed)
    : file_(std::make_shared<const MappingFile>(std::move(parsed))) {
  const MappingFile& file = *file_;
  name_ = file.name;
  filekind_ = lower(file.header_string("filekind"));
  instrument_ = upper(file.header_string("instrument"));
  std::string observatory = lower(file.header_string("observatory"));
  reffile_required_ = upper(header_text(file, "reffile_required", "NONE"));
  relevance_expr_ = header_text(file, "rmap_relevance", "");
  omit_expr_ = header_text(file, "rmap_omit", "");
  if (const PyValue* pr = file.header.get("parkey_relevance");
      pr && pr->kind == PyValue::Kind::kDict)
    for (const auto& [k, v] : pr->dict) parkey_relevance_.emplace_back(upper(k.str()), v.str());

  const PyValue* parkey = file.header.get("parkey");
  if (!parkey || !parkey->is_tuple())
    throw ReferenceFileError("CRDS rmap '" + name_ + "' has no parkey tuple");
  for (const auto& level : parkey->items) {
    if (level.is_tuple()) {
      for (const auto& p : level.items) required_.push_back(upper(p.str()));
    } else {
      required_.push_back(upper(level.str()));
    }
  }
  std::string reffile_switch = upper(header_text(file, "reffile_switch", "NONE"));
  if (reffile_switch != "NONE") required_.push_back(reffile_switch);
  if (const PyValue* extra = file.header.get("extra_keys"); extra && extra->is_tuple())
    for (const auto& p : extra->items) required_.push_back(upper(p.str()));
  for (const auto& k : observatory_extra_keys(observatory)) required_.push_back(k);

  SelectorOptions opt;
  opt.rmap_name = name_;
  // CRDS's DEFAULT_SUBSTITUTIONS, overridden by the header's own.
  opt.substitutions = parse_python_literal(
      "{'META.SUBARRAY.NAME': {'GENERIC': 'N/A'}, 'SUBARRAY': {'GENERIC': 'N/A'}}");
  if (const PyValue* subs = file.header.get("substitutions");
      subs && subs->kind == PyValue::Kind::kDict) {
    for (const auto& kv : subs->dict) {
      bool replaced = false;
      for (auto& existing : opt.substitutions.dict)
        if (existing.first.s == kv.first.str()) existing.second = kv.second, replaced = true;
      if (!replaced) opt.substitutions.dict.push_back(kv);
    }
  }
  if (const PyValue* mo = file.header.get("merge_overlaps")) {
    std::string v = upper(mo->str());
    opt.merge_overlaps = v == "TRUE" || v == "1";
  }
  selector_ = compile_selector(file.selector, *parkey, 0, opt);
}

std::vector<std::string> ReferenceMapping::reference_names() const {
  std::set<std::string> names;
  selector_->collect_names(names);
  std::vector<std::string> out;
  for (const auto& n : names)
    if (!is_na(n) && !is_omit(n)) out.push_back(n);
  return out;
}

BestRef ReferenceMapping::get_best_ref(const Header& header,
                                       std::vector<std::string>* trace) const {
  BestRef r;
  r.rmap = name_;
  if (trace) trace->push_back("rmap " + name_);
  if (!omit_expr_.empty()) {
    try {
      if (Expr(omit_expr_, header).evaluate()) {
        if (trace) trace->push_back("  rmap_omit " + omit_expr_ + " is true: type omitted");
        r.kind = BestRef::Kind::kOmit;
        return r;
      }
    } catch (const Error& e) {
      if (trace) trace->push_back(std::string("  warning: rmap_omit ignored: ") + e.what());
    }
  }
  if (!relevance_expr_.empty()) {
    try {
      if (!Expr(relevance_expr_, header).evaluate()) {
        if (trace) trace->push_back("  rmap_relevance " + relevance_expr_ + " is false: N/A");
        r.kind = BestRef::Kind::kNotApplicable;
        return r;
      }
    } catch (const Error& e) {
      if (trace) trace->push_back(std::string("  warning: rmap_relevance ignored: ") + e.what());
    }
  }
  try {
    Header h = header;
    if (!parkey_relevance_.empty()) {
      Header names = header;
      for (const auto& k : required_) names.emplace(k, "UNDEFINED");
      names["keep_comments"] = "";
      for (const auto& [parkey, expr] : parkey_relevance_) {
        if (std::find(required_.begin(), required_.end(), parkey) == required_.end()) continue;
        if (!Expr(expr, names).evaluate()) {
          h[parkey] = "N/A";
          if (trace) trace->push_back("  parkey_relevance: " + parkey + " set to N/A");
        }
      }
    }
    PyValue v = selector_->choose(h, trace);
    if (v.is_string()) {
      if (is_na(v.s)) {
        r.kind = BestRef::Kind::kNotApplicable;
        if (trace) trace->push_back("  rules say N/A for these parameters");
      } else if (is_omit(v.s)) {
        r.kind = BestRef::Kind::kOmit;
        if (trace) trace->push_back("  rules say OMIT for these parameters");
      } else {
        r.kind = BestRef::Kind::kFile;
        r.files = {v.s};
      }
    } else if (v.is_tuple()) {
      r.kind = BestRef::Kind::kFiles;
      for (const auto& item : v.items) r.files.push_back(item.str());
    } else if (v.kind == PyValue::Kind::kDict) {
      r.kind = BestRef::Kind::kFileMap;
      for (const auto& [k, f] : v.dict) r.keys.push_back(k.str()), r.files.push_back(f.str());
    } else {
      r.kind = BestRef::Kind::kError;
      r.message = "unexpected rule value " + v.repr();
    }
  } catch (const std::exception& e) {
    if (reffile_required_ == "YES" || reffile_required_ == "NONE") {
      r.kind = BestRef::Kind::kError;
      r.message = e.what();
    } else {
      r.kind = BestRef::Kind::kNotApplicable;
      if (trace)
        trace->push_back(std::string("  not required (reffile_required) after: ") + e.what());
    }
  }
  return r;
}

// ------------------------------------------------------------ Context

Context Context::load(const std::string& name, const MappingSource& source, bool check_checksum) {
  Context ctx;
  ctx.name_ = name;
  MappingFile top = parse_mapping(source(name), name, check_checksum);
  ctx.kind_ = top.mapping_kind();
  ctx.observatory_ = lower(top.header_string("observatory"));

  auto load_rmap = [&](const std::string& rname) {
    if (ctx.rmaps_.count(rname)) return;
    MappingFile f = parse_mapping(source(rname), rname, check_checksum);
    if (f.mapping_kind() != "REFERENCE")
      throw ReferenceFileError("CRDS mapping '" + rname + "' is not a reference mapping (.rmap)");
    ctx.rmaps_[rname] = std::make_shared<ReferenceMapping>(std::move(f));
  };
  auto load_imap = [&](const MappingFile& f) {
    if (f.mapping_kind() != "INSTRUMENT")
      throw ReferenceFileError("CRDS mapping '" + f.name +
                               "' is not an instrument mapping (.imap)");
    Imap im;
    im.name = f.name;
    if (const PyValue* pk = f.header.get("parkey"); pk && pk->is_tuple())
      for (const auto& p : pk->items) im.parkeys.push_back(upper(p.str()));
    if (const PyValue* extra = f.header.get("extra_keys"); extra && extra->is_tuple())
      for (const auto& p : extra->items) im.parkeys.push_back(upper(p.str()));
    if (f.selector.kind != PyValue::Kind::kDict)
      throw ReferenceFileError("CRDS imap '" + f.name + "' selector must be a dict");
    for (const auto& [k, v] : f.selector.dict) {
      std::string value = v.str();
      im.types[lower(k.str())] = value;
      if (!is_na(value) && !is_omit(value)) load_rmap(value);
    }
    ctx.imaps_[f.name] = std::move(im);
  };

  if (ctx.kind_ == "PIPELINE") {
    if (const PyValue* pk = top.header.get("parkey"); pk && pk->is_tuple() && !pk->items.empty())
      ctx.instrument_key_ = upper(pk->items[0].str());
    if (top.selector.kind != PyValue::Kind::kDict)
      throw ReferenceFileError("CRDS pmap '" + name + "' selector must be a dict");
    for (const auto& [k, v] : top.selector.dict) {
      std::string imap_name = v.str();
      ctx.instruments_[lower(k.str())] = imap_name;
      if (!ctx.imaps_.count(imap_name))
        load_imap(parse_mapping(source(imap_name), imap_name, check_checksum));
    }
  } else if (ctx.kind_ == "INSTRUMENT") {
    ctx.single_imap_ = name;
    load_imap(top);
    ctx.instruments_[lower(top.header_string("instrument"))] = name;
  } else if (ctx.kind_ == "REFERENCE") {
    ctx.single_rmap_ = name;
    ctx.rmaps_[name] = std::make_shared<ReferenceMapping>(std::move(top));
  } else {
    throw ReferenceFileError("CRDS mapping '" + name + "' has an unknown 'mapping' kind '" +
                             ctx.kind_ + "'");
  }
  return ctx;
}

Context Context::load_from_directory(const std::string& name, const std::string& dir,
                                     bool check_checksum) {
  return load(
      name,
      [&](const std::string& n) {
        std::filesystem::path p = std::filesystem::path(dir) / n;
        std::FILE* f = std::fopen(p.c_str(), "rb");
        if (!f) throw ReferenceFileError("CRDS mapping '" + n + "' not found in '" + dir + "'");
        std::string text;
        char buf[65536];
        std::size_t got;
        while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, got);
        std::fclose(f);
        return text;
      },
      check_checksum);
}

std::vector<std::string> Context::mapping_names() const {
  std::set<std::string> rest;
  for (const auto& [n, _] : imaps_) rest.insert(n);
  for (const auto& [n, _] : rmaps_) rest.insert(n);
  rest.erase(name_);
  std::vector<std::string> out{name_};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::vector<std::string> Context::reference_names() const {
  std::set<std::string> names;
  for (const auto& [_, r] : rmaps_)
    for (auto& n : r->reference_names()) names.insert(n);
  return {names.begin(), names.end()};
}

const ReferenceMapping* Context::rmap(const std::string& instrument,
                                      const std::string& reftype) const {
  if (!single_rmap_.empty()) {
    auto& r = rmaps_.at(single_rmap_);
    return r->filekind() == lower(reftype) ? r.get() : nullptr;
  }
  auto ins = instruments_.find(lower(instrument));
  if (ins == instruments_.end()) return nullptr;
  const Imap& im = imaps_.at(ins->second);
  auto t = im.types.find(lower(reftype));
  if (t == im.types.end() || is_na(t->second) || is_omit(t->second)) return nullptr;
  return rmaps_.at(t->second).get();
}

const Context::Imap& Context::imap_for(const Header& header, std::string* instrument) const {
  if (!single_imap_.empty()) {
    *instrument = instruments_.begin()->first;
    return imaps_.at(single_imap_);
  }
  std::string instr;
  for (const std::string& key : {instrument_key_, std::string("INSTRUME"),
                                 std::string("META_INSTRUMENT_NAME"), std::string("INSTRUMENT")}) {
    auto it = header.find(key);
    if (it != header.end() && upper(it->second) != "UNDEFINED") {
      instr = it->second;
      break;
    }
  }
  if (instr.empty())
    throw ReferenceFileError("Missing '" + instrument_key_ +
                             "' keyword in header for determining instrument.");
  auto ins = instruments_.find(lower(instr));
  if (ins == instruments_.end())
    throw ReferenceFileError("Unknown instrument " + python_repr(lower(instr)) + " for context " +
                             python_repr(name_));
  *instrument = ins->first;
  return imaps_.at(ins->second);
}

std::vector<std::string> Context::required_parkeys(const Imap& imap) const {
  std::set<std::string> keys(imap.parkeys.begin(), imap.parkeys.end());
  for (const auto& [_, rname] : imap.types) {
    if (is_na(rname) || is_omit(rname)) continue;
    for (const auto& k : rmaps_.at(rname)->required_parkeys()) keys.insert(k);
  }
  return {keys.begin(), keys.end()};
}

Header Context::minimize_header(const Header& header) const {
  std::vector<std::string> keys;
  if (!single_rmap_.empty()) {
    keys = rmaps_.at(single_rmap_)->required_parkeys();
  } else {
    std::string instrument;
    keys = required_parkeys(imap_for(header, &instrument));
    if (single_imap_.empty()) keys.push_back(instrument_key_);
  }
  Header out;
  for (const auto& k : keys) {
    auto it = header.find(k);
    out[k] = it == header.end() ? std::string("UNDEFINED") : it->second;
  }
  return out;
}

std::map<std::string, BestRef> Context::best_references(
    const Header& raw, const std::vector<std::string>& reftypes, Explanation* explain,
    const std::map<std::string, std::string>* fits_keywords) const {
  Header conditioned = condition_header(raw, fits_keywords);
  Header header = minimize_header(conditioned);
  std::map<std::string, BestRef> out;
  auto trace_for = [&](const std::string& type) {
    return explain ? &explain->lines[type] : nullptr;
  };
  if (!single_rmap_.empty()) {
    const auto& r = *rmaps_.at(single_rmap_);
    std::vector<std::string> types = reftypes;
    if (types.empty()) types.push_back(r.filekind());
    for (const auto& t : types) {
      std::string type = lower(t);
      BestRef b;
      if (type != r.filekind()) {
        b.message = "Unknown reference type " + python_repr(type);
        if (auto* tr = trace_for(type))
          tr->push_back("rmap " + r.name() + " only answers for type " + python_repr(r.filekind()));
      } else {
        b = r.get_best_ref(header, trace_for(type));
      }
      if (b.kind != BestRef::Kind::kOmit) out[type] = b;
    }
    return out;
  }
  std::string instrument;
  const Imap& imap = imap_for(header, &instrument);
  std::vector<std::string> types = reftypes;
  if (types.empty())
    for (const auto& [t, _] : imap.types) types.push_back(t);
  for (const auto& t : types) {
    std::string type = lower(t);
    auto* tr = trace_for(type);
    BestRef b;
    auto it = imap.types.find(type);
    if (it == imap.types.end()) {
      b.message = "Unknown reference type " + python_repr(type);
      if (tr) tr->push_back(imap.name + " has no type " + python_repr(type));
    } else if (is_na(it->second)) {
      b.kind = BestRef::Kind::kNotApplicable;
      if (tr)
        tr->push_back(imap.name + " declares " + python_repr(type) + " N/A for " +
                      upper(instrument));
    } else if (is_omit(it->second)) {
      b.kind = BestRef::Kind::kOmit;
      if (tr)
        tr->push_back(imap.name + " declares " + python_repr(type) + " OMIT for " +
                      upper(instrument));
    } else {
      if (tr) tr->push_back(imap.name + " -> " + it->second);
      b = rmaps_.at(it->second)->get_best_ref(header, tr);
    }
    if (b.kind != BestRef::Kind::kOmit) out[type] = b;
  }
  return out;
}

}  // namespace stpipe::crds
