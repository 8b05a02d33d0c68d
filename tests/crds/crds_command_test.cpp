// `stpipe crds bestrefs` run in-process against the shared offline cache and test mappings.
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "stpipe/crds/command.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
using stpipe::testing::TempDir;

namespace {

struct CmdResult {
  int code;
  std::string out, err;
};

// Runs the command with CRDS_PATH at the shared cache and no server.
CmdResult run(const std::vector<std::string>& args) {
  setenv("CRDS_PATH", stpipe::testing::shared_data("crds/cache").c_str(), 1);
  unsetenv("CRDS_SERVER_URL");
  unsetenv("CRDS_CONTEXT");
  std::ostringstream out, err;
  int code = stpipe::crds::run_crds_command(args, out, err);
  return {code, out.str(), err.str()};
}

fs::path write_header(const TempDir& dir, const json& header, const std::string& name = "h.json") {
  fs::path p = dir / name;
  std::ofstream(p) << header.dump();
  return p;
}

const json kNircam = {
    {"META.INSTRUMENT.NAME", "NIRCAM"},      {"META.INSTRUMENT.DETECTOR", "NRCA1"},
    {"META.OBSERVATION.DATE", "2016-01-01"}, {"META.OBSERVATION.TIME", "00:00:00"},
    {"META.EXPOSURE.TYPE", "NRC_IMAGE"},     {"META.EXPOSURE.READPATT", "RAPID"},
    {"META.SUBARRAY.NAME", "FULL"}};

TEST(CrdsCommand, BestrefsPrintsJsonWithNa) {
  STPIPE_REQUIRE_SHARED_DATA();
  TempDir d;
  CmdResult r =
      run({"bestrefs", write_header(d, kNircam).string(), "--types", "dark,superbias,barshadow"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json({{"dark", "jwst_nircam_dark_0040.fits"},
                                      {"superbias", "jwst_nircam_superbias_0026.fits"},
                                      {"barshadow", "N/A"}}));
}

TEST(CrdsCommand, HeaderOptionNestedJsonAndFitsKeywords) {
  STPIPE_REQUIRE_SHARED_DATA();
  TempDir d;
  json nested = {{"meta",
                  {{"instrument", {{"name", "nircam"}, {"detector", "nrca1"}}},
                   {"observation", {{"date", "2016-01-01"}, {"time", "00:00:00"}}},
                   {"exposure", {{"type", "NRC_IMAGE"}, {"readpatt", "RAPID"}}},
                   {"subarray", {{"name", "FULL"}}}}}};
  CmdResult r = run({"bestrefs", "--header", write_header(d, nested).string(), "--types", "gain"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json({{"gain", "jwst_nircam_gain_0050.fits"}}));
  json fits = {{"INSTRUME", "NIRCAM"},  {"DETECTOR", "NRCA1"}, {"EXP_TYPE", "NRC_IMAGE"},
               {"READPATT", "RAPID"},   {"SUBARRAY", "FULL"},  {"DATE-OBS", "2016-01-01"},
               {"TIME-OBS", "00:00:00"}};
  r = run({"bestrefs", "--header", write_header(d, fits, "f.json").string(), "--types", "gain"});
  EXPECT_EQ(json::parse(r.out), json({{"gain", "jwst_nircam_gain_0050.fits"}}));
}

TEST(CrdsCommand, LookupFailureIsNotFoundAndExitFour) {
  STPIPE_REQUIRE_SHARED_DATA();
  TempDir d;
  json early = kNircam;
  early["META.OBSERVATION.DATE"] = "2012-01-01";
  CmdResult r = run({"bestrefs", write_header(d, early).string(), "--types", "ipc,dark"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(json::parse(r.out),
            json({{"ipc", "NOT FOUND No match found."}, {"dark", "jwst_nircam_dark_0040.fits"}}));
}

TEST(CrdsCommand, ExplainNamesRmapRuleAndFallback) {
  STPIPE_REQUIRE_SHARED_DATA();
  TempDir d;
  json h = kNircam;
  h["META.OBSERVATION.DATE"] = "2014-06-01";
  CmdResult r =
      run({"bestrefs", write_header(d, h).string(), "--types", "readnoise,barshadow", "--explain"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["readnoise"], "jwst_nircam_readnoise_0010.fits");
  EXPECT_NE(r.err.find("jwst_nircam_readnoise_0005.rmap"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("('NRCA1', 'ANY', 'GENERIC')"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No selection <= '2014-06-01 00:00:00'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("barshadow"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("N/A for NIRCAM"), std::string::npos) << r.err;
}

TEST(CrdsCommand, ContextMayBeAPmapPathImapOrRmap) {
  STPIPE_REQUIRE_SHARED_DATA();
  TempDir d;
  auto tm = stpipe::testing::shared_data("crds/test_mappings");
  json niriss = {{"META.INSTRUMENT.NAME", "NIRISS"},
                 {"META.INSTRUMENT.DETECTOR", "NIS"},
                 {"META.INSTRUMENT.FILTER", "BOGUS2"}};
  CmdResult r = run({"bestrefs", write_header(d, niriss).string(), "--context",
                     (tm / "jwst_na_omit.pmap").string(), "--types", "flat"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json({{"flat", "N/A"}}));
  niriss["META.INSTRUMENT.FILTER"] = "BOGUS1";  // OMIT: the type is left out
  r = run({"bestrefs", write_header(d, niriss).string(), "--context",
           (tm / "jwst_niriss_na_omit.imap").string(), "--types", "flat"});
  EXPECT_EQ(json::parse(r.out), json::object());
  // An imap from the cache by name.
  r = run({"bestrefs", write_header(d, kNircam).string(), "--context", "jwst_nircam_0120.imap",
           "--types", "dark"});
  EXPECT_EQ(json::parse(r.out), json({{"dark", "jwst_nircam_dark_0040.fits"}}));
  // A single rmap: keyed by its filekind; Bracket gives a list in mapping order.
  auto tobs = stpipe::testing::shared_data("crds/cache/mappings/tobs/tobs_tinstr_tfilekind.rmap");
  r = run({"bestrefs", write_header(d, {{"TEST_CASE", "BRACKET"}, {"PARAMETER", "1.25"}}).string(),
           "--context", tobs.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out),
            json({{"tfilekind", {"cref_flatfield_120.fits", "cref_flatfield_124.fits"}}}));
}

TEST(CrdsCommand, StaleChecksumFailsUnlessNoChecksum) {
  STPIPE_REQUIRE_SHARED_DATA();
  TempDir d;
  auto rmap = stpipe::testing::shared_data("crds/test_mappings/jwst_miri_ipc_0002.rmap");
  json miri = {{"META.INSTRUMENT.NAME", "MIRI"},
               {"META.INSTRUMENT.DETECTOR", "MIRIFUSHORT"},
               {"META.INSTRUMENT.BAND", "MEDIUM"},
               {"META.OBSERVATION.DATE", "2016-01-01"},
               {"META.OBSERVATION.TIME", "00:00:00"}};
  CmdResult r = run({"bestrefs", write_header(d, miri).string(), "--context", rmap.string()});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("sha1sum mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("jwst_miri_ipc_0002.rmap"), std::string::npos) << r.err;
  r = run(
      {"bestrefs", write_header(d, miri).string(), "--context", rmap.string(), "--no-checksum"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json({{"ipc", "jwst_miri_ipc_0005.fits"}}));
}

TEST(CrdsCommand, UsageErrors) {
  STPIPE_REQUIRE_SHARED_DATA();
  CmdResult r = run({"bestrefs", "dataset_uncal.fits"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("strun"), std::string::npos) << r.err;
  r = run({"bestrefs"});
  EXPECT_EQ(r.code, 2);
  r = run({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  r = run({"bestrefs", "/nonexistent/h.json"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("/nonexistent/h.json"), std::string::npos) << r.err;
}

TEST(CrdsCommand, UnknownInstrumentFailsTheWholeCall) {
  STPIPE_REQUIRE_SHARED_DATA();
  TempDir d;
  CmdResult r =
      run({"bestrefs", write_header(d, {{"INSTRUME", "WFC3"}}).string(), "--types", "dark"});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("Unknown instrument 'wfc3' for context 'jwst_0541.pmap'"), std::string::npos)
      << r.err;
}

}  // namespace
