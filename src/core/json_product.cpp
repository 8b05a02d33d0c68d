// JsonProduct: the core's own JSON dataset, and Datum's description.
#include "stpipe/core/json_product.h"

#include <cctype>

#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe {

std::string Datum::describe() const {
  if (empty()) return "()";
  if (is_path()) return "'" + path() + "'";
  if (is_product()) {
    const auto& p = product();
    if (!p) return "<null>";
    std::string f = p->filename();
    return "<" + p->type_name() + (f.empty() ? "" : " from " + f) + ">";
  }
  std::string out = "[";
  for (std::size_t i = 0; i < list().size(); ++i) {
    if (i) out += ", ";
    out += list()[i].describe();
  }
  return out + "]";
}

std::shared_ptr<JsonProduct> JsonProduct::open(const std::filesystem::path& path) {
  std::string text = read_text_file(path);
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(text);
  } catch (const std::exception& e) {
    throw IoError("Cannot read '" + path.string() + "' as a JSON dataset: " + e.what());
  }
  if (!doc.is_object())
    throw IoError("'" + path.string() + "' is not a JSON dataset (not an object)");
  if (!doc.contains("meta")) doc["meta"] = nlohmann::ordered_json::object();
  if (!doc["meta"].is_object()) throw IoError("'" + path.string() + "': 'meta' is not an object");
  auto p = std::make_shared<JsonProduct>(std::move(doc));
  p->set_filename(path.filename().string());
  return p;
}

void JsonProduct::save(const std::filesystem::path& path) {
  doc_["meta"]["filename"] = path.filename().string();
  write_text_atomically(path, doc_.dump(2) + "\n");
}

std::string JsonProduct::filename() const {
  auto it = doc_.find("meta");
  if (it == doc_.end() || !it->contains("filename")) return "";
  return (*it)["filename"].get<std::string>();
}

void JsonProduct::set_filename(const std::string& name) { doc_["meta"]["filename"] = name; }

void JsonProduct::set_cal_step(const std::string& key, const std::string& status) {
  doc_["meta"]["cal_step"][key] = status;
}

std::optional<std::string> JsonProduct::cal_step(const std::string& key) const {
  const auto& m = doc_["meta"];
  if (!m.contains("cal_step") || !m["cal_step"].contains(key)) return std::nullopt;
  return m["cal_step"][key].get<std::string>();
}

static void flatten(const nlohmann::ordered_json& j, const std::string& prefix,
                    std::map<std::string, std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix + "." + it.key();
    for (auto& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (it->is_object()) {
      flatten(*it, key, out);
    } else if (it->is_string()) {
      out[key] = it->get<std::string>();
    } else if (it->is_boolean()) {
      out[key] = it->get<bool>() ? "True" : "False";
    } else if (!it->is_null() && !it->is_array()) {
      out[key] = it->dump();
    }
  }
}

std::map<std::string, std::string> JsonProduct::crds_parameters() const {
  std::map<std::string, std::string> out;
  flatten(doc_["meta"], "META", out);
  return out;
}

void JsonProduct::record_reference(const std::string& reftype, const std::string& name) {
  doc_["meta"]["ref_file"][reftype]["name"] = name;
}

void JsonProduct::record_crds(const std::string& context, const std::string& sw_version) {
  doc_["meta"]["ref_file"]["crds"]["context_used"] = context;
  doc_["meta"]["ref_file"]["crds"]["sw_version"] = sw_version;
}

nlohmann::ordered_json& JsonProduct::data() {
  if (!doc_.contains("data")) doc_["data"] = nlohmann::ordered_json::array();
  return doc_["data"];
}

}  // namespace stpipe
