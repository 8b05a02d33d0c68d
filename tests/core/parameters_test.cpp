// Parameters: typed access, validation messages, precedence across every layer, provenance.
#include <fstream>

#include "core_test_util.h"
#include "stpipe/core/core_steps.h"
#include "stpipe/core/crds_wiring.h"
#include "stpipe/util/atomic_file.h"

using namespace stpipe;
using namespace stpipe::testing;
namespace fs = std::filesystem;

TEST(Parameters, DefaultsAreTypedAndSourced) {
  auto s = Step::build("AddStep", Datum(), {});
  EXPECT_DOUBLE_EQ(s->get<double>("value"), 1.0);
  EXPECT_FALSE(s->get<bool>("skip"));
  EXPECT_TRUE(s->is_none("output_file"));
  EXPECT_TRUE(s->param("pre_hooks").is_array());
  EXPECT_EQ(s->source_of("value"), ParamSource::kDefault);
  EXPECT_EQ(s->name(), "AddStep");
  EXPECT_EQ(s->qualified_name(), "stpipe.AddStep");
}

TEST(Parameters, WrongTypeNamesKeyAndReason) {
  CallOptions o;
  o.overrides["value"] = "abc";
  o.from_command_line = true;
  try {
    Step::build("AddStep", Datum(), o);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Config parameter 'value': the value \"abc\" is of the wrong type.");
    EXPECT_EQ(e.exit_code(), ExitCode::kConfigError);
  }
}

TEST(Parameters, UnknownKeyIsExtraValue) {
  CallOptions o;
  o.overrides["bogus"] = "1";
  try {
    Step::build("AddStep", Datum(), o);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "Extra value 'bogus' in root");
  }
  CallOptions o2;
  o2.overrides["steps"]["nope"]["value"] = "1";
  try {
    Step::build("ArithmeticPipeline", Datum(), o2);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "Extra value 'nope' in steps");
  }
}

TEST(Parameters, SubStepErrorHasPath) {
  CallOptions o;
  o.overrides["steps"]["multiply"]["factor"] = "x";
  try {
    Step::build("ArithmeticPipeline", Datum(), o);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Config parameter 'steps/multiply/factor': the value \"x\" is of the wrong type.");
  }
}

TEST(Parameters, PrecedenceAcrossAllLayers) {
  TempDir d;
  // The user's config names a sub-step config file relative to itself.
  fs::create_directories(d / "cfg");
  std::ofstream(d / "cfg" / "mult.cfg") << "factor = 3.0\nsave_results = True\nsuffix = fromsub\n";
  std::ofstream(d / "cfg" / "pipe.cfg")
      << "name = \"mypipe\"\nclass = \"ArithmeticPipeline\"\nnote = fromfile\n"
         "[steps]\n  [[multiply]]\n  config_file = mult.cfg\n  suffix = fromuser\n"
         "  [[offset]]\n  value = 7\n";
  // Reference parameters (pars-*) sit above defaults and below config files. (The global
  // registry installs the CRDS provider when first used, so create it before replacing that.)
  StepRegistry::global();
  set_pars_provider([](const std::string& cls,
                       const Datum&) -> std::optional<std::pair<config::Tree, std::string>> {
    if (cls == "ArithmeticPipeline") {
      config::Tree t;
      t["note"] = "fromref";
      t["steps"]["add"]["value"] = 5.0;
      t["steps"]["offset"]["value"] = 6.0;
      return std::make_pair(t, std::string("/refs/pars-arithmeticpipeline.asdf"));
    }
    if (cls == "MultiplyStep") {
      config::Tree t;
      t["factor"] = 9.0;
      t["skip"] = false;
      return std::make_pair(t, std::string("/refs/pars-multiplystep.asdf"));
    }
    return std::nullopt;
  });
  CallOptions o;
  o.config_file = d / "cfg" / "pipe.cfg";
  o.overrides["steps"]["offset"]["value"] = "8";
  o.from_command_line = true;
  auto p = Step::build("ArithmeticPipeline", Datum("x.json"), o);
  install_crds();
  auto& pipe = dynamic_cast<Pipeline&>(*p);
  EXPECT_EQ(p->name(), "mypipe");
  // default
  EXPECT_EQ(pipe.step("add").source_of("skip"), ParamSource::kDefault);
  // reference file beats default
  EXPECT_DOUBLE_EQ(pipe.step("add").get<double>("value"), 5.0);
  EXPECT_EQ(pipe.step("add").source_of("value"), ParamSource::kReferenceFile);
  // step config file beats reference file
  EXPECT_DOUBLE_EQ(pipe.step("multiply").get<double>("factor"), 3.0);
  EXPECT_EQ(pipe.step("multiply").source_of("factor"), ParamSource::kStepConfigFile);
  EXPECT_TRUE(pipe.step("multiply").get<bool>("save_results"));
  // user config beats step config file
  EXPECT_EQ(pipe.step("multiply").get<std::string>("suffix"), "fromuser");
  EXPECT_EQ(pipe.step("multiply").source_of("suffix"), ParamSource::kConfigFile);
  EXPECT_EQ(p->get<std::string>("note"), "fromfile");
  // command line beats everything
  EXPECT_DOUBLE_EQ(pipe.step("offset").get<double>("value"), 8.0);
  EXPECT_EQ(pipe.step("offset").source_of("value"), ParamSource::kOverride);
}

TEST(Parameters, CallKeywordsAreTyped) {
  CallOptions o;
  o.overrides["value"] = 2.5;
  auto s = Step::build("AddStep", Datum(), o);
  EXPECT_DOUBLE_EQ(s->get<double>("value"), 2.5);
  EXPECT_THROW(s->get<std::string>("value"), ConfigError);
  EXPECT_THROW(s->param("nonexistent"), ConfigError);
}

TEST(Parameters, SetChecksAgainstSpec) {
  auto s = Step::build("AddStep", Datum(), {});
  s->set("value", "4");
  EXPECT_DOUBLE_EQ(s->get<double>("value"), 4.0);
  EXPECT_THROW(s->set("value", "four"), ConfigError);
  EXPECT_THROW(s->set("nope", "1"), ConfigError);
}

TEST(Parameters, OverrideParametersForReferenceTypes) {
  // A pipeline's spec nests every sub-step's spec with config_file/name/class.
  auto p = Step::build("ArithmeticPipeline", Datum(), {});
  auto spec = p->merged_spec();
  const auto* steps = spec.find("steps");
  ASSERT_TRUE(steps && steps->section);
  const auto* mult = steps->section->find("multiply");
  ASSERT_TRUE(mult && mult->section);
  EXPECT_TRUE(mult->section->find("config_file"));
  EXPECT_TRUE(mult->section->find("factor"));
}

TEST(Parameters, SaveParametersCfgReproducesRun) {
  TempDir d;
  CallOptions o;
  o.overrides["steps"]["multiply"]["factor"] = 4.0;
  o.overrides["note"] = "saved";
  auto p = Step::build("ArithmeticPipeline", Datum(), o);
  p->save_parameters(d / "saved.cfg");
  CallOptions o2;
  o2.config_file = d / "saved.cfg";
  auto q = Step::build("ArithmeticPipeline", Datum(), o2);
  EXPECT_EQ(q->get_pars(), p->get_pars());
  EXPECT_DOUBLE_EQ(dynamic_cast<Pipeline&>(*q).step("multiply").get<double>("factor"), 4.0);
}

TEST(Parameters, DescribeListsEveryParameterWithSource) {
  CallOptions o;
  o.overrides["steps"]["add"]["value"] = 3.0;
  auto p = Step::build("ArithmeticPipeline", Datum(), o);
  std::string text = describe_parameters(*p);
  EXPECT_NE(text.find("--steps.add.value  float(default=1.0)"), std::string::npos) << text;
  EXPECT_NE(text.find("Number added to every element"), std::string::npos);
  EXPECT_NE(text.find("value=3.0, source=command line"), std::string::npos) << text;
  EXPECT_NE(text.find("--note"), std::string::npos);
}

TEST(Parameters, SaveParametersAsdfAndYamlReproduceRun) {
  TempDir d;
  CallOptions o;
  o.overrides["steps"]["multiply"]["factor"] = 4.0;
  o.overrides["steps"]["add"]["skip"] = true;
  auto p = Step::build("ArithmeticPipeline", Datum(), o);
  for (const char* name : {"saved.asdf", "saved.yaml"}) {
    p->save_parameters(d / name);
    std::string text = read_text_file(d / name);
    EXPECT_NE(text.find("class: ArithmeticPipeline"), std::string::npos) << text;
    EXPECT_NE(text.find("class: MultiplyStep"), std::string::npos) << text;
    CallOptions o2;
    o2.config_file = d / name;
    auto q = Step::build("ArithmeticPipeline", Datum(), o2);
    EXPECT_EQ(q->get_pars(), p->get_pars()) << name;
  }
  EXPECT_EQ(read_text_file(d / "saved.asdf").rfind("#ASDF 1.0.0", 0), 0u);
}

TEST(Parameters, LogConfigFile) {
  TempDir d;
  std::ofstream(d / "log.cfg") << "[*]\nlevel = WARNING\nhandler = file:" << (d / "x.log").string()
                               << "\nformat = %(levelname)s:%(name)s:%(message)s\n";
  auto cfg = log::read_log_config(d / "log.cfg");
  EXPECT_EQ(cfg.level, spdlog::level::warn);
  ASSERT_EQ(cfg.handlers.size(), 1u);
  log::configure(cfg);
  log::get("stpipe.X")->info("not shown");
  log::get("stpipe.X")->warn("shown");
  log::flush();
  log::configure(log::LogConfig{});
  EXPECT_EQ(read_text_file(d / "x.log"), "WARNING:stpipe.X:shown\n");
  EXPECT_THROW(log::read_log_config(d / "nope.cfg"), IoError);
}
