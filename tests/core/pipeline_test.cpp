// Pipelines: nesting, skip, non-linear branching, start/stop/resume, cal_step records, logging.
#include <regex>

#include "core_test_util.h"
#include "stpipe/util/atomic_file.h"

using namespace stpipe;
using namespace stpipe::testing;
namespace fs = std::filesystem;

TEST(Pipeline, LinearRunInOrder) {
  auto p = std::make_shared<JsonProduct>();
  p->data() = {1.0, 2.0};
  auto r = Step::call("ArithmeticPipeline", Datum(p));
  // ((x + 1) * 2) + 1
  EXPECT_EQ(data_of(r), (std::vector<double>{5.0, 7.0}));
  EXPECT_EQ(p->cal_step("add"), "COMPLETE");
  EXPECT_EQ(p->cal_step("multiply"), "COMPLETE");
}

TEST(Pipeline, NestedToAnyDepth) {
  auto p = std::make_shared<JsonProduct>();
  p->data() = {1.0};
  CallOptions o;
  o.overrides["steps"]["inner"]["steps"]["multiply"]["factor"] = "10";
  o.overrides["steps"]["scale"]["factor"] = 0.5;
  o.from_command_line = true;
  auto step = Step::build("NestedPipeline", Datum(p), o);
  auto& inner = dynamic_cast<Pipeline&>(dynamic_cast<Pipeline&>(*step).step("inner"));
  EXPECT_EQ(inner.step("multiply").qualified_name(), "stpipe.NestedPipeline.inner.multiply");
  auto r = step->run(Datum(p));
  EXPECT_EQ(data_of(r), (std::vector<double>{((1 + 1) * 10 + 1) * 0.5}));
}

TEST(Pipeline, SkipPassesThroughAndRecordsSkipped) {
  LogCapture logs;
  auto p = std::make_shared<JsonProduct>();
  p->data() = {1.0};
  CallOptions o;
  o.overrides["steps"]["multiply"]["skip"] = true;
  auto r = Step::call("ArithmeticPipeline", Datum(p), o);
  EXPECT_EQ(data_of(r), (std::vector<double>{3.0}));
  EXPECT_EQ(p->cal_step("multiply"), "SKIPPED");
  EXPECT_EQ(p->cal_step("add"), "COMPLETE");
  EXPECT_TRUE(logs.contains("stpipe.ArithmeticPipeline.multiply: Step skipped."));
}

TEST(Pipeline, StandaloneStepIgnoresSkip) {
  LogCapture logs;
  auto p = std::make_shared<JsonProduct>();
  p->data() = {1.0};
  CallOptions o;
  o.overrides["skip"] = true;
  auto r = Step::call("AddStep", Datum(p), o);
  EXPECT_EQ(data_of(r), (std::vector<double>{2.0}));
  EXPECT_TRUE(logs.contains("Step run as standalone, so skip set to False"));
}

TEST(Pipeline, NonLinearBranches) {
  auto neg = std::make_shared<JsonProduct>();
  neg->data() = {-3.0};
  EXPECT_EQ(data_of(Step::call("BranchPipeline", Datum(neg))), (std::vector<double>{-6.0}));
  auto pos = std::make_shared<JsonProduct>();
  pos->data() = {3.0};
  EXPECT_EQ(data_of(Step::call("BranchPipeline", Datum(pos))), (std::vector<double>{4.0}));
  CallOptions o;
  o.end_step = "add";
  EXPECT_THROW(Step::call("BranchPipeline", Datum(pos), o), ConfigError);
}

TEST(Pipeline, StopAndResumeEqualsUninterruptedRun) {
  TempDir d;
  ChangeDir cd(d.path());
  write_dataset(d / "exp_uncal.json", {1.5, -2.0, 4.0});
  CallOptions base;
  base.save_results = true;
  base.overrides["steps"]["multiply"]["factor"] = 3.0;
  base.overrides["steps"]["offset"]["value"] = -0.25;
  // Uninterrupted run, in its own directory.
  fs::create_directories(d / "full");
  {
    CallOptions o = base;
    o.overrides["output_dir"] = (d / "full").string();
    Step::call("ArithmeticPipeline", Datum("exp_uncal.json"), o);
  }
  // Stop after "multiply".
  CallOptions stop = base;
  stop.end_step = "multiply";
  auto pipe = Step::build("ArithmeticPipeline", Datum("exp_uncal.json"), stop);
  pipe->run(Datum("exp_uncal.json"));
  auto& pl = dynamic_cast<Pipeline&>(*pipe);
  ASSERT_TRUE(pl.stopped_early());
  EXPECT_EQ(pl.state_file().string(), "exp_multiply.state.json");
  EXPECT_TRUE(fs::exists(d / "exp_multiply.json"));
  EXPECT_FALSE(fs::exists(d / "exp_arithmeticpipeline.json"));  // no final product yet
  auto state = nlohmann::json::parse(read_text_file(d / "exp_multiply.state.json"));
  EXPECT_EQ(state["pipeline_class"], "ArithmeticPipeline");
  EXPECT_EQ(state["next_step"], "offset");
  EXPECT_EQ(state["completed_steps"], (nlohmann::json{"add", "multiply"}));
  EXPECT_EQ(state["parameters"]["steps"]["multiply"]["factor"], 3.0);
  // Resume.
  resume_pipeline(d / "exp_multiply.state.json");
  ASSERT_TRUE(fs::exists(d / "exp_arithmeticpipeline.json"));
  auto resumed = JsonProduct::open(d / "exp_arithmeticpipeline.json");
  auto full = JsonProduct::open(d / "full" / "exp_arithmeticpipeline.json");
  EXPECT_EQ(resumed->data(), full->data());
  EXPECT_EQ(resumed->doc()["meta"]["cal_step"], full->doc()["meta"]["cal_step"]);
  EXPECT_EQ(
      data_of_file(d / "exp_arithmeticpipeline.json"),
      (std::vector<double>{(1.5 + 1) * 3 - 0.25, (-2.0 + 1) * 3 - 0.25, (4.0 + 1) * 3 - 0.25}));
}

TEST(Pipeline, StartStepRunsFromThere) {
  auto p = std::make_shared<JsonProduct>();
  p->data() = {1.0};
  CallOptions o;
  o.start_step = "multiply";
  EXPECT_EQ(data_of(Step::call("ArithmeticPipeline", Datum(p), o)), (std::vector<double>{3.0}));
  CallOptions bad;
  bad.start_step = "nosuch";
  EXPECT_THROW(Step::build("ArithmeticPipeline", Datum(), bad), ConfigError);
}

TEST(Pipeline, LogsStartParametersAndDoneWithTime) {
  LogCapture logs;
  auto p = std::make_shared<JsonProduct>();
  p->data() = {1.0};
  Step::call("ArithmeticPipeline", Datum(p));
  EXPECT_TRUE(logs.contains(
      "stpipe.ArithmeticPipeline: Step ArithmeticPipeline running with args (<JsonProduct>)."));
  EXPECT_TRUE(logs.contains("Step ArithmeticPipeline parameters are:"));
  EXPECT_TRUE(logs.contains("  note: "));
  EXPECT_TRUE(logs.contains("stpipe.ArithmeticPipeline.add: Step add done ("));
  // Sub-steps do not repeat the parameter dump.
  EXPECT_FALSE(logs.contains("Step add parameters are:"));
}

TEST(Logging, FormatMatchesStpipe) {
  TempDir d;
  log::LogConfig c;
  c.handlers = {"file:" + (d / "run.log").string()};
  log::configure(c);
  log::get("stpipe.Detector1Pipeline.jump")->info("hello {}", 1);
  log::get("stpipe.Detector1Pipeline.jump")->debug("hidden");
  log::flush();
  log::configure(log::LogConfig{});
  std::string text = read_text_file(d / "run.log");
  std::regex re(
      R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - stpipe\.Detector1Pipeline\.jump - INFO - hello 1\n$)");
  EXPECT_TRUE(std::regex_match(text, re)) << text;
}

TEST(Logging, LevelsParse) {
  EXPECT_EQ(log::parse_level("warning"), spdlog::level::warn);
  EXPECT_EQ(log::parse_level("10"), spdlog::level::debug);
  EXPECT_THROW(log::parse_level("loud"), ConfigError);
}
