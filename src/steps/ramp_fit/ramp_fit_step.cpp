// RampFitStep::process: stcal OLS_C ramp fitting into a rate ImageModel and a rateints CubeModel.
#include "stpipe/steps/ramp_fit_step.h"


#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/dqflags.h"
#include "stpipe/steps/ramp_fit.h"

namespace stpipe {

using namespace detector1;

namespace {

// A rate product of class `type` with the ramp's metadata and zeroed output arrays; `views`
// points the fitter at them (it writes straight into the model, no copy afterwards).
std::shared_ptr<models::DataModel> make_rate(const models::DataModel& ramp, const char* type,
                                             const std::vector<std::int64_t>& shape,
                                             steps::RateArrays& views) {
  auto out = models::create_model(type);
  out->tree()["meta"] = ramp.tree().contains("meta") ? ramp.tree()["meta"] : models::Json::object();
  auto add = [&](const char* name, models::DType dt) -> models::Array& {
    out->set_array(name, models::Array::allocate(dt, shape));
    return out->array(name);
  };
  auto f32 = [](models::Array& a) { return std::span<float>(a.data<float>(), a.size()); };
  views.slope = f32(add("data", models::DType::kFloat32));
  auto& dq = add("dq", models::DType::kUint32);
  views.dq = {dq.data<std::uint32_t>(), dq.size()};
  views.err = f32(add("err", models::DType::kFloat32));
  views.var_poisson = f32(add("var_poisson", models::DType::kFloat32));
  views.var_rnoise = f32(add("var_rnoise", models::DType::kFloat32));
  out->set_source_path(ramp.source_path());
  return out;
}

}  // namespace

Datum RampFitStep::process(const Datum& input) {
  rateints_.reset();
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  auto gain_model = open_reference(*this, "gain", "GainModel", {"data"});
  auto rn_model = open_reference(*this, "readnoise", "ReadnoiseModel", {"data"});
  auto gain = reference_array<float>(*gain_model, "data", *m);
  auto rn = reference_array<float>(*rn_model, "data", *m);
  if (get<bool>("save_opt")) log().warn("save_opt: the optional fit results are not written");
  auto gdq = span_of<std::uint8_t>(*m, "groupdq");
  // firstgroup/lastgroup: groups outside [first, last] get DO_NOT_USE (ignored if first >= last).
  {
    std::int64_t first = is_none("firstgroup") ? 0 : get<std::int64_t>("firstgroup");
    std::int64_t last = is_none("lastgroup") ? shape.ngroups - 1 : get<std::int64_t>("lastgroup");
    if (first < 0 || first >= shape.ngroups) first = 0;
    if (last < 0 || last >= shape.ngroups) last = shape.ngroups - 1;
    if (first < last && (first > 0 || last < shape.ngroups - 1)) {
      for (std::int64_t i = 0; i < shape.nints; ++i)
        for (std::int64_t g = 0; g < shape.ngroups; ++g) {
          if (g >= first && g <= last) continue;
          auto* q = gdq.data() + i * shape.int_stride() + g * shape.group_stride();
          for (std::int64_t k = 0; k < shape.npix(); ++k) q[k] |= dq::kDoNotUse;
        }
    }
  }
  steps::RampFitInputs in;
  in.shape = shape;
  in.timing = readout_timing(*m);
  in.drop_frames1 = static_cast<int>(m->meta_int("meta.exposure.drop_frames1", 0));
  in.data = span_of<float>(*m, "data");
  in.groupdq = gdq;
  in.pixeldq = span_of<std::uint32_t>(*m, "pixeldq");
  in.gain = gain;
  in.readnoise = rn;
  if (m->has_array("average_dark_current") &&
      static_cast<std::int64_t>(m->array("average_dark_current").size()) == shape.npix())
    in.average_dark_current = span_of<float>(*m, "average_dark_current");
  if (has_zeroframe(*m)) in.zeroframe = span_of<float>(*m, "zeroframe");
  steps::RampFitParams p;
  p.suppress_one_group = get<bool>("suppress_one_group");
  p.numpy1_readnoise = get<bool>("numpy1_readnoise");
  steps::RateArrays rate_views, rateints_views;
  auto rate = make_rate(*m, "ImageModel", {shape.ny, shape.nx}, rate_views);
  auto rateints = make_rate(*m, "CubeModel", {shape.nints, shape.ny, shape.nx}, rateints_views);
  auto stats = steps::fit_ramps(in, p, rate_views, rateints_views, nullptr);
  if (stats.all_saturated) {
    log().error("Every pixel is saturated in the first group: no rate product (as jwst)");
    mark_skipped(*m, cal_step_key());
    return Datum();
  }
  rateints_ = rateints;
  rateints_->set_meta("meta.cal_step.ramp_fit", "COMPLETE");
  ModelProduct ri(rateints_);
  for (const auto& [t, name] : reference_files_used()) ri.record_reference(t, name);
  return std::make_shared<ModelProduct>(rate);
}

}  // namespace stpipe
