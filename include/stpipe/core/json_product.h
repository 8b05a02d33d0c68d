// JsonProduct: the core's own small dataset (a JSON file), used by the framework's own steps,
// tests and the bootstrap demo without the data-model layer.
#pragma once

#include <nlohmann/json.hpp>

#include "stpipe/core/product.h"

namespace stpipe {

/// A dataset stored as JSON: {"meta": {...}, "data": [numbers...]}. meta.cal_step and
/// meta.ref_file behave as in a data model.
class JsonProduct : public Product {
 public:
  JsonProduct() = default;
  explicit JsonProduct(nlohmann::ordered_json doc) : doc_(std::move(doc)) {}
  /// Reads a .json dataset. Throws IoError naming the file.
  static std::shared_ptr<JsonProduct> open(const std::filesystem::path& path);

  std::string type_name() const override { return "JsonProduct"; }
  void save(const std::filesystem::path& path) override;
  std::string filename() const override;
  void set_filename(const std::string& name) override;
  std::string default_extension() const override { return ".json"; }
  bool has_cal_step() const override { return true; }
  void set_cal_step(const std::string& key, const std::string& status) override;
  std::optional<std::string> cal_step(const std::string& key) const override;
  std::map<std::string, std::string> crds_parameters() const override;
  void record_reference(const std::string& reftype, const std::string& name) override;
  void record_crds(const std::string& context, const std::string& sw_version) override;

  nlohmann::ordered_json& doc() { return doc_; }
  const nlohmann::ordered_json& doc() const { return doc_; }
  /// The "data" array as numbers (created empty if absent).
  nlohmann::ordered_json& data();

 private:
  nlohmann::ordered_json doc_ = {{"meta", nlohmann::ordered_json::object()},
                                 {"data", nlohmann::ordered_json::array()}};
};

}  // namespace stpipe
