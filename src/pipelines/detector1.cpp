// Detector1Pipeline: step order, instrument branches, and the rateints / calibrated ramp saves.
#include "stpipe/pipelines/detector1.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/io/fits.h"
#include "stpipe/steps/ramp_fit_step.h"

namespace stpipe {

std::vector<std::pair<std::string, std::string>> Detector1Pipeline::step_defs() const {
  return {{"dq_init", "DQInitStep"},
          {"saturation", "SaturationStep"},
          {"ipc", "IPCStep"},
          {"superbias", "SuperBiasStep"},
          {"reset", "ResetStep"},
          {"lastframe", "LastFrameStep"},
          {"linearity", "LinearityStep"},
          {"dark_current", "DarkCurrentStep"},
          {"jump", "JumpStep"},
          {"ramp_fit", "RampFitStep"}};
}

bool Detector1Pipeline::applies(const std::string& step_name, const Datum& input) const {
  if (step_name != "superbias" && step_name != "reset" && step_name != "lastframe")
    return true;  // no branch: do not open a path input twice
  std::shared_ptr<models::DataModel> m;
  if (input.is_product() || input.is_path()) {
    m = model_of(input.is_product() ? input : Datum(open_model(input)));
  }
  if (!m) return true;
  const bool miri = detector1::is_miri(*m);
  if (step_name == "superbias") return !miri;
  if (step_name == "reset" || step_name == "lastframe") return miri;
  return true;
}

void Detector1Pipeline::before_step(const std::string& step_name, const Datum& input) {
  if (step_name != "ramp_fit" || !get<bool>("save_calibrated_ramp")) return;
  if (!input.is_product() && !input.is_path()) return;
  // The ramp as it enters ramp_fit (jwst saves it at the same point).
  ModelProduct p(model_of(input.is_product() ? input : Datum(open_model(input))));
  auto path = save_model(p, std::nullopt, /*force=*/true, std::string("ramp"));
  log().info("Calibrated ramp saved in {}", path.string());
}

Datum Detector1Pipeline::prefetch(const Datum& input) {
  if (input.is_path()) {
    const std::filesystem::path path = input_path(input);
    std::string datamodl;
    if (path.extension() != ".asdf" && std::filesystem::exists(path)) {
      try {
        datamodl = io::summarize_fits(path).datamodl;
      } catch (const std::exception&) {
        // not FITS: the ordinary open below reports it
      }
    }
    if (datamodl == "Level1bModel") {
      // jwst's RampModel(level1b): same metadata, tables and arrays, data as float32. Reading
      // it so skips the uint16 copy and the conversion pass.
      return Pipeline::prefetch(
          Datum(ProductPtr(std::make_shared<ModelProduct>(models::open_as(path, "RampModel")))));
    }
  }
  return Pipeline::prefetch(input);
}

Datum Detector1Pipeline::process(const Datum& input) {
  Datum result = Pipeline::process(input);
  if (stopped_early()) return result;
  auto& rf = dynamic_cast<RampFitStep&>(step("ramp_fit"));
  const bool save = force_save_ || get<bool>("save_results") || !is_none("output_file");
  if (rf.rateints() && save) {
    auto ri = std::make_shared<ModelProduct>(rf.rateints());
    const auto& hooks = param("post_hooks");
    if (hooks.is_array() && !hooks.empty()) {  // the hooks see the rateints file written
      auto path = save_model(*ri, std::nullopt, /*force=*/true, std::string("rateints"));
      log().info("Per-integration rates saved in {}", path.string());
    } else {
      // Written while run() writes the rate file: two files fill the page cache on two cores.
      // wait_background_saves() reports it, before the rate file, as a sequential run would.
      rateints_path_ = save_path(*ri, std::nullopt, /*force=*/true, std::string("rateints"));
      rateints_save_ =
          std::async(std::launch::async, [ri, path = rateints_path_] { ri->save(path); });
    }
  }
  return result;
}

void Detector1Pipeline::wait_background_saves() {
  if (!rateints_save_.valid()) return;
  rateints_save_.get();  // rethrows what the save threw
  log().info("Saved model in {}", rateints_path_.string());
  log().info("Per-integration rates saved in {}", rateints_path_.string());
}

}  // namespace stpipe
