// GuiderCdsStep::process: FGS ramp -> count-rate CubeModel (ImageModel for ID modes).
#include "stpipe/steps/guider_cds_step.h"

#include "pipelines/detail/detector1_support.h"

namespace stpipe {

using namespace detector1;

Datum GuiderCdsStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  const auto mode = steps::guider_mode(m->meta_string("meta.exposure.type"));
  const double gt = m->meta_double("meta.exposure.group_time", 0.0);
  if (!(gt > 0)) {
    throw ValidationError("GuiderCdsStep: meta.exposure.group_time (TGROUP) must be > 0 in " +
                          input.describe());
  }
  auto a = m->array("data").dtype() == models::DType::kFloat32
               ? m->array("data")
               : m->array("data").cast(models::DType::kFloat32);
  const bool id = mode == steps::GuiderMode::kId;
  auto out = models::create_model(id ? "ImageModel" : "CubeModel");
  out->tree()["meta"] = m->tree().contains("meta") ? m->tree()["meta"] : models::Json::object();
  std::vector<std::int64_t> s = {shape.ny, shape.nx};
  if (!id) s.insert(s.begin(), shape.nints);
  auto data = models::Array::allocate(models::DType::kFloat32, s);
  steps::guider_cds(shape, {a.data<float>(), a.size()}, gt, mode,
                    {data.data<float>(), data.size()});
  out->set_array("data", data);
  // DQ: the pixel DQ (from dq_init) in every plane.
  auto dq = models::Array::allocate(models::DType::kUint32, s);
  if (m->has_array("pixeldq") &&
      static_cast<std::int64_t>(m->array("pixeldq").size()) == shape.npix()) {
    const auto* p = m->array("pixeldq").data<std::uint32_t>();
    auto* q = dq.data<std::uint32_t>();
    for (std::size_t k = 0; k < dq.size(); ++k) q[k] = p[k % shape.npix()];
  }
  out->set_array("dq", dq);
  out->set_array("err", models::Array::allocate(models::DType::kFloat32, s));
  out->set_source_path(m->source_path());
  return std::make_shared<ModelProduct>(out);
}

}  // namespace stpipe
