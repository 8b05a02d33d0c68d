// ModelProduct: a data model (stpipe::models::DataModel) as a step argument/result.
#pragma once

#include <memory>

#include "stpipe/core/product.h"
#include "stpipe/models/datamodel.h"

namespace stpipe {

/// Wraps a shared DataModel; the model is modified in place by steps, never copied.
class ModelProduct : public Product {
 public:
  explicit ModelProduct(std::shared_ptr<models::DataModel> model) : model_(std::move(model)) {}

  models::DataModel& model() { return *model_; }
  const models::DataModel& model() const { return *model_; }
  const std::shared_ptr<models::DataModel>& shared_model() const { return model_; }

  std::string type_name() const override { return model_->model_type(); }
  void save(const std::filesystem::path& path) override { model_->save(path); }
  std::string filename() const override { return model_->meta_string("meta.filename"); }
  void set_filename(const std::string& name) override { model_->set_meta("meta.filename", name); }
  std::string default_extension() const override { return ".fits"; }
  bool has_cal_step() const override { return model_->schema_has("meta.cal_step"); }
  void set_cal_step(const std::string& key, const std::string& status) override;
  std::optional<std::string> cal_step(const std::string& key) const override;
  std::map<std::string, std::string> crds_parameters() const override {
    return model_->crds_parameters();
  }
  void record_reference(const std::string& reftype, const std::string& name) override;
  void record_crds(const std::string& context, const std::string& sw_version) override;

 private:
  std::shared_ptr<models::DataModel> model_;
};

/// The model inside a datum (a ModelProduct), or nullptr.
std::shared_ptr<models::DataModel> model_of(const Datum& datum);

/// Makes strun and open_product() open FITS/ASDF files as data models.
void install_model_opener();

}  // namespace stpipe
