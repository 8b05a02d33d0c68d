// DarkCurrentStep::process: stcal dark subtraction with the DARK reference (frame-averaged).
#include "stpipe/steps/dark_current_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/io/fits.h"
#include "stpipe/steps/dark_current.h"

namespace stpipe {

using namespace detector1;

void DarkCurrentStep::store_average_dark_current(models::DataModel& m,
                                                 const models::DataModel& ref) const {
  const auto shape = ramp_shape(m);
  // average_dark_current for ramp_fit's Poisson variance (jwst priority order).
  std::optional<float> user;
  if (!is_none("average_dark_current"))
    user = static_cast<float>(get<double>("average_dark_current"));
  RefArray<float> ref_avg;
  if (ref.has_array("average_dark_current")) {
    const auto& a = ref.array("average_dark_current");
    if (static_cast<std::int64_t>(a.size()) == shape.npix())
      ref_avg = reference_array<float>(ref, "average_dark_current", m, false);
  }
  std::optional<float> ref_scalar;
  if (auto v = ref.get_meta("meta.exposure.average_dark_current"); v && v->is_number())
    ref_scalar = v->get<float>();
  // Every value is written: a fresh plane needs no zeroing first.
  auto adc = ensure_shaped<float>(m, "average_dark_current", {shape.ny, shape.nx},
                                  /*zeroed=*/false);
  steps::resolve_average_dark_current(adc, user, ref_avg, ref_scalar);
}

Datum DarkCurrentStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  const bool miri = is_miri(*m);
  const std::string dark_type = miri ? "DarkMIRIModel" : "DarkModel";
  const std::string path = reference_path("dark");
  const auto t = readout_timing(*m);
  // Real darks hold many more frames than a readout uses: read only the frames this readout
  // needs (stcal touches no others) when the dark is a plain 3-D frame stack long enough to
  // need no extrapolation. The header is read first to decide.
  std::optional<models::OpenOptions::PlaneRange> frames;
  // Streaming: when each science group is one dark frame (same nframes and groupgap, enough
  // frames, a 3-D FITS dark), the frames are read and subtracted a few at a time, so the step
  // holds 2 dark frames instead of the whole stack. stcal's result is the same: each group only
  // ever sees its own frame.
  bool stream = false;
  std::vector<std::int64_t> sci_shape;
  {
    models::OpenOptions header_only;
    header_only.arrays.emplace();
    std::shared_ptr<models::DataModel> h;
    try {
      h = models::open_as(path, dark_type, header_only);
    } catch (const std::exception& e) {
      throw ReferenceFileError("Cannot read the dark reference file '" + path + "' as " +
                               dark_type + ": " + e.what());
    }
    const int dnf = static_cast<int>(h->meta_int("meta.exposure.nframes", 1));
    const int dgg = static_cast<int>(h->meta_int("meta.exposure.groupgap", 0));
    auto summary = io::summarize_fits(path);
    const io::HduInfo* sci =
        path.size() > 5 && path.substr(path.size() - 5) == ".asdf" ? nullptr : summary.find("SCI");
    if (sci) sci_shape = sci->shape;
    stream = sci && sci->shape.size() == 3 && dnf == t.nframes && dgg == t.groupgap &&
             sci->shape[0] >= shape.ngroups && shape.ngroups > 0 && is_none("dark_output");
    if (!stream && sci && sci->shape.size() == 3 && dnf == 1 && dgg == 0 && t.nframes >= 1 &&
        t.groupgap >= 0) {
      const std::int64_t needed =
          shape.ngroups > 0 ? (shape.ngroups - 1) * (t.nframes + t.groupgap) + t.nframes : 0;
      if (needed >= 2 && needed < sci->shape[0]) frames = {{"data", 0, needed}};
    }
  }
  if (stream) {
    if (sci_shape[2] != shape.nx || sci_shape[1] != shape.ny) {
      throw ReferenceFileError("Dark reference file '" + path + "' SCI has shape (" +
                               std::to_string(sci_shape[0]) + ", " + std::to_string(sci_shape[1]) +
                               ", " + std::to_string(sci_shape[2]) + "); the science groups are " +
                               std::to_string(shape.ny) + "x" + std::to_string(shape.nx));
    }
    auto ref = open_reference(*this, "dark", dark_type, {"dq", "average_dark_current"});
    auto ddq = ref->has_array("dq") ? reference_array<std::uint32_t>(*ref, "dq", *m, false)
                                    : RefArray<std::uint32_t>::zeros(shape.npix());
    const std::int64_t dq_planes = static_cast<std::int64_t>(ddq.size()) / shape.npix();
    auto data = span_of<float>(*m, "data");
    auto pixeldq = span_of<std::uint32_t>(*m, "pixeldq");
    constexpr std::int64_t kChunk = 2;  // dark frames held at once
    for (std::int64_t g0 = 0; g0 < shape.ngroups; g0 += kChunk) {
      const std::int64_t k = std::min(kChunk, shape.ngroups - g0);
      auto part = open_reference(*this, "dark", dark_type, {"data"},
                                 models::OpenOptions::PlaneRange{"data", g0, k});
      auto frames_k = reference_array<float>(*part, "data", *m, /*cut=*/false);
      steps::DarkReadout dr;
      dr.ngroups = k;
      dr.nframes = t.nframes;
      dr.groupgap = t.groupgap;
      const steps::RampShape sub{1, k, shape.ny, shape.nx};
      for (std::int64_t i = 0; i < shape.nints; ++i) {
        auto di = data.subspan(static_cast<std::size_t>(i * shape.int_stride() + g0 * shape.npix()),
                               static_cast<std::size_t>(k * shape.npix()));
        steps::subtract_dark(sub, t.nframes, t.groupgap, di, pixeldq, frames_k, dr, ddq, dq_planes,
                             1);
      }
    }
    store_average_dark_current(*m, *ref);
    return std::make_shared<ModelProduct>(m);
  }
  auto ref =
      open_reference(*this, "dark", dark_type, {"data", "dq", "average_dark_current"}, frames);
  if (!ref->has_array("data")) {
    throw ReferenceFileError("Dark reference file '" + path + "' has no SCI array");
  }
  const auto& da = ref->array("data");
  const auto& ds = da.shape();
  if (ds.size() < 3 || ds.size() > 4 || ds.back() != shape.nx || ds[ds.size() - 2] != shape.ny) {
    throw ReferenceFileError("Dark reference file '" + path + "' SCI has shape " +
                             da.shape_string() + "; the science groups are " +
                             std::to_string(shape.ny) + "x" + std::to_string(shape.nx));
  }
  auto dark = reference_array<float>(*ref, "data", *m, /*cut=*/false);
  steps::DarkReadout dr;
  dr.four_d = ds.size() == 4;
  dr.nints = dr.four_d ? ds[0] : 1;
  dr.ngroups = ds[ds.size() - 3];
  dr.nframes = static_cast<int>(ref->meta_int("meta.exposure.nframes", 1));
  dr.groupgap = static_cast<int>(ref->meta_int("meta.exposure.groupgap", 0));
  auto ddq = ref->has_array("dq") ? reference_array<std::uint32_t>(*ref, "dq", *m, false)
                                  : RefArray<std::uint32_t>::zeros(shape.npix());
  const std::int64_t istart = m->meta_int("meta.exposure.integration_start", 1);
  if (!is_none("dark_output")) {
    auto avg = steps::averaged_dark(shape, t.nframes, t.groupgap, dark, dr);
    if (!avg.empty()) {
      auto out = models::create_model(miri ? "DarkMIRIModel" : "DarkModel");
      out->tree()["meta"] =
          ref->tree().contains("meta") ? ref->tree()["meta"] : models::Json::object();
      std::vector<std::int64_t> s = {shape.ngroups, shape.ny, shape.nx};
      if (dr.four_d) s.insert(s.begin(), dr.nints);
      auto arr = models::Array::allocate(models::DType::kFloat32, s);
      std::copy(avg.begin(), avg.end(), arr.data<float>());
      out->set_array("data", arr);
      const std::string name = get<std::string>("dark_output");
      out->save(name);
      log().info("Averaged dark saved in {}", name);
    }
  }
  auto status = steps::subtract_dark(shape, t.nframes, t.groupgap, span_of<float>(*m, "data"),
                                     span_of<std::uint32_t>(*m, "pixeldq"), dark, dr, ddq,
                                     static_cast<std::int64_t>(ddq.size()) / shape.npix(), istart);
  if (status == steps::DarkStatus::kSkipped) {
    log().warn("Dark reference nframes/groupgap exceed the science ones: step skipped");
    mark_skipped(*m, cal_step_key());
    return std::make_shared<ModelProduct>(m);
  }
  store_average_dark_current(*m, *ref);
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
