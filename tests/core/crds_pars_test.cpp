// Parameter reference files (pars-<class>) from a CRDS cache, and the switches that disable them.
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core_test_util.h"
#include "stpipe/asdf/step_config.h"
#include "stpipe/core/crds_wiring.h"
#include "stpipe/util/atomic_file.h"

using namespace stpipe;
using namespace stpipe::testing;
namespace fs = std::filesystem;

namespace {

/// Writes a mapping with a valid sha1sum line (SHA-1 of the text without that line).
void write_mapping(const fs::path& path, const std::string& header_body,
                   const std::string& selector) {
  std::string text =
      "header = {\n" + header_body + "    'sha1sum' : 'SHA',\n}\n\nselector = " + selector + "\n";
  std::string without;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("sha1sum") == std::string::npos) without += line + "\n";
  }
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(without.data()), without.size(), digest);
  char hex[2 * SHA_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  text.replace(text.find("'SHA'"), 5, "'" + std::string(hex) + "'");
  std::ofstream(path) << text;
}

/// A cache whose context gives AddStep a pars file setting value = 42.
struct ParsCache {
  TempDir dir;
  ParsCache() {
    fs::path m = dir / "mappings" / "jwst";
    fs::create_directories(m);
    fs::create_directories(dir / "references" / "jwst");
    fs::create_directories(dir / "config" / "jwst");
    std::ofstream(dir / "config" / "jwst" / "server_config")
        << R"({"operational_context": "jwst_7000.pmap", "observatory": "jwst"})";
    std::ofstream(dir / "config" / "jwst" / "ref_cache_subdir_mode") << "flat";
    write_mapping(m / "jwst_7000.pmap",
                  "    'mapping' : 'PIPELINE',\n    'name' : 'jwst_7000.pmap',\n"
                  "    'observatory' : 'JWST',\n    'parkey' : ('META.INSTRUMENT.NAME',),\n",
                  "{\n    'NIRCAM' : 'jwst_nircam_7000.imap',\n}");
    write_mapping(m / "jwst_nircam_7000.imap",
                  "    'instrument' : 'NIRCAM',\n    'mapping' : 'INSTRUMENT',\n"
                  "    'name' : 'jwst_nircam_7000.imap',\n    'observatory' : 'JWST',\n"
                  "    'parkey' : ('REFTYPE',),\n",
                  "{\n    'PARS-ADDSTEP' : 'jwst_nircam_pars-addstep_7000.rmap',\n}");
    write_mapping(
        m / "jwst_nircam_pars-addstep_7000.rmap",
        "    'classes' : ('Match',),\n    'filekind' : 'PARS-ADDSTEP',\n"
        "    'instrument' : 'NIRCAM',\n    'mapping' : 'REFERENCE',\n"
        "    'name' : 'jwst_nircam_pars-addstep_7000.rmap',\n    'observatory' : 'JWST',\n"
        "    'parkey' : (('META.INSTRUMENT.DETECTOR',),),\n",
        "Match({\n    'NRCA1' : 'jwst_nircam_pars-addstep_0001.asdf',\n})");
    asdf::Json cfg = {{"class", "AddStep"}, {"name", "AddStep"}, {"parameters", {{"value", 42.0}}}};
    asdf::write_step_config(dir / "references" / "jwst" / "jwst_nircam_pars-addstep_0001.asdf",
                            cfg);
    ::setenv("CRDS_PATH", dir.path().c_str(), 1);
    ::unsetenv("CRDS_SERVER_URL");
    ::unsetenv("CRDS_CONTEXT");
    ::unsetenv("STPIPE_DISABLE_CRDS_STEPPARS");
    write_dataset(dir / "exp_uncal.json", {1.0},
                  {{"instrument", {{"name", "NIRCAM"}, {"detector", "NRCA1"}}},
                   {"observation", {{"date", "2024-01-01"}, {"time", "00:00:00"}}}});
  }
};

}  // namespace

TEST(CrdsPars, ParsReferenceSitsBetweenDefaultsAndUserValues) {
  ParsCache c;
  StepRegistry::global();
  install_crds();
  LogCapture logs;
  auto step = Step::build("AddStep", Datum((c.dir / "exp_uncal.json").string()), {});
  EXPECT_DOUBLE_EQ(step->get<double>("value"), 42.0);
  EXPECT_EQ(step->source_of("value"), ParamSource::kReferenceFile);
  EXPECT_TRUE(logs.contains("pars-addstep parameters found: "));
  CallOptions o;
  o.overrides["value"] = 2.0;
  auto over = Step::build("AddStep", Datum((c.dir / "exp_uncal.json").string()), o);
  EXPECT_DOUBLE_EQ(over->get<double>("value"), 2.0);
  CallOptions off;
  off.use_crds_pars = false;
  EXPECT_DOUBLE_EQ(
      Step::build("AddStep", Datum((c.dir / "exp_uncal.json").string()), off)->get<double>("value"),
      1.0);
}

TEST(CrdsPars, StrunSwitches) {
  ParsCache c;
  std::string strun = (binary_dir() / "bin" / "strun").string();
  std::string cd = "cd " + c.dir.path().string() + " && CRDS_PATH=" + c.dir.path().string() + " ";
  auto r = run_command(cd + strun + " AddStep exp_uncal.json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(c.dir / "exp_addstep.json"), std::vector<double>{43.0});
  r = run_command(cd + strun + " AddStep exp_uncal.json --disable-crds-steppars");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(c.dir / "exp_addstep.json"), std::vector<double>{2.0});
  r = run_command(cd + "STPIPE_DISABLE_CRDS_STEPPARS=true " + strun + " AddStep exp_uncal.json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(c.dir / "exp_addstep.json"), std::vector<double>{2.0});
  // As stpipe: only exactly true/True/t/yes/y disable; "1" does not.
  r = run_command(cd + "STPIPE_DISABLE_CRDS_STEPPARS=1 " + strun + " AddStep exp_uncal.json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data_of_file(c.dir / "exp_addstep.json"), std::vector<double>{43.0});
}
