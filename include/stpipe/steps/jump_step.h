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
           "expand_large_events = boolean(default=False)  # Snowball flagging (not implemented: "
           "ignored)\n"
           "find_showers = boolean(default=False)  # MIRI shower flagging (not implemented: "
           "ignored)\n"
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
