// LastFrameStep::process: flag the last group DO_NOT_USE (MIRI with more than 2 groups).
#include "stpipe/steps/lastframe_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/lastframe.h"

namespace stpipe {

using namespace detector1;

Datum LastFrameStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  if (!is_miri(*m)) {
    log().warn("Last-frame correction is only for MIRI data: step skipped");
    mark_skipped(*m, cal_step_key());
    return std::make_shared<ModelProduct>(m);
  }
  const auto shape = ramp_shape(*m);
  if (!steps::flag_last_frame(shape, span_of<std::uint8_t>(*m, "groupdq"))) {
    log().info("Too few groups ({}) to flag the last one: step skipped", shape.ngroups);
    mark_skipped(*m, cal_step_key());
  }
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
