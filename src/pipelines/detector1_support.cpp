// Shared helpers of the Detector1/Image2/Guider step wrappers (see detail/detector1_support.h).
#include "pipelines/detail/detector1_support.h"

#include <stdexcept>

#include "stpipe/util/error.h"

namespace stpipe::detector1 {

std::shared_ptr<models::DataModel> science_model(const Step& step, const Datum& input) {
  ProductPtr p = step.open_model(input);
  auto mp = std::dynamic_pointer_cast<ModelProduct>(p);
  if (!mp) {
    throw ValidationError("Step '" + step.name() + "' (" + step.class_name() +
                          ") needs a data model, got " + input.describe());
  }
  auto m = mp->shared_model();
  // Ramp steps run on raw exposures too, as jwst's do (they open their input as a RampModel).
  if (m->model_type() == "Level1bModel") return to_ramp_model(*m);
  return m;
}

std::shared_ptr<models::DataModel> to_ramp_model(const models::DataModel& raw) {
  // jwst converts raw (Level1b) exposures to a RampModel: data as float32, empty DQ.
  auto ramp = models::create_model("RampModel");
  ramp->tree()["meta"] = raw.tree().contains("meta") ? raw.tree()["meta"] : models::Json::object();
  ramp->set_array("data", raw.array("data").cast(models::DType::kFloat32));
  for (const char* n : {"zeroframe", "pixeldq", "groupdq", "err", "refout"}) {
    if (raw.has_array(n)) ramp->set_array(n, raw.array(n));
  }
  for (auto& name : raw.table_names()) ramp->set_table(name, raw.table(name));
  ramp->fits_extras() = raw.fits_extras();
  ramp->set_source_path(raw.source_path());
  return ramp;
}

steps::RampShape ramp_shape(const models::DataModel& model, const std::string& name) {
  const auto& a = model.array(name);
  if (a.ndim() != 4) {
    throw ValidationError(model.model_type() + " array '" + name + "' has shape " +
                          a.shape_string() + ": a ramp must be 4-D (nints, ngroups, ny, nx)");
  }
  const auto& s = a.shape();
  return {s[0], s[1], s[2], s[3]};
}

steps::SubarrayWindow science_window(const models::DataModel& model) {
  steps::SubarrayWindow w;
  const auto& s = model.array(model.primary_array_name()).shape();
  const std::int64_t nx = s.empty() ? 0 : s.back();
  const std::int64_t ny = s.size() < 2 ? 0 : s[s.size() - 2];
  w.xstart = model.meta_int("meta.subarray.xstart", 1);
  w.ystart = model.meta_int("meta.subarray.ystart", 1);
  w.xsize = model.meta_int("meta.subarray.xsize", nx);
  w.ysize = model.meta_int("meta.subarray.ysize", ny);
  return w;
}

steps::ReadoutTiming readout_timing(const models::DataModel& model) {
  steps::ReadoutTiming t;
  t.frame_time = model.meta_double("meta.exposure.frame_time", 0.0);
  t.group_time = model.meta_double("meta.exposure.group_time", 0.0);
  t.nframes = static_cast<int>(model.meta_int("meta.exposure.nframes", 1));
  t.groupgap = static_cast<int>(model.meta_int("meta.exposure.groupgap", 0));
  return t;
}

bool is_miri(const models::DataModel& model) {
  return model.meta_string("meta.instrument.name") == "MIRI" ||
         model.meta_string("meta.instrument.detector").rfind("MIR", 0) == 0;
}

bool has_zeroframe(const models::DataModel& model) {
  auto zf = model.get_meta("meta.exposure.zero_frame");
  return model.has_array("zeroframe") && zf && zf->is_boolean() && zf->get<bool>();
}

std::shared_ptr<models::DataModel> open_reference(
    const Step& step, const std::string& reftype, const std::string& model_type,
    std::vector<std::string> arrays, std::optional<models::OpenOptions::PlaneRange> planes,
    std::optional<models::OpenOptions::Window> window) {
  const std::string path = step.reference_path(reftype);
  if (path.empty() || path == "N/A") {
    throw ReferenceFileError("Step '" + step.name() + "' has no " + reftype + " reference file");
  }
  models::OpenOptions options;
  if (!arrays.empty()) options.arrays = std::move(arrays);
  options.planes = std::move(planes);
  options.window = std::move(window);
  try {
    return models::open_as(path, model_type, options);
  } catch (const std::exception& e) {
    throw ReferenceFileError("Cannot read the " + reftype + " reference file '" + path + "' as " +
                             model_type + ": " + e.what());
  }
}

namespace {

std::string ref_name(const models::DataModel& ref) {
  return ref.source_path().empty() ? ref.model_type() : ref.source_path().string();
}

}  // namespace

template <class T>
RefArray<T> reference_array(const models::DataModel& ref, const std::string& name,
                            const models::DataModel& sci, bool cut) {
  if (!ref.has_array(name)) {
    throw ReferenceFileError("Reference file '" + ref_name(ref) + "' has no '" + name + "' array");
  }
  const models::Array& a0 = ref.array(name);
  models::Array a = a0.dtype() == models::dtype_of<T>() ? a0 : a0.cast(models::dtype_of<T>());
  if (a.ndim() < 2) {
    throw ReferenceFileError("Reference file '" + ref_name(ref) + "' array '" + name +
                             "' has shape " + a.shape_string() + ": expected at least 2-D");
  }
  const auto& s = a.shape();
  const std::int64_t nx = s.back(), ny = s[s.size() - 2];
  std::int64_t nplanes = 1;
  for (std::size_t k = 0; k + 2 < s.size(); ++k) nplanes *= s[k];
  const T* p = a.template data<T>();
  std::span<const T> all(p, a.size());
  const steps::SubarrayWindow sw = science_window(sci);
  steps::SubarrayWindow rw;
  rw.xstart = ref.meta_int("meta.subarray.xstart", 1);
  rw.ystart = ref.meta_int("meta.subarray.ystart", 1);
  rw.xsize = nx;
  rw.ysize = ny;
  if (nx == sw.xsize && ny == sw.ysize && (!cut || steps::ref_matches_sci(rw, sw))) {
    return RefArray<T>(a);  // the model's buffer (or the converted copy), no further copy
  }
  if (!cut) {
    throw ReferenceFileError("Reference file '" + ref_name(ref) + "' array '" + name +
                             "' has shape " + a.shape_string() + " but the science data are " +
                             std::to_string(sw.ysize) + "x" + std::to_string(sw.xsize));
  }
  try {
    auto held = std::make_shared<std::vector<T>>(steps::cut_to_subarray<T>(all, nplanes, rw, sw));
    std::vector<std::int64_t> cut_shape(s.begin(), s.end());
    cut_shape[cut_shape.size() - 1] = sw.xsize;
    cut_shape[cut_shape.size() - 2] = sw.ysize;
    T* p0 = held->data();
    return RefArray<T>(models::Array::share(models::dtype_of<T>(), std::move(cut_shape),
                                            std::shared_ptr<void>(held, p0)));
  } catch (const std::invalid_argument& e) {
    throw ReferenceFileError("Reference file '" + ref_name(ref) + "' array '" + name + "' (shape " +
                             a.shape_string() +
                             ") does not cover the science subarray: " + e.what());
  }
}

template RefArray<float> reference_array<float>(const models::DataModel&, const std::string&,
                                                const models::DataModel&, bool);
template RefArray<std::uint32_t> reference_array<std::uint32_t>(const models::DataModel&,
                                                                const std::string&,
                                                                const models::DataModel&, bool);

void mark_skipped(models::DataModel& model, const std::string& key) {
  model.set_meta("meta.cal_step." + key, "SKIPPED");
}

}  // namespace stpipe::detector1
