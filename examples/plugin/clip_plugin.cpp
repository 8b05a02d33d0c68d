// An example plugin: a user-written ClipStep registered through stpipe_register_steps.
// Build it against the installed headers and libstpipe.so, then:
//   strun --plugin ./clip_plugin.so ClipStep data.json --low=0 --high=10
#include <algorithm>

#include "stpipe/core/json_product.h"
#include "stpipe/core/step.h"

namespace {

/// Clips every element of a JSON dataset's data to [low, high].
class ClipStep : public stpipe::Step {
 public:
  std::string class_name() const override { return "ClipStep"; }
  std::vector<std::string> aliases() const override { return {"clip", "mypackage.steps.ClipStep"}; }
  std::string doc() const override { return "Clip data to a range (example plugin)"; }
  std::string spec() const override {
    return "low = float(default=0.0)  # Lowest value kept\n"
           "high = float(default=1.0)  # Highest value kept\n";
  }
  std::string cal_step_key() const override { return "clip"; }
  stpipe::Datum process(const stpipe::Datum& input) override {
    auto p = std::dynamic_pointer_cast<stpipe::JsonProduct>(open_model(input));
    if (!p) throw stpipe::IoError("ClipStep works on JSON datasets");
    double lo = get<double>("low"), hi = get<double>("high");
    if (lo > hi) throw stpipe::ConfigError("ClipStep: low must not exceed high");
    for (auto& x : p->data()) x = std::clamp(x.get<double>(), lo, hi);
    log().info("Clipped to [{}, {}]", lo, hi);
    return p;
  }
};

}  // namespace

STPIPE_PLUGIN_ENTRY { registry.add<ClipStep>(); }
