// The framework's own steps and pipelines on JSON datasets.
#include "stpipe/core/core_steps.h"

#include "core/hooks.h"
#include "stpipe/core/json_product.h"

namespace stpipe {

namespace {

std::shared_ptr<JsonProduct> as_json(const Step& step, const Datum& input) {
  auto p = std::dynamic_pointer_cast<JsonProduct>(step.open_model(input));
  if (!p)
    throw IoError("Step '" + step.name() + "' works on JSON datasets, got " + input.describe());
  return p;
}

}  // namespace

Datum AddStep::process(const Datum& input) {
  auto p = as_json(*this, input);
  double v = get<double>("value");
  for (auto& x : p->data()) x = x.get<double>() + v;
  return p;
}

Datum MultiplyStep::process(const Datum& input) {
  auto p = as_json(*this, input);
  double f = get<double>("factor");
  for (auto& x : p->data()) x = x.get<double>() * f;
  return p;
}

Datum BranchPipeline::process(const Datum& input) {
  auto p = as_json(*this, input);
  double sum = 0;
  for (const auto& x : p->data()) sum += x.get<double>();
  if (sum < 0) {
    log().info("Negative data: multiplying");
    return step("multiply").run(p);
  }
  log().info("Non-negative data: adding");
  return step("add").run(p);
}

std::vector<std::pair<std::string, std::string>> NoOpPipeline20::step_defs() const {
  std::vector<std::pair<std::string, std::string>> d;
  for (int i = 0; i < 20; ++i) d.emplace_back("noop" + std::to_string(i), "NoOpStep");
  return d;
}

void register_core_steps(StepRegistry& registry) {
  registry.add<SystemCall>();
  registry.add<AddStep>();
  registry.add<MultiplyStep>();
  registry.add<NoOpStep>();
  registry.add<ArithmeticPipeline>();
  registry.add<NestedPipeline>();
  registry.add<BranchPipeline>();
  registry.add<NoOpPipeline20>();
}

}  // namespace stpipe
