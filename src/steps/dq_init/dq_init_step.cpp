// DQInitStep::process: the MASK reference's DQ into pixeldq/groupdq (Level1b input becomes a ramp).
#include "stpipe/steps/dq_init_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/dq_init.h"

namespace stpipe {

using namespace detector1;

Datum DQInitStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  if (m->model_type() != "RampModel") m = to_ramp_model(*m);
  const auto shape = ramp_shape(*m);
  auto gdq =
      ensure_shaped<std::uint8_t>(*m, "groupdq", {shape.nints, shape.ngroups, shape.ny, shape.nx});
  auto pdq = ensure_shaped<std::uint32_t>(*m, "pixeldq", {shape.ny, shape.nx});
  auto mask_model = open_reference(*this, "mask", "MaskModel", {"dq"});
  auto mask = reference_array<std::uint32_t>(*mask_model, "dq", *m);
  RefArray<std::uint32_t> user;
  if (!is_none("user_supplied_dq")) {
    const std::string path = get<std::string>("user_supplied_dq");
    std::shared_ptr<models::DataModel> u;
    try {
      u = models::open_as(path, "MaskModel");
    } catch (const std::exception& e) {
      throw ReferenceFileError("Cannot read user_supplied_dq file '" + path + "': " + e.what());
    }
    user = reference_array<std::uint32_t>(*u, "dq", *m, /*cut=*/false);
  }
  steps::dq_init(shape, gdq, pdq, mask, user);
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
