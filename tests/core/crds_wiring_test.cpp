// Reference files for steps through the CRDS client: lookup, N/A, missing files, recording,
// prefetch.
#include "stpipe/core/crds_wiring.h"

#include <cstdlib>
#include <fstream>

#include "core_test_util.h"
#include "stpipe/util/atomic_file.h"

using namespace stpipe;
using namespace stpipe::testing;
namespace fs = std::filesystem;

namespace {

/// Reads its gain and barshadow references (barshadow is N/A for NIRCam in jwst_0541).
class GainUserStep : public Step {
 public:
  explicit GainUserStep(std::vector<std::string> types = {"gain"}) : types_(std::move(types)) {}
  std::string class_name() const override { return "GainUserStep"; }
  std::vector<std::string> reference_file_types() const override { return types_; }
  std::string cal_step_key() const override { return "gain_user"; }
  Datum process(const Datum& input) override {
    auto p = std::dynamic_pointer_cast<JsonProduct>(open_model(input));
    p->doc()["seen"] = read_text_file(reference_path("gain"));
    return p;
  }
  std::vector<std::string> types_;
};

class BarshadowStep : public GainUserStep {
 public:
  BarshadowStep() : GainUserStep({"barshadow"}) {}
  std::string class_name() const override { return "BarshadowStep"; }
  std::string cal_step_key() const override { return "barshadow"; }
};

class RefPipeline : public Pipeline {
 public:
  std::string class_name() const override { return "RefPipeline"; }
  std::vector<std::pair<std::string, std::string>> step_defs() const override {
    return {{"gain_user", "GainUserStep"}, {"bar", "BarshadowStep"}};
  }
};

/// A private offline cache: the real jwst_0541 mappings plus one fake gain file.
struct Cache {
  TempDir dir;
  Cache() {
    fs::path shared = shared_data("crds/cache");
    fs::copy(shared / "mappings", dir / "mappings", fs::copy_options::recursive);
    fs::copy(shared / "config", dir / "config", fs::copy_options::recursive);
    fs::create_directories(dir / "references" / "jwst" / "nircam");
    std::ofstream(dir / "references" / "jwst" / "nircam" / "jwst_nircam_gain_0050.fits")
        << "GAIN-0050";
    ::setenv("CRDS_PATH", dir.path().c_str(), 1);
    ::unsetenv("CRDS_SERVER_URL");
    ::unsetenv("CRDS_CONTEXT");
  }
};

std::shared_ptr<JsonProduct> nircam_exposure() {
  auto p = std::make_shared<JsonProduct>();
  auto& m = p->doc()["meta"];
  m["instrument"] = {{"name", "NIRCAM"},
                     {"detector", "NRCA1"},
                     {"filter", "F115W"},
                     {"pupil", "CLEAR"},
                     {"channel", "SHORT"}};
  m["exposure"] = {{"type", "NRC_IMAGE"}, {"readpatt", "RAPID"}};
  m["subarray"] = {{"name", "FULL"}};
  m["observation"] = {{"date", "2016-01-01"}, {"time", "00:00:00"}};
  p->data() = {1.0};
  return p;
}

StepRegistry& registry() {
  static StepRegistry* r = [] {
    auto* reg = new StepRegistry();
    register_builtin_steps(*reg);
    reg->add<GainUserStep>();
    reg->add<BarshadowStep>();
    reg->add<RefPipeline>();
    return reg;
  }();
  return *r;
}

}  // namespace

TEST(CrdsWiring, StepGetsBestReferenceAndRecordsIt) {
  STPIPE_REQUIRE_SHARED_DATA();
  Cache cache;
  install_crds();
  auto p = nircam_exposure();
  auto r = Step::call("GainUserStep", Datum(p), {}, registry());
  EXPECT_EQ(p->doc()["seen"], "GAIN-0050");
  EXPECT_EQ(p->doc()["meta"]["ref_file"]["gain"]["name"], "crds://jwst_nircam_gain_0050.fits");
  EXPECT_EQ(p->doc()["meta"]["ref_file"]["crds"]["context_used"], "jwst_0541.pmap");
  EXPECT_EQ(p->cal_step("gain_user"), "COMPLETE");
}

TEST(CrdsWiring, OverrideWinsAndIsRecordedAsAbsolutePath) {
  STPIPE_REQUIRE_SHARED_DATA();
  Cache cache;
  install_crds();
  std::ofstream(cache.dir / "mygain.fits") << "MINE";
  CallOptions o;
  o.overrides["override_gain"] = (cache.dir / "mygain.fits").string();
  auto p = nircam_exposure();
  Step::call("GainUserStep", Datum(p), o, registry());
  EXPECT_EQ(p->doc()["seen"], "MINE");
  EXPECT_EQ(p->doc()["meta"]["ref_file"]["gain"]["name"], (cache.dir / "mygain.fits").string());
}

TEST(CrdsWiring, NotApplicableSkipsAndRecordsSkipped) {
  STPIPE_REQUIRE_SHARED_DATA();
  Cache cache;
  install_crds();
  LogCapture logs;
  auto p = nircam_exposure();
  Step::call("RefPipeline", Datum(p), {}, registry());
  EXPECT_EQ(p->cal_step("gain_user"), "COMPLETE");
  EXPECT_EQ(p->cal_step("barshadow"), "SKIPPED");
  EXPECT_EQ(p->doc()["meta"]["ref_file"]["barshadow"]["name"], "N/A");
  EXPECT_TRUE(logs.contains(
      "Prefetching reference files for dataset: <JsonProduct> reftypes = ['gain', 'barshadow']"));
  EXPECT_TRUE(logs.contains("Prefetch for gain reference file is '"));
  EXPECT_TRUE(logs.contains("Prefetch for barshadow reference file is 'N/A'."));
}

TEST(CrdsWiring, MissingReferenceOfflineNamesFile) {
  STPIPE_REQUIRE_SHARED_DATA();
  Cache cache;
  install_crds();
  fs::remove(cache.dir / "references" / "jwst" / "nircam" / "jwst_nircam_gain_0050.fits");
  auto p = nircam_exposure();
  try {
    Step::call("GainUserStep", Datum(p), {}, registry());
    FAIL() << "expected ReferenceFileError";
  } catch (const ReferenceFileError& e) {
    EXPECT_NE(std::string(e.what()).find("jwst_nircam_gain_0050.fits"), std::string::npos)
        << e.what();
    EXPECT_EQ(e.exit_code(), ExitCode::kReferenceError);
  }
}
