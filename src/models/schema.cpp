// Schema loading ($ref resolution, allOf merging, keyword/array index) and value validation.
#include "stpipe/models/schema.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <regex>
#include <system_error>

#include "stpipe/asdf/yaml.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe::models {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kJwstPrefix = "http://stsci.edu/schemas/jwst_datamodel/";

bool has_core(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "core.schema.yaml", ec);
}

fs::path find_schema_dir() {
  if (const char* env = std::getenv("STPIPE_SCHEMA_DIR"); env && *env) {
    if (has_core(env)) return fs::path(env);
    throw ConfigError(std::string("STPIPE_SCHEMA_DIR=") + env + " holds no core.schema.yaml");
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = exe.parent_path();
    for (int i = 0; i < 5 && !dir.empty(); ++i) {
      if (has_core(dir / "schemas")) return dir / "schemas";
      if (has_core(dir / "share" / "stpipe" / "schemas"))
        return dir / "share" / "stpipe" / "schemas";
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
  // This file is src/models/schema.cpp: the schemas folder is ../../schemas from here.
  fs::path src = fs::path(__FILE__).parent_path().parent_path().parent_path() / "schemas";
  if (has_core(src)) return src;
  throw ConfigError("cannot find the schemas folder (set STPIPE_SCHEMA_DIR)");
}

std::string first_line(const std::string& s) {
  auto p = s.find('\n');
  return p == std::string::npos ? s : s.substr(0, p);
}

void merge_into(Json& a, const Json& b) {
  if (!a.is_object() || !b.is_object()) {
    a = b;
    return;
  }
  for (auto it = b.begin(); it != b.end(); ++it) {
    if (it.key() == "properties" && a.contains("properties") && a["properties"].is_object() &&
        it.value().is_object()) {
      Json& ap = a["properties"];
      for (auto p = it.value().begin(); p != it.value().end(); ++p) {
        if (ap.contains(p.key()) && ap[p.key()].is_object() && p.value().is_object())
          merge_into(ap[p.key()], p.value());
        else
          ap[p.key()] = p.value();
      }
    } else {
      a[it.key()] = it.value();
    }
  }
}

// Resolves $ref and merges allOf for a set of schema documents.
class Resolver {
 public:
  explicit Resolver(fs::path dir) : dir_(std::move(dir)) {}

  const Json& document(const std::string& uri, const fs::path& origin_hint = {}) {
    auto it = docs_.find(uri);
    if (it != docs_.end()) return it->second;
    fs::path file = origin_hint;
    if (file.empty()) {
      if (uri.rfind(kJwstPrefix, 0) != 0) throw ConfigError("schema $ref to unknown URI " + uri);
      file = dir_ / (uri.substr(kJwstPrefix.size()) + ".yaml");
    }
    std::string text = read_text_file(file);
    Json doc;
    try {
      if (file.extension() == ".json")
        doc = Json::parse(text);
      else
        doc = asdf::parse_yaml(text, file.string()).tree;
    } catch (const std::exception& e) {
      throw ConfigError("cannot parse schema " + file.string() + ": " + e.what());
    }
    return docs_.emplace(uri, std::move(doc)).first->second;
  }

  Json resolve(const Json& node, const std::string& base, int depth) {
    if (depth > 64) throw ConfigError("schema " + base + ": $ref nesting too deep (cycle?)");
    if (node.is_array()) {
      Json out = Json::array();
      for (auto& v : node) out.push_back(resolve(v, base, depth + 1));
      return out;
    }
    if (!node.is_object()) return node;
    Json out = Json::object();
    if (node.contains("$ref") && node["$ref"].is_string()) {
      std::string ref = node["$ref"].get<std::string>();
      std::string uri = ref, frag;
      if (auto h = ref.find('#'); h != std::string::npos) {
        uri = ref.substr(0, h);
        frag = ref.substr(h + 1);
      }
      std::string target_uri = base;
      if (!uri.empty()) {
        if (uri.find("://") != std::string::npos)
          target_uri = uri;
        else
          target_uri = base.substr(0, base.rfind('/') + 1) + uri;
      }
      if (target_uri.rfind(kJwstPrefix, 0) != 0) {
        out = Json::object();  // external (units, transforms): accept anything
      } else {
        const Json* target = &document(target_uri);
        if (!frag.empty()) {
          if (frag[0] != '/') frag = "/" + frag;
          try {
            target = &target->at(Json::json_pointer(frag));
          } catch (const std::exception&) {
            throw ConfigError("schema " + base + ": $ref " + ref + " points nowhere");
          }
        }
        out = resolve(*target, target_uri, depth + 1);
      }
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string& k = it.key();
      if (k == "$ref" || k == "definitions" || k == "$schema") continue;
      if (k == "allOf") {
        Json merged = Json::object();
        for (auto& b : it.value()) merge_into(merged, resolve(b, base, depth + 1));
        merge_into(out, merged);
      } else if (k == "properties" || k == "anyOf" || k == "oneOf" || k == "items" || k == "not") {
        Json r;
        if (k == "properties" && it.value().is_object()) {
          r = Json::object();
          for (auto p = it.value().begin(); p != it.value().end(); ++p)
            r[p.key()] = resolve(p.value(), base, depth + 1);
        } else {
          r = resolve(it.value(), base, depth + 1);
        }
        if (k == "properties") {
          Json wrap = Json::object();
          wrap["properties"] = r;
          merge_into(out, wrap);
        } else {
          out[k] = r;
        }
      } else {
        out[k] = it.value();
      }
    }
    return out;
  }

 private:
  fs::path dir_;
  std::map<std::string, Json> docs_;
};

std::optional<DType> datatype_of(const Json& node) {
  if (node.contains("datatype") && node["datatype"].is_string())
    return dtype_from_name(node["datatype"].get<std::string>());
  return std::nullopt;
}

std::string json_repr(const Json& v) {
  if (v.is_string()) return "'" + v.get<std::string>() + "'";
  return v.dump();
}

}  // namespace

fs::path schema_dir() {
  static std::mutex m;
  static fs::path cached;
  std::lock_guard<std::mutex> lock(m);
  if (const char* env = std::getenv("STPIPE_SCHEMA_DIR"); env && *env) return find_schema_dir();
  if (cached.empty()) cached = find_schema_dir();
  return cached;
}

std::shared_ptr<const Schema> Schema::load(std::string_view name_in) {
  static std::mutex m;
  static std::map<std::string, std::shared_ptr<const Schema>> cache;
  std::string name(name_in);
  fs::path file;
  std::string key;
  bool by_path = false;
  if (name.find('/') != std::string::npos || name.ends_with(".yaml") || name.ends_with(".json")) {
    file = name;
    by_path = true;
    key = fs::absolute(file).string();
    name = file.filename().string();
    for (auto suffix : {".yaml", ".json", ".schema"})
      if (name.ends_with(suffix)) name.resize(name.size() - std::string_view(suffix).size());
  } else {
    if (name.ends_with(".schema")) name.resize(name.size() - 7);
    file = schema_dir() / (name + ".schema.yaml");
    key = file.string();
  }
  std::lock_guard<std::mutex> lock(m);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::error_code ec;
  if (!fs::exists(file, ec)) throw ConfigError("schema file not found: " + file.string());
  // Relative refs of a schema given by path resolve in its own folder.
  Resolver resolver(by_path ? fs::absolute(file).parent_path() : schema_dir());
  std::string uri = std::string(kJwstPrefix) + file.stem().string();  // "ramp.schema"
  const Json& doc = resolver.document(uri, file);
  std::string base =
      doc.contains("id") && doc["id"].is_string() ? doc["id"].get<std::string>() : uri;
  Json merged = resolver.resolve(doc, base, 0);
  merged["id"] = base;  // the outermost schema's id wins over those merged from allOf branches
  auto schema = std::make_shared<const Schema>(name, merged, file);
  cache[key] = schema;
  return schema;
}

Schema::Schema(std::string name, const Json& document, const fs::path& origin)
    : name_(std::move(name)), tree_(document) {
  if (!tree_.is_object()) throw ConfigError("schema " + origin.string() + " is not a mapping");
  if (tree_.contains("id") && tree_["id"].is_string()) id_ = tree_["id"].get<std::string>();
  index(tree_, "");
}

void Schema::index(const Json& node, const std::string& path) {
  if (!node.is_object() || !node.contains("properties") || !node["properties"].is_object()) return;
  for (auto it = node["properties"].begin(); it != node["properties"].end(); ++it) {
    const Json& child = it.value();
    if (!child.is_object()) continue;
    std::string p = path.empty() ? it.key() : path + "." + it.key();
    if (child.contains("fits_keyword") && child["fits_keyword"].is_string()) {
      KeywordEntry e;
      e.path = p;
      e.keyword = child["fits_keyword"].get<std::string>();
      e.hdu = child.contains("fits_hdu") && child["fits_hdu"].is_string()
                  ? child["fits_hdu"].get<std::string>()
                  : "PRIMARY";
      if (child.contains("title") && child["title"].is_string())
        e.title = first_line(child["title"].get<std::string>());
      keywords_.push_back(std::move(e));
    } else if (child.contains("fits_hdu") && path.empty()) {
      ArrayEntry a;
      a.name = p;
      a.hdu = child["fits_hdu"].get<std::string>();
      a.dtype = datatype_of(child);
      a.is_table = child.contains("datatype") && child["datatype"].is_array() &&
                   !child["datatype"].empty() && child["datatype"][0].is_object();
      if (child.contains("ndim") && child["ndim"].is_number_integer())
        a.ndim = child["ndim"].get<int>();
      if (child.contains("max_ndim") && child["max_ndim"].is_number_integer())
        a.max_ndim = child["max_ndim"].get<int>();
      if (child.contains("default") && child["default"].is_number())
        a.default_value = child["default"].get<double>();
      arrays_.push_back(std::move(a));
    }
    index(child, p);
  }
  // Pointers are taken after the vectors stop growing (at the outermost call).
  if (path.empty()) {
    for (auto& k : keywords_) k.node = this->node(k.path);
    for (auto& a : arrays_) a.node = this->node(a.name);
  }
}

const Json* Schema::node(std::string_view dotted) const {
  const Json* cur = &tree_;
  std::size_t start = 0;
  while (start <= dotted.size()) {
    auto dot = dotted.find('.', start);
    std::string seg(
        dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!cur->is_object() || !cur->contains("properties")) return nullptr;
    const Json& props = (*cur)["properties"];
    if (!props.is_object() || !props.contains(seg)) return nullptr;
    cur = &props[seg];
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return cur;
}

const KeywordEntry* Schema::keyword(std::string_view hdu, std::string_view kw) const {
  for (auto& k : keywords_)
    if (k.keyword == kw && k.hdu == hdu) return &k;
  return nullptr;
}

const KeywordEntry* Schema::keyword_for_path(std::string_view dotted) const {
  for (auto& k : keywords_)
    if (k.path == dotted) return &k;
  return nullptr;
}

const ArrayEntry* Schema::array(std::string_view name) const {
  for (auto& a : arrays_)
    if (a.name == name) return &a;
  return nullptr;
}

const ArrayEntry* Schema::array_for_hdu(std::string_view extname) const {
  for (auto& a : arrays_)
    if (a.hdu == extname) return &a;
  return nullptr;
}

std::optional<std::string> Schema::check(const Json& node, const Json& value) {
  if (value.is_null() || !node.is_object()) return std::nullopt;
  if (node.contains("type")) {
    auto matches = [&](const std::string& t) {
      if (t == "string") return value.is_string();
      if (t == "integer") return value.is_number_integer();
      if (t == "number") return value.is_number();
      if (t == "boolean") return value.is_boolean();
      if (t == "object") return value.is_object();
      if (t == "array") return value.is_array();
      if (t == "null") return value.is_null();
      return true;
    };
    const Json& t = node["type"];
    bool ok = true;
    if (t.is_string())
      ok = matches(t.get<std::string>());
    else if (t.is_array()) {
      ok = false;
      for (auto& x : t)
        if (x.is_string() && matches(x.get<std::string>())) ok = true;
    }
    if (!ok) return json_repr(value) + " is not of type " + json_repr(t);
  }
  if (node.contains("enum") && node["enum"].is_array()) {
    bool found = false;
    for (auto& e : node["enum"])
      if (e == value) found = true;
    if (!found) return json_repr(value) + " is not one of " + node["enum"].dump();
  }
  if (node.contains("pattern") && node["pattern"].is_string() && value.is_string()) {
    try {
      std::regex re(node["pattern"].get<std::string>(), std::regex::ECMAScript);
      if (!std::regex_search(value.get<std::string>(), re))
        return json_repr(value) + " does not match " + json_repr(node["pattern"]);
    } catch (const std::regex_error&) {
    }
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (node.contains(key) && node[key].is_array() && !node[key].empty()) {
      std::optional<std::string> last;
      bool any = false;
      for (auto& b : node[key]) {
        auto r = check(b, value);
        if (!r)
          any = true;
        else
          last = r;
      }
      if (!any) return json_repr(value) + " is not valid under any of the given schemas";
    }
  }
  if (value.is_object() && node.contains("properties") && node["properties"].is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (node["properties"].contains(it.key())) {
        if (auto r = check(node["properties"][it.key()], it.value())) return r;
      }
    }
  }
  return std::nullopt;
}

}  // namespace stpipe::models
