// Hooks (registered steps with and without arguments, shell commands) and plugins.
#include "core/hooks.h"

#include "core_test_util.h"
#include "stpipe/config/configobj.h"
#include "stpipe/core/core_steps.h"
#include "stpipe/util/atomic_file.h"

using namespace stpipe;
using namespace stpipe::testing;
namespace fs = std::filesystem;

TEST(Hooks, StepHookReplacesInputAndResult) {
  auto p = std::make_shared<JsonProduct>();
  p->data() = {1.0};
  CallOptions o;
  o.overrides["pre_hooks"] = nlohmann::json::array({"MultiplyStep(factor=10)"});
  o.overrides["post_hooks"] = nlohmann::json::array({"AddStep"});
  // (1 * 10) + 1 (AddStep itself, value 1) + 1 (post hook AddStep)
  auto r = Step::call("AddStep", Datum(p), o);
  EXPECT_EQ(data_of(r), (std::vector<double>{12.0}));
}

TEST(Hooks, HookListFromCommandLineSyntax) {
  auto p = std::make_shared<JsonProduct>();
  p->data() = {2.0};
  CallOptions o;
  o.overrides["post_hooks"] = config::parse_configobj_value("MultiplyStep(factor=3),");
  o.from_command_line = true;
  EXPECT_EQ(data_of(Step::call("AddStep", Datum(p), o)), (std::vector<double>{9.0}));
}

TEST(Hooks, ShellHookGetsQuotedFileName) {
  TempDir d;
  ChangeDir cd(d.path());
  std::string weird = "my file 'with' \"quotes\" $HOME.json";
  write_dataset(d / weird, {1.0});
  CallOptions o;
  o.overrides["pre_hooks"] = nlohmann::json::array({"cp {0} copied_input.json"});
  o.overrides["post_hooks"] = nlohmann::json::array({"cat {0} > seen_result.json; echo post-ran"});
  LogCapture logs;
  auto r = Step::call("AddStep", Datum(weird), o);
  EXPECT_EQ(data_of_file(d / "copied_input.json"), std::vector<double>{1.0});
  // The post hook saw the result, saved as <qualified name>.0000.json.
  EXPECT_TRUE(fs::exists(d / "stpipe.AddStep.post_hook0.0000.json"));
  EXPECT_EQ(data_of_file(d / "seen_result.json"), std::vector<double>{2.0});
  EXPECT_TRUE(logs.contains("STDOUT: post-ran"));
  EXPECT_TRUE(logs.contains("Spawning 'cp '"));
}

TEST(Hooks, FailingShellHookFailsTheStep) {
  TempDir d;
  ChangeDir cd(d.path());
  write_dataset(d / "in.json", {1.0});
  CallOptions o;
  o.overrides["pre_hooks"] = nlohmann::json::array({"echo broken >&2; exit 3"});
  o.save_results = true;
  try {
    Step::call("AddStep", Datum("in.json"), o);
    FAIL() << "expected StepError";
  } catch (const StepError& e) {
    EXPECT_EQ(std::string(e.what()), "'echo broken >&2; exit 3' returned error code 3: broken\n");
  }
  EXPECT_FALSE(fs::exists(d / "in_addstep.json"));
}

TEST(Hooks, ShellQuote) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  auto r = run_shell("printf %s " + shell_quote("x'y \"z\" $HOME"));
  EXPECT_EQ(r.out, "x'y \"z\" $HOME");
  EXPECT_EQ(r.exit_code, 0);
}

TEST(Plugins, ExamplePluginLoadsWithoutRebuilding) {
  fs::path lib = binary_dir() / "plugins" / "clip_plugin.so";
  ASSERT_TRUE(fs::exists(lib)) << lib;
  StepRegistry reg;
  register_builtin_steps(reg);
  EXPECT_EQ(reg.find("ClipStep"), nullptr);
  load_plugin(reg, lib.string());
  ASSERT_NE(reg.find("clip"), nullptr);
  EXPECT_EQ(reg.find("mypackage.steps.ClipStep")->name, "ClipStep");
  auto p = std::make_shared<JsonProduct>();
  p->data() = {-5.0, 0.5, 7.0};
  CallOptions o;
  o.overrides["high"] = 2.0;
  auto r = Step::call("ClipStep", Datum(p), o, reg);
  EXPECT_EQ(data_of(r), (std::vector<double>{0.0, 0.5, 2.0}));
  EXPECT_EQ(p->cal_step("clip"), "COMPLETE");
  load_plugin(reg, lib.string());  // a second load is a no-op, not a duplicate
}

TEST(Plugins, MissingLibraryIsAConfigError) {
  StepRegistry reg;
  try {
    load_plugin(reg, "/nonexistent/libnothing.so");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("Cannot load plugin '/nonexistent/libnothing.so'"),
              std::string::npos);
  }
}

TEST(Registry, DuplicatesAreErrors) {
  StepRegistry reg;
  register_builtin_steps(reg);
  EXPECT_THROW(reg.add<AddStep>(), ConfigError);
  EXPECT_EQ(reg.find("stpipe.tests.steps.AddStep")->name, "AddStep");
  EXPECT_EQ(reg.find("some.package.AddStep")->name, "AddStep");
  EXPECT_EQ(reg.find("nothing"), nullptr);
}
