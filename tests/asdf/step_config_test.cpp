// Tests for stpipe parameter files in ASDF (step_config-1.0.0 and the legacy 0.1.0 layout).
#include "stpipe/asdf/step_config.h"

#include <fstream>

#include "stpipe/asdf/asdf_file.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"
#include "test_support.h"

using namespace stpipe::asdf;
using stpipe::ConfigError;
using stpipe::IoError;

namespace {

Json pipeline_config() {
  Json c = Json::object();
  c["class"] = "jwst.pipeline.Detector1Pipeline";
  c["name"] = "Detector1Pipeline";
  c["parameters"] =
      Json{{"output_dir", nullptr},      {"save_results", true},       {"suffix", nullptr},
           {"pre_hooks", Json::array()}, {"rejection_threshold", 4.0}, {"nint", 3}};
  c["steps"] = Json::array({Json{{"class", "jwst.dq_init.dq_init_step.DQInitStep"},
                                 {"name", "dq_init"},
                                 {"parameters", Json{{"skip", false}, {"suffix", "dqinit"}}}}});
  return c;
}

}  // namespace

TEST(StepConfig, WriteThenReadBack) {
  stpipe::testing::TempDir dir;
  Json c = pipeline_config();
  c["meta"] = step_config_metadata_template("jwst.pipeline.Detector1Pipeline");
  write_step_config(dir / "pars.asdf", c);
  Json back = read_step_config(dir / "pars.asdf");
  EXPECT_EQ(back, c);
  std::vector<std::string> keys;
  for (auto it = back.begin(); it != back.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"class", "name", "parameters", "steps", "meta"}));
  EXPECT_EQ(back["meta"]["description"],
            "Parameters for calibration step jwst.pipeline.Detector1Pipeline");
  EXPECT_EQ(back["meta"]["author"], "<SPECIFY>");
  EXPECT_EQ(back["meta"]["date"].get<std::string>().size(), 19u);  // YYYY-MM-DDTHH:MM:SS
  EXPECT_EQ(back["meta"]["date"].get<std::string>()[10], 'T');
  const std::string text = stpipe::read_text_file(dir / "pars.asdf");
  EXPECT_NE(
      text.find("\nclass: jwst.pipeline.Detector1Pipeline\nname: Detector1Pipeline\nparameters:\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("  author: '<SPECIFY>'\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  output_dir: null\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  rejection_threshold: 4.0\n"), std::string::npos) << text;
}

TEST(StepConfig, EmptyStepsAreOmittedLikeStpipe) {
  stpipe::testing::TempDir dir;
  Json c = Json{{"class", "x.Step"},
                {"name", "Step"},
                {"parameters", Json::object()},
                {"steps", Json::array()}};
  write_step_config(dir / "s.asdf", c);
  Json back = read_step_config(dir / "s.asdf");
  EXPECT_FALSE(back.contains("steps"));
  EXPECT_EQ(back["parameters"], Json::object());
}

TEST(StepConfig, LegacyLayoutIsConverted) {
  stpipe::testing::TempDir dir;
  stpipe::write_text_atomically(
      dir / "old.asdf",
      "#ASDF 1.0.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n"
      "parameters:\n  class: mysteps.MakeListPipeline\n  name: mkp\n  par1: 43.0\n"
      "  steps:\n    make_list: {class: mysteps.MakeListStep, par2: over}\n...\n");
  Json c = read_step_config(dir / "old.asdf");
  EXPECT_EQ(c["class"], "mysteps.MakeListPipeline");
  EXPECT_EQ(c["name"], "mkp");
  EXPECT_EQ(c["parameters"], (Json{{"par1", 43.0}}));
  ASSERT_EQ(c["steps"].size(), 1u);
  EXPECT_EQ(c["steps"][0]["class"], "mysteps.MakeListStep");
  EXPECT_EQ(c["steps"][0]["name"], "make_list");
  EXPECT_EQ(c["steps"][0]["parameters"], (Json{{"par2", "over"}}));
}

TEST(StepConfig, InvalidConfigsNameTheKey) {
  auto message = [](const Json& c) {
    try {
      validate_step_config(c, "p.asdf");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(Json{{"parameters", Json::object()}}), "p.asdf: 'class' is missing");
  EXPECT_EQ(message(Json{{"class", 3}, {"parameters", Json::object()}}),
            "p.asdf: 'class' must be a string, got 3");
  EXPECT_EQ(message(Json{{"class", "a.B"}}), "p.asdf: 'parameters' is missing");
  EXPECT_EQ(message(Json{{"class", "a.B"}, {"parameters", Json::array()}}),
            "p.asdf: 'parameters' must be a mapping, got []");
  Json bad_step = pipeline_config();
  bad_step["steps"][0].erase("class");
  EXPECT_EQ(message(bad_step), "p.asdf: steps[0]: 'class' is missing");
  EXPECT_EQ(message(pipeline_config()), "no error");
  stpipe::testing::TempDir dir;
  EXPECT_THROW(write_step_config(dir / "x.asdf", Json{{"class", "a.B"}}), ConfigError);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.asdf"));
  stpipe::write_text_atomically(dir / "notasdf.asdf", "class = a.B\n");
  EXPECT_THROW(read_step_config(dir / "notasdf.asdf"), IoError);
}
