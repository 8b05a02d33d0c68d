// Tag helpers for the JSON form of ASDF trees (see include/stpipe/asdf/tree.h).
#include "stpipe/asdf/tree.h"

namespace stpipe::asdf {

std::optional<std::string> tag_of(const Json& node) {
  if (!node.is_object()) return std::nullopt;
  auto it = node.find(kTagKey);
  if (it == node.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool has_tag_prefix(const Json& node, std::string_view prefix) {
  auto tag = tag_of(node);
  if (!tag) return false;
  std::string full = expand_tag(prefix);
  return tag->compare(0, full.size(), full) == 0;
}

const Json& untagged(const Json& node) {
  if (node.is_object() && node.size() == 2 && node.contains(kTagKey)) {
    auto it = node.find(kValueKey);
    if (it != node.end() && !it->is_object()) return *it;
  }
  return node;
}

std::string expand_tag(std::string_view tag) {
  if (tag.empty() || tag[0] == '!' || tag.find(':') != std::string_view::npos)
    return std::string(tag);
  return std::string(kAsdfTagPrefix) + std::string(tag);
}

Json make_tagged(std::string_view tag, Json value) {
  Json out = Json::object();
  out[kTagKey] = expand_tag(tag);
  if (value.is_object()) {
    for (auto& [k, v] : value.items()) {
      if (k == kTagKey) continue;
      out[k] = std::move(v);
    }
  } else {
    out[kValueKey] = std::move(value);
  }
  return out;
}

Json strip_tag(const Json& node) {
  if (!node.is_object() || !node.contains(kTagKey)) return node;
  Json out = Json::object();
  for (auto& [k, v] : node.items())
    if (k != kTagKey) out[k] = v;
  return out;
}

std::string to_text(const Json& node, std::size_t max_chars) {
  std::string s = node.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

}  // namespace stpipe::asdf
