// Output file names: stpipe's rules plus JWST's known-suffix stripping.
#include "core_test_util.h"

using namespace stpipe;
using namespace stpipe::testing;
namespace fs = std::filesystem;

namespace {
std::unique_ptr<Step> add_step(config::Tree overrides = config::Tree::object()) {
  CallOptions o;
  o.overrides = std::move(overrides);
  return Step::build("AddStep", Datum(), o);
}
}  // namespace

struct NameCase {
  const char* basepath;
  const char* ext;
  std::optional<std::string> suffix;
  std::optional<int> idx;
  const char* expected;
};

TEST(OutputNames, Table) {
  auto s = add_step();
  const NameCase cases[] = {
      {"junk_uncal.fits", "", std::nullopt, std::nullopt, "junk_addstep.fits"},
      {"junk-uncal.fits", "", std::nullopt, std::nullopt, "junk-addstep.fits"},
      {"junk_uncal.fits", "", std::nullopt, 1, "junk_1_addstep.fits"},
      {"junk_uncal.fits", "asdf", std::nullopt, std::nullopt, "junk_addstep.asdf"},
      {"junk_uncal.fits", ".asdf", std::nullopt, std::nullopt, "junk_addstep.asdf"},
      {"junk_uncal.fits", "", std::string(""), std::nullopt, "junk_uncal.fits"},
      {"junk_uncal.fits", "", std::string("cal"), std::nullopt, "junk_cal.fits"},
      {"jw01_rate.fits", "", std::string("cal"), std::nullopt, "jw01_cal.fits"},
      {"jw01_rateints.fits", "", std::string("calints"), std::nullopt, "jw01_calints.fits"},
      {"jw0001_ramp.fits", "", std::string("rate"), std::nullopt, "jw0001_rate.fits"},
      {"a.fits", "", std::nullopt, 2, "a_2_addstep.fits"},
      {"d1/d2/f.fits", "", std::nullopt, std::nullopt, "f_addstep.fits"},
      {"in_multiply.fits", "", std::nullopt, std::nullopt, "in_addstep.fits"},
      {"no_known_suffix.fits", "", std::nullopt, std::nullopt, "no_known_suffix_addstep.fits"},
      {"x_trapsfilled.fits", "", std::string("rate"), std::nullopt, "x_rate.fits"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(s->make_output_path(c.basepath, c.ext, c.suffix, c.idx).string(), c.expected)
        << "basepath " << c.basepath;
  }
}

TEST(OutputNames, NoInputUsesStepName) {
  auto s = add_step();
  EXPECT_EQ(s->make_output_path("", ".fits").string(), "step_AddStep_addstep.fits");
}

TEST(OutputNames, SuffixParameterAndOutputDir) {
  config::Tree o;
  o["suffix"] = "mysfx";
  o["output_dir"] = "/junk";
  auto s = add_step(o);
  EXPECT_EQ(s->make_output_path("in.fits").string(), "/junk/in_mysfx.fits");
}

TEST(OutputNames, OutputFileSetsBaseButNotDirectory) {
  TempDir d;
  ChangeDir cd(d.path());
  write_dataset(d / "input_uncal.json", {1, 2});
  CallOptions o;
  o.overrides["output_file"] = "sub/out.json";
  o.from_command_line = true;
  Step::call("AddStep", Datum((d / "input_uncal.json").string()), o);
  // stpipe's rule: only output_dir places files; output_file gives the base name.
  EXPECT_TRUE(fs::exists(d / "out_addstep.json"));
  EXPECT_TRUE(fs::is_directory(d / "sub"));
  EXPECT_FALSE(fs::exists(d / "sub" / "out_addstep.json"));
}

TEST(OutputNames, PipelineSavesSubStepsAndInheritsOutputFile) {
  TempDir d;
  ChangeDir cd(d.path());
  write_dataset(d / "in.json", {1});
  CallOptions o;
  o.overrides["steps"]["add"]["save_results"] = true;
  o.save_results = true;
  Step::call("ArithmeticPipeline", Datum("in.json"), o);
  EXPECT_TRUE(fs::exists(d / "in_add.json"));
  EXPECT_TRUE(fs::exists(d / "in_arithmeticpipeline.json"));

  CallOptions o2 = o;
  o2.overrides["output_file"] = "o.json";
  Step::call("ArithmeticPipeline", Datum("in.json"), o2);
  EXPECT_TRUE(fs::exists(d / "o_add.json"));
  EXPECT_TRUE(fs::exists(d / "o_arithmeticpipeline.json"));

  CallOptions o3 = o;
  o3.overrides["output_dir"] = "od";
  o3.overrides["steps"]["add"]["suffix"] = "x1";
  Step::call("ArithmeticPipeline", Datum("in.json"), o3);
  EXPECT_TRUE(fs::exists(d / "od" / "in_x1.json"));
  EXPECT_TRUE(fs::exists(d / "od" / "in_arithmeticpipeline.json"));
}

TEST(OutputNames, OutputUseModel) {
  TempDir d;
  ChangeDir cd(d.path());
  write_dataset(d / "in.json", {1}, {{"filename", "model_name.json"}});
  CallOptions o;
  o.overrides["output_use_model"] = true;
  o.overrides["save_results"] = true;
  auto p = JsonProduct::open(d / "in.json");
  p->set_filename("model_name.json");
  Step::call("AddStep", Datum(p), o);
  EXPECT_TRUE(fs::exists(d / "model_name_addstep.json"));
}

TEST(OutputNames, SavingIsAtomic) {
  TempDir d;
  ChangeDir cd(d.path());
  write_dataset(d / "in.json", {1});
  std::ofstream(d / "in_addstep.json") << "previous good content";
  fs::create_directories(d / "in_addstep.json.lock");  // unrelated clutter is fine
  CallOptions o;
  o.save_results = true;
  Step::call("AddStep", Datum("in.json"), o);
  EXPECT_EQ(data_of_file(d / "in_addstep.json"), std::vector<double>{2});
  for (const auto& e : fs::directory_iterator(d.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}
