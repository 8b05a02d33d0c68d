// LastFrameStep: the lastframe Step wrapper (JWST class LastFrameStep, cal_step "lastframe") around
// the lastframe kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Flag the last group of MIRI integrations DO_NOT_USE
class LastFrameStep : public Step {
 public:
  std::string class_name() const override { return "LastFrameStep"; }
  std::vector<std::string> aliases() const override {
    return {"lastframe", "jwst.lastframe.LastFrameStep",
            "jwst.lastframe.lastframe_step.LastFrameStep"};
  }
  std::string doc() const override { return "Flag the last group of MIRI integrations DO_NOT_USE"; }
  std::vector<std::string> reference_file_types() const override { return {}; }
  std::string cal_step_key() const override { return "lastframe"; }
  std::string spec() const override { return ""; }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
