// End-to-end runs of the strun and stpipe programs: outputs, messages and exit codes.
#include "core_test_util.h"
#include "stpipe/util/atomic_file.h"

using namespace stpipe::testing;
namespace fs = std::filesystem;

namespace {
std::string strun() { return (binary_dir() / "bin" / "strun").string(); }
std::string stpipe_prog() { return (binary_dir() / "bin" / "stpipe").string(); }
}  // namespace

TEST(Strun, RunsPipelineAndWritesRate) {
  TempDir d;
  write_dataset(d / "jw1_uncal.json", {1, 2});
  auto r =
      run_command("cd " + d.path().string() + " && " + strun() +
                  " calwebb_arithmetic jw1_uncal.json --steps.multiply.factor=3 --log-level=INFO");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(d / "jw1_arithmeticpipeline.json"), (std::vector<double>{7, 10}));
  EXPECT_NE(r.output.find(" - stpipe.ArithmeticPipeline.multiply - INFO - Step multiply done ("),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("stpipe-cpp "), std::string::npos);
}

TEST(Strun, ExitCodes) {
  TempDir d;
  write_dataset(d / "in.json", {1});
  std::string cd = "cd " + d.path().string() + " && ";
  // usage: unknown option
  auto r = run_command(cd + strun() + " AddStep in.json --bogus=1");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("unrecognized arguments: --bogus=1"), std::string::npos);
  // config: invalid value
  r = run_command(cd + strun() + " AddStep in.json --value=abc");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("Config parameter 'value': the value \"abc\" is of the wrong type."),
            std::string::npos)
      << r.output;
  // unknown class
  r = run_command(cd + strun() + " NoSuchStep in.json");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("'NoSuchStep' is not a path to a config file or a registered step class"),
            std::string::npos);
  // bad input
  r = run_command(cd + strun() + " AddStep missing.json");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("missing.json"), std::string::npos);
  std::ofstream(d / "broken.json") << "{not json";
  r = run_command(cd + strun() + " AddStep broken.json");
  EXPECT_EQ(r.status, 3) << r.output;
  // step failure (a failing hook)
  r = run_command(cd + strun() + " AddStep in.json '--pre_hooks=exit 7,'");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("returned error code 7"), std::string::npos);
  // success
  r = run_command(cd + strun() + " AddStep in.json");
  EXPECT_EQ(r.status, 0) << r.output;
  // version
  r = run_command(strun() + " --version");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("stpipe-cpp: "), std::string::npos);
}

TEST(Strun, HelpListsParameters) {
  auto r = run_command(strun() + " ArithmeticPipeline -h");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("--steps.multiply.factor  float(default=2.0)"), std::string::npos)
      << r.output;
  r = run_command(strun() + " -h");
  EXPECT_EQ(r.status, 0);
  r = run_command(strun());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("the following arguments are required: cfg_file_or_class"),
            std::string::npos);
}

TEST(Strun, ConfigFileAndSaveParameters) {
  TempDir d;
  write_dataset(d / "in.json", {1});
  std::ofstream(d / "my.cfg")
      << "class = \"ArithmeticPipeline\"\nname = \"arith\"\n[steps]\n[[add]]\nvalue = 10\n";
  std::string cd = "cd " + d.path().string() + " && ";
  auto r = run_command(cd + strun() +
                       " my.cfg in.json --save-parameters=saved.cfg --steps.offset.value=0.5");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(d / "in_arith.json"), (std::vector<double>{22.5}));
  // The saved file reproduces the same run.
  fs::rename(d / "in_arith.json", d / "first.json");
  r = run_command(cd + strun() + " saved.cfg in.json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(d / "in_arith.json"), (std::vector<double>{22.5}));
}

TEST(Strun, StopAndResume) {
  TempDir d;
  write_dataset(d / "e_uncal.json", {2});
  std::string cd = "cd " + d.path().string() + " && ";
  auto r = run_command(cd + strun() + " ArithmeticPipeline e_uncal.json --end-step=add");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(fs::exists(d / "e_add.state.json")) << r.output;
  r = run_command(cd + strun() + " --resume e_add.state.json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(d / "e_arithmeticpipeline.json"), (std::vector<double>{7}));
}

TEST(Strun, PluginOption) {
  TempDir d;
  write_dataset(d / "in.json", {5});
  std::string lib = (binary_dir() / "plugins" / "clip_plugin.so").string();
  auto r = run_command("cd " + d.path().string() + " && " + strun() + " --plugin " + lib +
                       " ClipStep in.json --high=2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(d / "in_clipstep.json"), (std::vector<double>{2}));
  r = run_command("STPIPE_PLUGIN_PATH=" + (binary_dir() / "plugins").string() + " " +
                  stpipe_prog() + " list clip*");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("ClipStep (clip, mypackage.steps.ClipStep)"), std::string::npos)
      << r.output;
}

TEST(Stpipe, ListAndDescribe) {
  auto r = run_command(stpipe_prog() + " list --pipelines-only");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("ArithmeticPipeline (calwebb_arithmetic)  [pipeline]"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("AddStep"), std::string::npos);
  r = run_command(stpipe_prog() + " describe MultiplyStep");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("--factor  float(default=2.0)"), std::string::npos) << r.output;
  r = run_command(stpipe_prog() + " list zzz*");
  EXPECT_NE(r.output.find("(no matching classes)"), std::string::npos);
}

TEST(Stpipe, ConfigDumpWithClassSpec) {
  TempDir d;
  std::ofstream(d / "p.cfg") << "[steps]\n[[multiply]]\nfactor = 3\n";
  auto r = run_command(stpipe_prog() + " config dump " + (d / "p.cfg").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"factor\": \"3\""), std::string::npos) << r.output;
  r = run_command(stpipe_prog() + " config dump " + (d / "p.cfg").string() +
                  " --spec ArithmeticPipeline");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"factor\": 3.0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"value\": 1.0"), std::string::npos);  // defaults filled in
  std::ofstream(d / "bad.cfg") << "[steps]\n[[multiply]]\nfactor = x\n";
  r = run_command(stpipe_prog() + " config dump " + (d / "bad.cfg").string() +
                  " --spec ArithmeticPipeline");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("'steps/multiply/factor': the value \"x\" is of the wrong type."),
            std::string::npos)
      << r.output;
}

TEST(Strun, LogFileAndLevel) {
  TempDir d;
  write_dataset(d / "in.json", {1});
  auto r = run_command("cd " + d.path().string() + " && " + strun() +
                       " AddStep in.json --log-file=run.log --log-level=warning");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_command("cd " + d.path().string() + " && " + strun() +
                  " AddStep in.json --log-file=run2.log -v");
  std::string log = stpipe::read_text_file(d / "run2.log");
  EXPECT_NE(log.find(" - stpipe.AddStep - INFO - Step AddStep done ("), std::string::npos) << log;
  EXPECT_NE(r.output.find("Step AddStep done"), std::string::npos);  // also on the screen
}
