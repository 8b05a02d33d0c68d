// JumpStep::process: stcal two-point difference jump detection with GAIN and READNOISE refs.
#include "stpipe/steps/jump_step.h"

#include <cmath>

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/jump.h"

namespace stpipe {

using namespace detector1;

Datum JumpStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  if (shape.ngroups <= 2) {  // as jwst: nothing to difference
    log().warn("Cannot apply jump detection when NGROUPS<=2; jump step will be skipped");
    mark_skipped(*m, cal_step_key());
    return std::make_shared<ModelProduct>(m);
  }
  auto gain_model = open_reference(*this, "gain", "GainModel", {"data"});
  auto rn_model = open_reference(*this, "readnoise", "ReadnoiseModel", {"data"});
  auto gain = reference_array<float>(*gain_model, "data", *m);
  auto rn = reference_array<float>(*rn_model, "data", *m);
  if (get<bool>("find_showers"))
    log().warn("MIRI shower flagging (find_showers) is not implemented: ignored");
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
  if (get<bool>("expand_large_events")) {  // stcal runs it even when too few groups were usable
    // stcal's units, as the jwst step sets them up.
    steps::LargeEventParams lp;
    lp.min_sat_area = get<double>("min_sat_area");
    lp.min_jump_area = get<double>("min_jump_area");
    lp.expand_factor = get<double>("expand_factor");
    lp.sat_required_snowball = get<bool>("sat_required_snowball");
    lp.min_sat_radius_extend = get<double>("min_sat_radius_extend");
    lp.sat_expand = 2.0 * static_cast<double>(get<std::int64_t>("sat_expand"));
    lp.edge_size = get<std::int64_t>("edge_size");
    lp.max_extended_width = 2.0 * static_cast<double>(get<std::int64_t>("max_extended_radius"));
    lp.mask_persist_groups_next_int = get<bool>("mask_snowball_core_next_int");
    const double gt = readout_timing(*m).group_time;
    lp.persist_groups_flagged =
        gt > 0 ? static_cast<std::int64_t>(std::floor(
                     static_cast<double>(get<std::int64_t>("snowball_time_masked_next_int")) / gt))
               : 0;
    const auto n = steps::flag_large_events(shape, span_of<std::uint8_t>(*m, "groupdq"), lp);
    log().info("Total snowballs = {}", n);
  }
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
