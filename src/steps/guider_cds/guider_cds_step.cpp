// GuiderCdsStep::process: FGS ramp -> count-rate CubeModel (ImageModel for ID modes), with ERR
// from the GAIN and READNOISE references or jwst's defaults.
#include "stpipe/steps/guider_cds_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/util/strings.h"

namespace stpipe {

using namespace detector1;

namespace {

// The ny*nx `reftype` array ("data") for `sci`, or `fallback` everywhere (logged as jwst does)
// when the step has no such reference or is told to use the default.
RefArray<float> gain_or_readnoise(const Step& step, const std::string& reftype,
                                  const std::string& model_type, const models::DataModel& sci,
                                  std::int64_t npix, bool use_default, float fallback,
                                  const char* default_file) {
  const std::string path = use_default ? "" : step.reference_path(reftype);
  if (path.empty() || path == "N/A") {
    step.log().info("A {} reference file could not be retrieved from CRDS.", to_upper(reftype));
    step.log().info("The mean of the SCI values in the FGS {} reference file {}", reftype,
                    default_file);
    step.log().info("will be used to populate the {} array.", reftype);
    auto a = models::Array::full(models::DType::kFloat32, {npix}, fallback);
    return RefArray<float>(a);
  }
  auto ref = open_reference(step, reftype, model_type, {"data"});
  return reference_array<float>(*ref, "data", sci);
}

}  // namespace

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
  // jwst uses the default gain and read noise for the ID modes, whatever CRDS has.
  const auto gain = gain_or_readnoise(*this, "gain", "GainModel", *m, shape.npix(), id,
                                      steps::kGuiderDefaultGain, "jwst_fgs_gain_0010.fits");
  const auto rn = gain_or_readnoise(*this, "readnoise", "ReadnoiseModel", *m, shape.npix(), id,
                                    steps::kGuiderDefaultReadnoise, "jwst_fgs_readnoise_0000.fits");
  auto out = models::create_model(id ? "ImageModel" : "CubeModel");
  out->tree()["meta"] = m->tree().contains("meta") ? m->tree()["meta"] : models::Json::object();
  std::vector<std::int64_t> s = {shape.ny, shape.nx};
  if (!id) s.insert(s.begin(), shape.nints);
  auto data = models::Array::allocate(models::DType::kFloat32, s);
  auto err = models::Array::allocate(models::DType::kFloat32, s);
  steps::guider_cds(shape, {a.data<float>(), a.size()}, gt, mode, {data.data<float>(), data.size()},
                    gain, rn, {err.data<float>(), err.size()});
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
  out->set_array("err", err);
  out->set_source_path(m->source_path());
  return std::make_shared<ModelProduct>(out);
}

}  // namespace stpipe
