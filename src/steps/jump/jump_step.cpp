// JumpStep::process: stcal two-point difference jump detection with GAIN and READNOISE refs.
#include "stpipe/steps/jump_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/jump.h"

namespace stpipe {

using namespace detector1;

Datum JumpStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  auto gain_model = open_reference(*this, "gain", "GainModel", {"data"});
  auto rn_model = open_reference(*this, "readnoise", "ReadnoiseModel", {"data"});
  auto gain = reference_array<float>(*gain_model, "data", *m);
  auto rn = reference_array<float>(*rn_model, "data", *m);
  if (get<bool>("expand_large_events") || get<bool>("find_showers")) {
    log().warn(
        "Snowball (expand_large_events) and shower (find_showers) flagging are not "
        "implemented: ignored");
  }
  steps::JumpParams p;
  p.rejection_threshold = get<double>("rejection_threshold");
  p.three_group_rejection_threshold = get<double>("three_group_rejection_threshold");
  p.four_group_rejection_threshold = get<double>("four_group_rejection_threshold");
  p.flag_4_neighbors = get<bool>("flag_4_neighbors");
  p.max_jump_to_flag_neighbors = get<double>("max_jump_to_flag_neighbors");
  p.min_jump_to_flag_neighbors = get<double>("min_jump_to_flag_neighbors");
  p.minimum_groups = static_cast<int>(get<std::int64_t>("minimum_groups"));
  p.minimum_sigclip_groups = static_cast<int>(get<std::int64_t>("minimum_sigclip_groups"));
  p.min_diffs_single_pass = static_cast<int>(get<std::int64_t>("min_diffs_single_pass"));
  p.only_use_ints = get<bool>("only_use_ints");
  p.after_jump_flag_dn1 = get<double>("after_jump_flag_dn1");
  p.after_jump_flag_time1 = get<double>("after_jump_flag_time1");
  p.after_jump_flag_dn2 = get<double>("after_jump_flag_dn2");
  p.after_jump_flag_time2 = get<double>("after_jump_flag_time2");
  auto r = steps::detect_jumps(shape, readout_timing(*m), span_of<float>(*m, "data"),
                               span_of<std::uint8_t>(*m, "groupdq"),
                               span_of<std::uint32_t>(*m, "pixeldq"), gain, rn, p);
  log().info("Jump detection ({}): {} primary jumps, {} with neighbours flagged", r.mode,
             r.primary_crs, r.neighbor_events);
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
