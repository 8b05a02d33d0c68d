// The framework's own small steps and pipelines (on JSON datasets): used by hooks, tests, the
// overhead benchmark and the bootstrap demo.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Adds `value` to every element of a JSON dataset's data.
class AddStep : public Step {
 public:
  std::string class_name() const override { return "AddStep"; }
  std::vector<std::string> aliases() const override {
    return {"add", "stpipe.tests.steps.AddStep"};
  }
  std::string doc() const override { return "Add a constant to a JSON dataset's data"; }
  std::string spec() const override {
    return "value = float(default=1.0)  # Number added to every element\n";
  }
  std::string cal_step_key() const override { return "add"; }
  Datum process(const Datum& input) override;
};

/// Multiplies every element of a JSON dataset's data by `factor`.
class MultiplyStep : public Step {
 public:
  std::string class_name() const override { return "MultiplyStep"; }
  std::vector<std::string> aliases() const override { return {"multiply"}; }
  std::string doc() const override { return "Multiply a JSON dataset's data by a factor"; }
  std::string spec() const override {
    return "factor = float(default=2.0)  # Factor applied to every element\n";
  }
  std::string cal_step_key() const override { return "multiply"; }
  Datum process(const Datum& input) override;
};

/// Returns its input unchanged (framework overhead measurements).
class NoOpStep : public Step {
 public:
  std::string class_name() const override { return "NoOpStep"; }
  std::string doc() const override { return "Do nothing (measures framework overhead)"; }
  Datum process(const Datum& input) override { return input; }
};

/// add -> multiply -> offset, linear.
class ArithmeticPipeline : public Pipeline {
 public:
  std::string class_name() const override { return "ArithmeticPipeline"; }
  std::vector<std::string> aliases() const override { return {"calwebb_arithmetic"}; }
  std::string doc() const override { return "Linear demo pipeline: add, multiply, offset"; }
  std::string spec() const override { return "note = string(default='')  # Free text\n"; }
  std::vector<std::pair<std::string, std::string>> step_defs() const override {
    return {{"add", "AddStep"}, {"multiply", "MultiplyStep"}, {"offset", "AddStep"}};
  }
};

/// A pipeline of pipelines: an ArithmeticPipeline then a scale step.
class NestedPipeline : public Pipeline {
 public:
  std::string class_name() const override { return "NestedPipeline"; }
  std::string doc() const override { return "A pipeline containing a pipeline"; }
  std::vector<std::pair<std::string, std::string>> step_defs() const override {
    return {{"inner", "ArithmeticPipeline"}, {"scale", "MultiplyStep"}};
  }
};

/// Non-linear: multiplies when the data sum is negative, adds otherwise.
class BranchPipeline : public Pipeline {
 public:
  std::string class_name() const override { return "BranchPipeline"; }
  std::string doc() const override { return "A non-linear pipeline (branches on the data)"; }
  std::vector<std::pair<std::string, std::string>> step_defs() const override {
    return {{"add", "AddStep"}, {"multiply", "MultiplyStep"}};
  }
  bool is_linear() const override { return false; }
  Datum process(const Datum& input) override;
};

/// A pipeline of `n` NoOpSteps, for the overhead benchmark.
class NoOpPipeline20 : public Pipeline {
 public:
  std::string class_name() const override { return "NoOpPipeline20"; }
  std::string doc() const override { return "Twenty steps that do nothing"; }
  std::vector<std::pair<std::string, std::string>> step_defs() const override;
};

/// Registers the classes above and SystemCall.
void register_core_steps(StepRegistry& registry);

}  // namespace stpipe
