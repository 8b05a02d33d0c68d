// Detector1/Image2/Guider steps and pipelines: stcal golden vectors through Step::call and strun,
// instrument branches, single-group ramps, reference errors and N/A overrides.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "stpipe/core/model_product.h"
#include "stpipe/core/step.h"
#include "stpipe/log/logging.h"
#include "stpipe/models/datamodel.h"
#include "stpipe/steps/dqflags.h"
#include "stpipe/steps/guider_cds.h"
#include "stpipe/steps/linearity.h"
#include "stpipe/steps/ramp_fit_step.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace stpipe;
using namespace stpipe::testing;
using models::Array;
using models::DType;

namespace {

const char* const kCases[] = {"1x10x256x256", "2x8x256x256_nf4gg1"};
const char* const kUncal = "jw99999001001_01101_00001_nrca1_uncal.fits";

fs::path case_dir(const std::string& c) { return shared_data("vectors/" + c); }

// Bitwise comparison of every array of stages/<stage>/ with the model's (slope -> data).
void expect_stage(const std::string& c, const std::string& stage, const models::DataModel& m,
                  bool slope_is_data = true) {
  SCOPED_TRACE(c + " stage " + stage);
  int n = 0;
  for (const auto& e : fs::directory_iterator(case_dir(c) / "stages" / stage)) {
    std::string name = e.path().filename().string();
    name = name.substr(0, name.find('.'));
    const std::string arr = name == "slope" && slope_is_data ? "data" : name;
    NpyArray want = read_npy(e.path());
    ASSERT_TRUE(m.has_array(arr)) << arr;
    const auto& a = m.array(arr);
    ASSERT_EQ(a.shape(), want.shape) << arr;
    ASSERT_EQ(a.nbytes(), want.bytes.size()) << arr;
    std::size_t diff = 0;
    const std::size_t es = models::dtype_size(a.dtype());
    const auto* p = static_cast<const unsigned char*>(a.raw());
    for (std::size_t k = 0; k < a.size(); ++k)
      diff += std::memcmp(p + k * es, want.bytes.data() + k * es, es) != 0;
    EXPECT_EQ(diff, 0u) << arr << " differs in " << diff << " elements";
    ++n;
  }
  EXPECT_GT(n, 0);
}

CallOptions with(const std::string& key, const std::string& value) {
  CallOptions o;
  o.overrides[key] = value;
  return o;
}

std::shared_ptr<models::DataModel> model(const Datum& d) {
  auto m = model_of(d);
  if (!m) throw std::runtime_error("not a model: " + d.describe());
  return m;
}

}  // namespace

// Every stage, step by step through Step::call with override_<reftype>, bit for bit.
TEST(Detector1Vectors, EveryStageThroughStepCallMatchesStcal) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const std::string c : kCases) {
    const fs::path f = case_dir(c) / "fits";
    Datum x = Step::call("DQInitStep", (f / kUncal).string(),
                         with("override_mask", (f / "ref_mask.fits").string()));
    expect_stage(c, "dq_init", *model(x));
    EXPECT_EQ(model(x)->meta_string("meta.cal_step.dq_init"), "COMPLETE");
    CallOptions so = with("override_saturation", (f / "ref_saturation.fits").string());
    so.overrides["override_superbias"] = (f / "ref_superbias.fits").string();
    so.overrides["numpy1_promotion"] = true;
    x = Step::call("SaturationStep", x, so);
    expect_stage(c, "saturation", *model(x));
    x = Step::call("IPCStep", x, with("override_ipc", (f / "ref_ipc.fits").string()));
    expect_stage(c, "ipc", *model(x));
    x = Step::call("SuperBiasStep", x,
                   with("override_superbias", (f / "ref_superbias.fits").string()));
    expect_stage(c, "superbias", *model(x));
    x = Step::call("LinearityStep", x,
                   with("override_linearity", (f / "ref_linearity.fits").string()));
    expect_stage(c, "linearity", *model(x));
    x = Step::call("DarkCurrentStep", x, with("override_dark", (f / "ref_dark.fits").string()));
    expect_stage(c, "dark_current", *model(x));
    EXPECT_EQ(model(x)->meta_string("meta.cal_step.dark_sub"), "COMPLETE");
    {
      // average_dark_current for ramp_fit, written over a fresh plane: this dark has neither
      // the plane nor the keyword (zeros); a parameter value is broadcast.
      const auto& adc = model(x)->array("average_dark_current");
      ASSERT_EQ(adc.shape().size(), 2u);
      const float* a = adc.data<float>();
      EXPECT_EQ(std::count(a, a + adc.size(), 0.0f), static_cast<std::ptrdiff_t>(adc.size()));
      CallOptions dco = with("override_dark", (f / "ref_dark.fits").string());
      dco.overrides["average_dark_current"] = 0.125;
      const Datum y = Step::call("DarkCurrentStep", (f / kUncal).string(), dco);
      const auto& b = model(y)->array("average_dark_current");
      EXPECT_EQ(b.shape(), adc.shape());
      EXPECT_EQ(std::count(b.data<float>(), b.data<float>() + b.size(), 0.125f),
                static_cast<std::ptrdiff_t>(b.size()));
    }
    CallOptions go = with("override_gain", (f / "ref_gain.fits").string());
    go.overrides["override_readnoise"] = (f / "ref_readnoise.fits").string();
    x = Step::call("JumpStep", x, go);
    expect_stage(c, "jump", *model(x));
    go.overrides["numpy1_readnoise"] = true;
    TempDir opt_dir;  // save_opt: the optional results go to <root>_fitopt.fits
    go.overrides["save_opt"] = true;
    go.overrides["output_dir"] = opt_dir.path().string();
    auto rf = Step::build("RampFitStep", x, go);
    const Array ramp_before = model(x)->array("data").copy();
    Datum rate = rf->run(x);
    // The caller still holds the ramp: ramp_fit must not consume it (a pipeline's own product
    // is fitted band by band and released; that path is checked by the strun test below).
    EXPECT_TRUE(model(x)->array("data").equals(ramp_before));
    expect_stage(c, "ramp_fit_rate", *model(rate));
    const fs::path fitopt = opt_dir.path() / "jw99999001001_01101_00001_nrca1_fitopt.fits";
    ASSERT_TRUE(fs::exists(fitopt)) << fitopt;
    auto opt = models::open(fitopt);
    EXPECT_EQ(opt->model_type(), "RampFitOutputModel");
    expect_stage(c, "ramp_fit_opt", *opt, /*slope_is_data=*/false);
    EXPECT_EQ(model(rate)->model_type(), "ImageModel");
    auto ri = dynamic_cast<RampFitStep&>(*rf).rateints();
    ASSERT_TRUE(ri);
    EXPECT_EQ(ri->model_type(), "CubeModel");
    expect_stage(c, "ramp_fit_rateints", *ri);
    Datum cal =
        Step::call("FlatFieldStep", rate, with("override_flat", (f / "ref_flat.fits").string()));
    expect_stage(c, "flat_field", *model(cal));
    EXPECT_EQ(model(cal)->meta_string("meta.cal_step.flat_field"), "COMPLETE");
  }
}

// The whole pipeline end to end through the strun program: rate and rateints files.
TEST(Detector1Vectors, StrunDetector1PipelineWritesRateAndRateints) {
  STPIPE_REQUIRE_SHARED_DATA();
  for (const std::string c : kCases) {
    TempDir tmp;
    const fs::path f = case_dir(c) / "fits";
    std::string cmd =
        (binary_dir() / "bin" / "strun").string() + " Detector1Pipeline " + (f / kUncal).string();
    auto ov = [&](const std::string& step, const std::string& type, const std::string& file) {
      cmd += " --steps." + step + ".override_" + type + "=" + (f / file).string();
    };
    ov("dq_init", "mask", "ref_mask.fits");
    ov("saturation", "saturation", "ref_saturation.fits");
    ov("saturation", "superbias", "ref_superbias.fits");
    ov("ipc", "ipc", "ref_ipc.fits");
    ov("superbias", "superbias", "ref_superbias.fits");
    ov("linearity", "linearity", "ref_linearity.fits");
    ov("dark_current", "dark", "ref_dark.fits");
    ov("jump", "gain", "ref_gain.fits");
    ov("jump", "readnoise", "ref_readnoise.fits");
    ov("ramp_fit", "gain", "ref_gain.fits");
    ov("ramp_fit", "readnoise", "ref_readnoise.fits");
    ov("reset", "reset", "ref_mask.fits");  // not applied to NIRCam: never opened
    cmd += " --steps.saturation.numpy1_promotion=True --steps.ramp_fit.numpy1_readnoise=True";
    cmd += " --save_calibrated_ramp=True --output_dir=" + tmp.path().string();
    auto r = run_command(cmd);
    ASSERT_EQ(r.status, 0) << r.output;
    // Saved once, as it enters ramp_fit (not also while the references were prefetched).
    std::size_t saves = 0;
    for (std::size_t at = r.output.find("Calibrated ramp saved"); at != std::string::npos;
         at = r.output.find("Calibrated ramp saved", at + 1))
      ++saves;
    EXPECT_EQ(saves, 1u) << r.output;
    const std::string root = "jw99999001001_01101_00001_nrca1";
    auto rate = models::open(tmp / (root + "_rate.fits"));
    auto ints = models::open(tmp / (root + "_rateints.fits"));
    auto ramp = models::open(tmp / (root + "_ramp.fits"));
    EXPECT_EQ(rate->model_type(), "ImageModel");
    EXPECT_EQ(ints->model_type(), "CubeModel");
    expect_stage(c, "ramp_fit_rate", *rate);
    expect_stage(c, "ramp_fit_rateints", *ints);
    expect_stage(c, "jump", *ramp);
    EXPECT_EQ(rate->meta_string("meta.cal_step.superbias"), "COMPLETE");
    EXPECT_EQ(rate->meta_string("meta.cal_step.reset"), "SKIPPED");
    EXPECT_EQ(rate->meta_string("meta.cal_step.lastframe"), "SKIPPED");
    EXPECT_EQ(rate->meta_string("meta.cal_step.ramp_fit"), "COMPLETE");
    EXPECT_EQ(ints->meta_string("meta.cal_step.ramp_fit"), "COMPLETE");
    // Image2 on the rate file through strun: the flat_field stage, suffix "cal".
    auto r2 = run_command((binary_dir() / "bin" / "strun").string() + " Image2Pipeline " +
                          (tmp / (root + "_rate.fits")).string() +
                          " --steps.flat_field.override_flat=" + (f / "ref_flat.fits").string() +
                          " --output_dir=" + tmp.path().string());
    ASSERT_EQ(r2.status, 0) << r2.output;
    auto cal = models::open(tmp / (root + "_cal.fits"));
    expect_stage(c, "flat_field", *cal);
    EXPECT_EQ(cal->meta_string("meta.cal_step.flat_field"), "COMPLETE");
  }
}

// --end-step jump stops with the ramp saved; --resume finishes with rate and rateints.
TEST(Detector1Vectors, EndStepAndResume) {
  STPIPE_REQUIRE_SHARED_DATA();
  const std::string c = kCases[0];
  TempDir tmp;
  const fs::path f = case_dir(c) / "fits";
  std::string ovs;
  auto ov = [&](const std::string& step, const std::string& type, const std::string& file) {
    ovs += " --steps." + step + ".override_" + type + "=" + (f / file).string();
  };
  ov("dq_init", "mask", "ref_mask.fits");
  ov("saturation", "saturation", "ref_saturation.fits");
  ov("saturation", "superbias", "ref_superbias.fits");
  ov("ipc", "ipc", "ref_ipc.fits");
  ov("superbias", "superbias", "ref_superbias.fits");
  ov("linearity", "linearity", "ref_linearity.fits");
  ov("dark_current", "dark", "ref_dark.fits");
  ov("jump", "gain", "ref_gain.fits");
  ov("jump", "readnoise", "ref_readnoise.fits");
  ov("ramp_fit", "gain", "ref_gain.fits");
  ov("ramp_fit", "readnoise", "ref_readnoise.fits");
  ovs += " --steps.saturation.numpy1_promotion=True --steps.ramp_fit.numpy1_readnoise=True";
  const std::string strun = (binary_dir() / "bin" / "strun").string();
  auto r = run_command(strun + " Detector1Pipeline " + (f / kUncal).string() + ovs +
                       " --end-step=jump --output_dir=" + tmp.path().string());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string root = "jw99999001001_01101_00001_nrca1";
  auto jump = models::open(tmp / (root + "_jump.fits"));
  expect_stage(c, "jump", *jump);
  EXPECT_FALSE(fs::exists(tmp / (root + "_rate.fits")));
  auto r2 = run_command(strun + " --resume " + (tmp / (root + "_jump.state.json")).string() +
                        " --output_dir=" + tmp.path().string());
  ASSERT_EQ(r2.status, 0) << r2.output;
  expect_stage(c, "ramp_fit_rate", *models::open(tmp / (root + "_rate.fits")));
  expect_stage(c, "ramp_fit_rateints", *models::open(tmp / (root + "_rateints.fits")));
}

// A run that fails before ramp_fit (here dq_init's mask does not exist) leaves no calibrated
// ramp behind: the ramp is saved as it enters ramp_fit, not while references are prefetched.
TEST(Detector1Vectors, FailedRunWritesNoCalibratedRamp) {
  STPIPE_REQUIRE_SHARED_DATA();
  const std::string c = kCases[0];
  TempDir tmp;
  const fs::path f = case_dir(c) / "fits";
  const std::string strun = (binary_dir() / "bin" / "strun").string();
  const fs::path missing = tmp / "no_such_mask.fits";
  auto r = run_command(strun + " Detector1Pipeline " + (f / kUncal).string() +
                       " --steps.dq_init.override_mask=" + missing.string() +
                       " --save_calibrated_ramp=True --output_dir=" + tmp.path().string());
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("no_such_mask.fits"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Calibrated ramp saved"), std::string::npos) << r.output;
  const std::string root = "jw99999001001_01101_00001_nrca1";
  EXPECT_FALSE(fs::exists(tmp / (root + "_ramp.fits")));
  EXPECT_FALSE(fs::exists(tmp / (root + "_rate.fits")));
}

namespace {

// Saves a reference model of `type` with one array (`name`) of shape/value to dir/file.
std::string save_ref(const fs::path& dir, const std::string& file, const std::string& type,
                     const std::string& name, DType dt, std::vector<std::int64_t> shape,
                     double value) {
  auto m = models::create_model(type, true);
  m->set_array(name, Array::full(dt, shape, value));
  const fs::path p = dir / file;
  m->save(p);
  return p.string();
}

// A small in-memory ramp (instrument/detector given) with data = 10*(g+1) per group.
std::shared_ptr<models::DataModel> small_ramp(const std::string& inst, const std::string& det,
                                              std::int64_t ngroups) {
  auto m = models::create_model("RampModel");
  m->set_meta("meta.instrument.name", inst);
  m->set_meta("meta.instrument.detector", det);
  m->set_meta("meta.exposure.ngroups", ngroups);
  m->set_meta("meta.exposure.nints", 1);
  m->set_meta("meta.exposure.nframes", 1);
  m->set_meta("meta.exposure.groupgap", 0);
  m->set_meta("meta.exposure.group_time", 2.0);
  m->set_meta("meta.exposure.frame_time", 2.0);
  auto d = Array::allocate(DType::kFloat32, {1, ngroups, 8, 8});
  for (std::int64_t g = 0; g < ngroups; ++g)
    for (int k = 0; k < 64; ++k) d.data<float>()[g * 64 + k] = 10.0f * (g + 1);
  m->set_array("data", d);
  m->set_array("groupdq", Array::allocate(DType::kUint8, {1, ngroups, 8, 8}));
  m->set_array("pixeldq", Array::allocate(DType::kUint32, {8, 8}));
  return m;
}

}  // namespace

// A MIRI exposure: superbias SKIPPED, reset subtracted, last group DO_NOT_USE.
TEST(Detector1Pipeline, MiriSkipsSuperbiasRunsResetAndLastframe) {
  TempDir tmp;
  auto ramp = small_ramp("MIRI", "MIRIMAGE", 5);
  CallOptions o;
  auto& s = o.overrides["steps"];
  s["dq_init"]["override_mask"] =
      save_ref(tmp.path(), "mask.fits", "MaskModel", "dq", DType::kUint32, {8, 8}, 0);
  s["saturation"]["override_saturation"] = "N/A";
  s["saturation"]["override_superbias"] = "N/A";
  s["ipc"]["override_ipc"] = "N/A";
  s["superbias"]["override_superbias"] = "N/A";
  s["reset"]["override_reset"] =
      save_ref(tmp.path(), "reset.fits", "ResetModel", "data", DType::kFloat32, {1, 5, 8, 8}, 1.5);
  s["linearity"]["override_linearity"] = "N/A";
  s["dark_current"]["override_dark"] = "N/A";
  const std::string gain =
      save_ref(tmp.path(), "gain.fits", "GainModel", "data", DType::kFloat32, {8, 8}, 2.0);
  const std::string rn =
      save_ref(tmp.path(), "rn.fits", "ReadnoiseModel", "data", DType::kFloat32, {8, 8}, 5.0);
  for (const char* st : {"jump", "ramp_fit"}) {
    s[st]["override_gain"] = gain;
    s[st]["override_readnoise"] = rn;
  }
  Datum rate = Step::call("Detector1Pipeline", std::make_shared<ModelProduct>(ramp), o);
  auto m = model_of(rate);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->meta_string("meta.cal_step.superbias"), "SKIPPED");
  EXPECT_EQ(m->meta_string("meta.cal_step.reset"), "COMPLETE");
  EXPECT_EQ(m->meta_string("meta.cal_step.lastframe"), "COMPLETE");
  EXPECT_EQ(m->meta_string("meta.cal_step.saturation"), "SKIPPED");
  // The ramp was calibrated in place: reset subtracted, last group DNU.
  EXPECT_FLOAT_EQ(ramp->data<float>("data")[0], 10.0f - 1.5f);
  EXPECT_EQ(ramp->data<std::uint8_t>("groupdq")[4 * 64] & dq::kDoNotUse, dq::kDoNotUse);
  EXPECT_EQ(ramp->data<std::uint8_t>("groupdq")[3 * 64] & dq::kDoNotUse, 0);
  // Slope of 10 DN per 2 s group over groups 0..3 (reset is constant).
  EXPECT_NEAR(m->data<float>("data")[0], 5.0f, 1e-4);
}

// A NIR exposure: reset and lastframe SKIPPED by the instrument branch; a single-group ramp fits.
TEST(Detector1Pipeline, SingleGroupRampAndNirBranches) {
  TempDir tmp;
  auto ramp = small_ramp("NIRCAM", "NRCA1", 1);
  CallOptions o;
  auto& s = o.overrides["steps"];
  for (const char* st : {"dq_init", "saturation", "ipc", "superbias", "linearity", "dark_current"})
    s[st]["skip"] = true;
  const std::string gain =
      save_ref(tmp.path(), "gain.fits", "GainModel", "data", DType::kFloat32, {8, 8}, 2.0);
  const std::string rn =
      save_ref(tmp.path(), "rn.fits", "ReadnoiseModel", "data", DType::kFloat32, {8, 8}, 5.0);
  for (const char* st : {"jump", "ramp_fit"}) {
    s[st]["override_gain"] = gain;
    s[st]["override_readnoise"] = rn;
  }
  Datum rate = Step::call("Detector1Pipeline", std::make_shared<ModelProduct>(ramp), o);
  auto m = model_of(rate);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->meta_string("meta.cal_step.reset"), "SKIPPED");
  EXPECT_EQ(m->meta_string("meta.cal_step.lastframe"), "SKIPPED");
  EXPECT_EQ(m->meta_string("meta.cal_step.dq_init"), "SKIPPED");
  EXPECT_EQ(m->meta_string("meta.cal_step.jump"), "SKIPPED");  // NGROUPS <= 2, as jwst
  EXPECT_EQ(m->meta_string("meta.cal_step.ramp_fit"), "COMPLETE");
  EXPECT_EQ(m->array("data").shape(), (std::vector<std::int64_t>{8, 8}));
  // One group: stcal's slope is the group value over the group time (10 DN / 2 s).
  EXPECT_NEAR(m->data<float>("data")[0], 5.0f, 1e-4);
}

// With saving on, rateints is written on another thread while the rate file is written: both
// files hold the products in memory, the saves are reported in a sequential run's order, and a
// rateints save that fails makes the run fail, naming it, with the rate file still written.
TEST(Detector1Pipeline, RateintsSavedBesideRateAndFailuresReported) {
  auto run = [](const fs::path& dir) {
    auto ramp = small_ramp("NIRCAM", "NRCA1", 5);
    ramp->set_meta("meta.filename", "t_uncal.fits");
    CallOptions o;
    o.overrides["save_results"] = true;
    o.overrides["output_dir"] = dir.string();
    auto& s = o.overrides["steps"];
    for (const char* st :
         {"dq_init", "saturation", "ipc", "superbias", "linearity", "dark_current", "jump"})
      s[st]["skip"] = true;
    s["ramp_fit"]["override_gain"] =
        save_ref(dir, "gain.fits", "GainModel", "data", DType::kFloat32, {8, 8}, 2.0);
    s["ramp_fit"]["override_readnoise"] =
        save_ref(dir, "rn.fits", "ReadnoiseModel", "data", DType::kFloat32, {8, 8}, 5.0);
    return Step::call("Detector1Pipeline", std::make_shared<ModelProduct>(ramp), o);
  };
  TempDir tmp;
  std::string text;  // the records, appended under the log sink's lock
  log::LogConfig quiet;
  quiet.handlers = {"null"};
  log::configure(quiet);
  log::set_record_callback([&text](const std::string&, spdlog::level::level_enum,
                                   const std::string& msg) { text += msg + "\n"; },
                           true);
  struct Restore {
    ~Restore() {
      log::set_record_callback(nullptr, false);
      log::configure(log::LogConfig{});
    }
  } restore;
  run(tmp.path());
  auto rate_file = models::open(tmp / "t_rate.fits");
  auto ints_file = models::open(tmp / "t_rateints.fits");
  EXPECT_EQ(ints_file->model_type(), "CubeModel");
  ASSERT_EQ(ints_file->array("data").shape(), (std::vector<std::int64_t>{1, 8, 8}));
  for (int k = 0; k < 64; ++k) {  // 10 DN per 2 s group
    EXPECT_NEAR(rate_file->data<float>("data")[k], 5.0f, 1e-4);
    EXPECT_NEAR(ints_file->data<float>("data")[k], 5.0f, 1e-4);
  }
  // As a sequential run logs them: rateints first (strun's batch summary takes the last saved
  // file as the product).
  const auto saved_ints =
      text.find("Saved model in " + (tmp / "t_rateints.fits").string() +
                "\nPer-integration rates saved in " + (tmp / "t_rateints.fits").string() + "\n");
  const auto saved_rate = text.find("Saved model in " + (tmp / "t_rate.fits").string());
  ASSERT_NE(saved_rate, std::string::npos) << text;
  ASSERT_NE(saved_ints, std::string::npos) << text;
  EXPECT_LT(saved_ints, saved_rate);
  EXPECT_LT(saved_rate, text.find("Step Detector1Pipeline done"));

  // A directory where the rateints file should go: the rename fails.
  TempDir bad;
  fs::create_directory(bad / "t_rateints.fits");
  fs::create_directory(bad / "t_rateints.fits" / "keep");
  try {
    run(bad.path());
    FAIL() << "the failed rateints save was not reported";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("t_rateints.fits"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(bad / "t_rateints.fits" / "keep"));
  EXPECT_EQ(models::open(bad / "t_rate.fits")->model_type(), "ImageModel");
}

// A mask reference of the wrong shape: ReferenceFileError naming the file.
TEST(Detector1Steps, WrongShapeReferenceNamesTheFile) {
  TempDir tmp;
  auto ramp = small_ramp("NIRCAM", "NRCA1", 3);
  const std::string mask =
      save_ref(tmp.path(), "small_mask.fits", "MaskModel", "dq", DType::kUint32, {4, 4}, 0);
  try {
    Step::call("DQInitStep", std::make_shared<ModelProduct>(ramp), with("override_mask", mask));
    FAIL() << "expected ReferenceFileError";
  } catch (const ReferenceFileError& e) {
    EXPECT_NE(std::string(e.what()).find("small_mask.fits"), std::string::npos) << e.what();
  }
}

// override_<reftype>=N/A records SKIPPED and leaves the data alone.
TEST(Detector1Steps, NotApplicableOverrideRecordsSkipped) {
  auto ramp = small_ramp("NIRCAM", "NRCA1", 3);
  Datum r = Step::call("SuperBiasStep", std::make_shared<ModelProduct>(ramp),
                       with("override_superbias", "N/A"));
  EXPECT_EQ(model_of(r)->meta_string("meta.cal_step.superbias"), "SKIPPED");
  EXPECT_EQ(model_of(r)->data<float>("data")[0], 10.0f);
}

// The real FGS ACQ1 exposure through GuiderPipeline (synthetic mask, flat N/A).
TEST(GuiderPipeline, RealAcq1ExposureEndToEnd) {
  STPIPE_REQUIRE_SHARED_DATA();
  const fs::path raw = shared_data("jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits");
  TempDir tmp;
  auto mask = models::create_model("MaskModel", true);
  auto dqa = Array::allocate(DType::kUint32, {128, 128});
  dqa.data<std::uint32_t>()[5] = dq::kDoNotUse;
  mask->set_array("dq", dqa);
  mask->set_meta("meta.subarray.xstart", 887);
  mask->set_meta("meta.subarray.ystart", 1022);
  mask->set_meta("meta.subarray.xsize", 128);
  mask->set_meta("meta.subarray.ysize", 128);
  mask->save(tmp / "fgs_mask.fits");
  CallOptions o;
  o.overrides["steps"]["dq_init"]["override_mask"] = (tmp / "fgs_mask.fits").string();
  o.overrides["steps"]["flat_field"]["override_flat"] = "N/A";
  Datum r = Step::call("GuiderPipeline", raw.string(), o);
  auto m = model_of(r);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->model_type(), "CubeModel");
  ASSERT_EQ(m->array("data").shape(), (std::vector<std::int64_t>{6, 128, 128}));
  EXPECT_EQ(m->meta_string("meta.cal_step.guider_cds"), "COMPLETE");
  EXPECT_EQ(m->meta_string("meta.cal_step.flat_field"), "SKIPPED");
  EXPECT_EQ(m->data<std::uint32_t>("dq")[5] & dq::kDoNotUse, dq::kDoNotUse);
  auto in = models::open(raw);
  auto a = in->array("data").cast(DType::kFloat32);
  const float* d = a.data<float>();
  const std::int64_t npix = 128 * 128;
  // jwst's ERR, float32: sqrt(2 (rn / t)^2 + max(0, diff / (gain t))), here with the default
  // gain and read noise (no GAIN or READNOISE reference can be had without CRDS).
  auto err_of = [](float diff, float gain, float rn) {
    const float t = 0.364f, q = rn / t;
    const float vp = diff / (gain * t);
    return std::sqrt(2.0f * (q * q) + (vp < 0.0f ? 0.0f : vp));
  };
  std::int64_t positive = 0;
  for (std::int64_t i : {0, 5})
    for (std::int64_t k : {0, 777, 8200, 16383}) {
      const float diff = d[(i * 2 + 1) * npix + k] - d[i * 2 * npix + k];
      EXPECT_FLOAT_EQ(m->data<float>("data")[i * npix + k], diff / 0.364f) << i << " " << k;
      EXPECT_EQ(m->data<float>("err")[i * npix + k], err_of(diff, stpipe::steps::kGuiderDefaultGain,
                                                            stpipe::steps::kGuiderDefaultReadnoise))
          << i << " " << k;
      positive += diff > 0;
    }
  EXPECT_GT(positive, 0);
  // With GAIN and READNOISE references (of the same subarray): their values.
  auto fgs_ref = [&](const char* file, const char* type, double value) {
    auto r = models::create_model(type, true);
    r->set_array("data", Array::full(DType::kFloat32, {128, 128}, value));
    r->set_meta("meta.subarray.xstart", 887);
    r->set_meta("meta.subarray.ystart", 1022);
    r->save(tmp / file);
    return (tmp / file).string();
  };
  o.overrides["steps"]["guider_cds"]["override_gain"] = fgs_ref("fgs_gain.fits", "GainModel", 2.5);
  o.overrides["steps"]["guider_cds"]["override_readnoise"] =
      fgs_ref("fgs_rn.fits", "ReadnoiseModel", 4.0);
  auto m2 = model_of(Step::call("GuiderPipeline", raw.string(), o));
  for (std::int64_t k : {0, 777, 8200, 16383}) {
    const float diff = d[npix + k] - d[k];
    EXPECT_EQ(m2->data<float>("err")[k], err_of(diff, 2.5f, 4.0f)) << k;
  }
}

// LinearityStep streams the coefficients of a FITS reference in bands of rows, cut to the
// science subarray: the result equals the kernel on the whole cut cube, bit for bit, and equals
// the whole-file read of the same reference as .asdf. A reference that does not cover the
// subarray names the file.
TEST(Detector1Steps, LinearityBandsEqualTheWholeCutReference) {
  TempDir tmp;
  const std::int64_t ny = 300, nx = 40, G = 3, rny = 340, rnx = 64, ys = 21, xs = 11, nc = 4;
  auto ramp = models::create_model("RampModel");
  ramp->set_meta("meta.instrument.name", "NIRCAM");
  ramp->set_meta("meta.instrument.detector", "NRCA1");
  ramp->set_meta("meta.exposure.ngroups", G);
  ramp->set_meta("meta.exposure.nints", 1);
  ramp->set_meta("meta.exposure.nframes", 1);
  ramp->set_meta("meta.subarray.xstart", xs);
  ramp->set_meta("meta.subarray.ystart", ys);
  ramp->set_meta("meta.subarray.xsize", nx);
  ramp->set_meta("meta.subarray.ysize", ny);
  auto d = Array::allocate(DType::kFloat32, {1, G, ny, nx});
  auto q = Array::allocate(DType::kUint8, {1, G, ny, nx});
  for (std::int64_t k = 0; k < G * ny * nx; ++k) {
    d.data<float>()[k] = 100.0f + static_cast<float>(k % 977) * 3.25f;
    if (k % 101 == 0) q.data<std::uint8_t>()[k] = dq::kSaturated;
  }
  ramp->set_array("data", d);
  ramp->set_array("groupdq", q);
  ramp->set_array("pixeldq", Array::allocate(DType::kUint32, {ny, nx}));
  // A reference window starting at (1, 1), larger than the science subarray.
  auto lin = models::create_model("LinearityModel", true);
  auto c = Array::allocate(DType::kFloat32, {nc, rny, rnx});
  auto ldq = Array::allocate(DType::kUint32, {rny, rnx});
  for (std::int64_t j = 0; j < nc; ++j)
    for (std::int64_t p = 0; p < rny * rnx; ++p)
      c.data<float>()[j * rny * rnx + p] = j == 1 ? 1.0f + 1e-4f * static_cast<float>(p % 13)
                                                  : 1e-6f * static_cast<float>(p % 7 + j);
  c.data<float>()[2 * rny * rnx + (ys + 5) * rnx + xs + 3] = std::nanf("");  // -> NO_LIN_CORR
  ldq.data<std::uint32_t>()[(ys + 200) * rnx + xs + 7] = dq::kNoLinCorr;
  lin->set_array("coeffs", c);
  lin->set_array("dq", ldq);
  lin->set_meta("meta.subarray.xstart", 1);
  lin->set_meta("meta.subarray.ystart", 1);
  lin->save(tmp / "lin.fits");
  lin->save(tmp / "lin.asdf");

  // Expected: the kernel on the reference cut to the science window.
  std::vector<float> cc(nc * ny * nx);
  std::vector<std::uint32_t> cdq(ny * nx);
  for (std::int64_t y = 0; y < ny; ++y)
    for (std::int64_t x = 0; x < nx; ++x) {
      for (std::int64_t j = 0; j < nc; ++j)
        cc[(j * ny + y) * nx + x] = c.data<float>()[(j * rny + ys - 1 + y) * rnx + xs - 1 + x];
      cdq[y * nx + x] = ldq.data<std::uint32_t>()[(ys - 1 + y) * rnx + xs - 1 + x];
    }
  std::vector<float> want(d.data<float>(), d.data<float>() + G * ny * nx);
  std::vector<std::uint32_t> want_pdq(ny * nx, 0);
  steps::correct_linearity({1, G, ny, nx}, want, {q.data<std::uint8_t>(), q.size()}, want_pdq, cc,
                           nc, cdq);

  for (const char* f : {"lin.fits", "lin.asdf"}) {
    SCOPED_TRACE(f);
    auto in = models::create_model("RampModel");
    *in = *ramp;
    in->set_array("data", ramp->array("data").copy());
    in->set_array("pixeldq", ramp->array("pixeldq").copy());
    Datum r = Step::call("LinearityStep", std::make_shared<ModelProduct>(in),
                         with("override_linearity", (tmp / f).string()));
    auto m = model(r);
    EXPECT_EQ(std::memcmp(m->data<float>("data"), want.data(), want.size() * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(m->data<std::uint32_t>("pixeldq"), want_pdq.data(),
                          want_pdq.size() * sizeof(std::uint32_t)),
              0);
    // The NaN coefficient at reference (ys + 5, xs + 3) is science (6, 4); the flagged one
    // at (ys + 200, xs + 7) is (201, 8).
    EXPECT_EQ(m->data<std::uint32_t>("pixeldq")[6 * nx + 4] & dq::kNoLinCorr, dq::kNoLinCorr);
    EXPECT_EQ(m->data<std::uint32_t>("pixeldq")[201 * nx + 8] & dq::kNoLinCorr, dq::kNoLinCorr);
    EXPECT_EQ(m->meta_string("meta.cal_step.linearity"), "COMPLETE");
  }

  // A science window reaching past the reference: the error names the file.
  ramp->set_meta("meta.subarray.ystart", 60);
  try {
    Step::call("LinearityStep", std::make_shared<ModelProduct>(ramp),
               with("override_linearity", (tmp / "lin.fits").string()));
    FAIL() << "expected ReferenceFileError";
  } catch (const ReferenceFileError& e) {
    EXPECT_NE(std::string(e.what()).find("lin.fits"), std::string::npos) << e.what();
  }
}
