// JumpStep: the jump Step wrapper (JWST class JumpStep, cal_step "jump") around the jump kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Detect jumps (cosmic rays) with the two-point difference method
class JumpStep : public Step {
 public:
  std::string class_name() const override { return "JumpStep"; }
  std::vector<std::string> aliases() const override {
    return {"jump", "jwst.jump.JumpStep", "jwst.jump.jump_step.JumpStep"};
  }
  std::string doc() const override {
    return "Detect jumps (cosmic rays) with the two-point difference method";
  }
  std::vector<std::string> reference_file_types() const override { return {"gain", "readnoise"}; }
  std::string cal_step_key() const override { return "jump"; }
  std::string spec() const override {
    return "rejection_threshold = float(default=4.0, min=0)  # Sigma for jumps with >= 4 usable "
           "differences\n"
           "three_group_rejection_threshold = float(default=6.0, min=0)  # Sigma with 2 usable "
           "differences\n"
           "four_group_rejection_threshold = float(default=5.0, min=0)  # Sigma with 3 usable "
           "differences\n"
           "maximum_cores = string(default='1')  # Cores to use (1, quarter, half, all); OpenMP "
           "decides here\n"
           "flag_4_neighbors = boolean(default=True)  # Flag the 4 neighbours of large jumps\n"
           "max_jump_to_flag_neighbors = float(default=1000, min=0)  # Sigma above which "
           "neighbours are not flagged\n"
           "min_jump_to_flag_neighbors = float(default=10, min=0)  # Sigma below which neighbours "
           "are not flagged\n"
           "after_jump_flag_dn1 = float(default=0, min=0)  # DN: flag groups after jumps at least "
           "this big\n"
           "after_jump_flag_time1 = float(default=0, min=0)  # Seconds flagged after such jumps\n"
           "after_jump_flag_dn2 = float(default=0, min=0)  # DN: second after-jump threshold\n"
           "after_jump_flag_time2 = float(default=0, min=0)  # Seconds flagged for the second "
           "threshold\n"
           "expand_large_events = boolean(default=False)  # Flag snowballs (NIR large events)\n"
           "min_sat_area = float(default=1.0)  # Minimum area of a snowball's saturated core\n"
           "min_jump_area = float(default=5.0)  # Minimum area of a jump region to be a "
           "snowball\n"
           "expand_factor = float(default=2.0)  # Growth of a snowball's ellipse\n"
           "use_ellipses = boolean(default=False)  # Deprecated (ignored, as in jwst)\n"
           "sat_required_snowball = boolean(default=True)  # A snowball must hold a saturated "
           "core\n"
           "min_sat_radius_extend = float(default=2.5)  # Cores wider than this are grown\n"
           "sat_expand = integer(default=2)  # Pixels added to the radius of a grown core\n"
           "edge_size = integer(default=25)  # No core required this close to the edge\n"
           "mask_snowball_core_next_int = boolean(default=True)  # Flag cores in the next "
           "integration\n"
           "snowball_time_masked_next_int = integer(default=4000)  # Seconds of the next "
           "integration flagged\n"
           "find_showers = boolean(default=False)  # MIRI shower flagging (not implemented: "
           "ignored)\n"
           "max_shower_amplitude = float(default=4)  # MIRI showers (not implemented)\n"
           "extend_snr_threshold = float(default=1.2)  # MIRI showers (not implemented)\n"
           "extend_min_area = integer(default=90)  # MIRI showers (not implemented)\n"
           "extend_inner_radius = float(default=1)  # MIRI showers (not implemented)\n"
           "extend_outer_radius = float(default=2.6)  # MIRI showers (not implemented)\n"
           "extend_ellipse_expand_ratio = float(default=1.1)  # MIRI showers (not implemented)\n"
           "time_masked_after_shower = float(default=15)  # MIRI showers (not implemented)\n"
           "max_extended_radius = integer(default=200)  # Largest radius of a grown snowball\n"
           "min_diffs_single_pass = integer(default=10, min=1)  # Usable differences needed for a "
           "single pass\n"
           "minimum_groups = integer(default=3, min=1)  # Fewer usable groups: no detection\n"
           "minimum_sigclip_groups = integer(default=100, min=1)  # Integrations needed for sigma "
           "clipping\n"
           "only_use_ints = boolean(default=True)  # Sigma clip across integrations only\n";
  }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
