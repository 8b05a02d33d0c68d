// ModelProduct: data models flowing through steps.
#include "stpipe/core/model_product.h"

#include "stpipe/core/step.h"

namespace stpipe {

void ModelProduct::set_cal_step(const std::string& key, const std::string& status) {
  model_->set_meta("meta.cal_step." + key, status);
}

std::optional<std::string> ModelProduct::cal_step(const std::string& key) const {
  auto v = model_->get_meta("meta.cal_step." + key);
  if (!v || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

void ModelProduct::record_reference(const std::string& reftype, const std::string& name) {
  if (model_->schema_has("meta.ref_file." + reftype + ".name")) {
    model_->set_meta("meta.ref_file." + reftype + ".name", name);
  } else {
    // Reference types the schema does not list are still recorded (as stdatamodels allows).
    model_->tree()["meta"]["ref_file"][reftype]["name"] = name;
  }
}

void ModelProduct::record_crds(const std::string& context, const std::string& sw_version) {
  model_->set_meta("meta.ref_file.crds.context_used", context);
  model_->set_meta("meta.ref_file.crds.sw_version", sw_version);
}

std::shared_ptr<models::DataModel> model_of(const Datum& datum) {
  if (!datum.is_product()) return nullptr;
  auto mp = std::dynamic_pointer_cast<ModelProduct>(datum.product());
  return mp ? mp->shared_model() : nullptr;
}

void install_model_opener() {
  set_model_opener([](const std::filesystem::path& path) -> ProductPtr {
    return std::make_shared<ModelProduct>(models::open(path));
  });
}

}  // namespace stpipe
