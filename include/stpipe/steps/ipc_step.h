// IPCStep: the ipc Step wrapper (JWST class IPCStep, cal_step "ipc") around the ipc kernel.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Correct for inter-pixel capacitance
class IPCStep : public Step {
 public:
  std::string class_name() const override { return "IPCStep"; }
  std::vector<std::string> aliases() const override {
    return {"ipc", "jwst.ipc.IPCStep", "jwst.ipc.ipc_step.IPCStep"};
  }
  std::string doc() const override { return "Correct for inter-pixel capacitance"; }
  std::vector<std::string> reference_file_types() const override { return {"ipc"}; }
  std::string cal_step_key() const override { return "ipc"; }
  std::string spec() const override { return ""; }
  /// Runs the kernel on the input model (modified in place); throws ReferenceFileError or
  /// ValidationError naming the file/array on bad references or input.
  Datum process(const Datum& input) override;
};

}  // namespace stpipe
