// Unit tests: Python-literal parsing, checksums, value conditioning, matchers, dates, rmap rules.
#include "stpipe/crds/selector.h"

#include <nlohmann/json.hpp>

#include "stpipe/crds/context.h"
#include "stpipe/crds/header.h"
#include "stpipe/crds/mapping.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"
#include "test_support.h"

using namespace stpipe::crds;
using stpipe::ReferenceFileError;

namespace {

// An rmap text with a correct sha1sum line.
std::string make_rmap(const std::string& header_extra, const std::string& parkey,
                      const std::string& selector) {
  std::string text =
      "header = {\n    'filekind' : 'TEST',\n    'instrument' : 'NIRCAM',\n"
      "    'mapping' : 'REFERENCE',\n    'name' : 'test.rmap',\n"
      "    'observatory' : 'JWST',\n    'parkey' : " +
      parkey + ",\n" + header_extra + "    'sha1sum' : 'SHA',\n}\n\nselector = " + selector + "\n";
  std::string sha = mapping_checksum(text);
  return text.replace(text.find("SHA"), 3, sha);
}

BestRef lookup(const std::string& rmap_text, const Header& header) {
  ReferenceMapping r(parse_mapping(rmap_text, "test.rmap"));
  return r.get_best_ref(condition_header(header));
}

TEST(CrdsLiteral, PythonFloatStr) {
  EXPECT_EQ(python_float_str(2048), "2048.0");
  EXPECT_EQ(python_float_str(1.25), "1.25");
  EXPECT_EQ(python_float_str(0.0001), "0.0001");
  EXPECT_EQ(python_float_str(0.00001), "1e-05");
  EXPECT_EQ(python_float_str(1e16), "1e+16");
  EXPECT_EQ(python_float_str(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(python_float_str(-2147483648.0), "-2147483648.0");
  EXPECT_EQ(python_float_str(0.1 + 0.2), "0.30000000000000004");
}

TEST(CrdsLiteral, ParsesPythonSyntax) {
  PyValue v = parse_python_literal(
      "{'a' : ('x',), \"b\": [1, -2.5e3, True, None], 'c': {'k': 'v',}, # comment\n"
      " 'd': ('p', 'q'), 'e': 'it\\'s \\xa0'}");
  ASSERT_EQ(v.kind, PyValue::Kind::kDict);
  EXPECT_EQ(v.get("a")->repr(), "('x',)");
  EXPECT_EQ(v.get("b")->repr(), "[1, -2500.0, True, None]");
  EXPECT_EQ(v.get("c")->get("k")->s, "v");
  EXPECT_EQ(v.get("d")->items.size(), 2u);
  EXPECT_EQ(v.get("e")->s, "it's \xc2\xa0");
  EXPECT_THROW(parse_python_literal("{'a': 1, 'a': 2}"), ReferenceFileError);
  EXPECT_THROW(parse_python_literal("{'a': 1"), ReferenceFileError);
  EXPECT_THROW(parse_python_literal("__import__('os')"), ReferenceFileError);
}

TEST(CrdsMapping, ChecksumOfRealMappingAndMismatch) {
  STPIPE_REQUIRE_SHARED_DATA();
  auto path = stpipe::testing::shared_data("crds/cache/mappings/jwst/jwst_nircam_ipc_0003.rmap");
  std::string text = stpipe::read_text_file(path);
  EXPECT_EQ(mapping_checksum(text), parse_mapping(text, "x", false).header_string("sha1sum"));
  std::string edited = text;
  edited.replace(edited.find("jwst_nircam_ipc_0026.fits"), 25, "jwst_nircam_ipc_9999.fits");
  try {
    parse_mapping(edited, "jwst_nircam_ipc_0003.rmap");
    FAIL() << "no checksum error";
  } catch (const ReferenceFileError& e) {
    EXPECT_NE(
        std::string(e.what()).find("sha1sum mismatch in CRDS mapping 'jwst_nircam_ipc_0003.rmap'"),
        std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(parse_mapping(edited, "jwst_nircam_ipc_0003.rmap", false));
}

TEST(CrdsHeader, ConditionValue) {
  EXPECT_EQ(condition_value(" nrca1 "), "NRCA1");
  EXPECT_EQ(condition_value("1"), "1.0");
  EXPECT_EQ(condition_value("2048"), "2048.0");
  EXPECT_EQ(condition_value("12."), "12.0");
  EXPECT_EQ(condition_value("-2147483648"), "N/A");
  EXPECT_EQ(condition_value("not applicable"), "N/A");
  EXPECT_EQ(condition_value("()"), "N/A");
  EXPECT_EQ(condition_value("any"), "*");
  EXPECT_EQ(condition_value("True"), "T");
  EXPECT_EQ(condition_value("false"), "F");
  EXPECT_EQ(condition_value("4294967295"), "-1.0");
  EXPECT_EQ(condition_value("2016-01-01"), "2016-01-01");
  EXPECT_EQ(condition_value("1e3"), "1000.0");
}

TEST(CrdsHeader, FitsKeywordsAndJsonFlattening) {
  Header h = condition_header({{"detector", "nrca1"},
                               {"DATE-OBS", "2016-01-01"},
                               {"meta.subarray.name", "full"},
                               {"UNKNOWN_KEY", "x"}});
  EXPECT_EQ(h.at("META.INSTRUMENT.DETECTOR"), "NRCA1");
  EXPECT_EQ(h.at("META.OBSERVATION.DATE"), "2016-01-01");
  EXPECT_EQ(h.at("META.SUBARRAY.NAME"), "FULL");
  EXPECT_EQ(h.at("UNKNOWN_KEY"), "X");
  std::map<std::string, std::string> extra = {{"MYKEY", "META.MY.PATH"}};
  EXPECT_EQ(condition_header({{"mykey", "1"}}, &extra).at("META.MY.PATH"), "1.0");
  Header j = header_from_json(nlohmann::json::parse(
      R"({"meta": {"subarray": {"xstart": 1, "fast": true, "f": 2.5, "list": [1]}}, "top": null})"));
  EXPECT_EQ(j.at("META.SUBARRAY.XSTART"), "1");
  EXPECT_EQ(j.at("META.SUBARRAY.FAST"), "True");
  EXPECT_EQ(j.at("META.SUBARRAY.F"), "2.5");
  EXPECT_EQ(j.count("META.SUBARRAY.LIST"), 0u);
  EXPECT_EQ(j.count("TOP"), 0u);
}

TEST(CrdsDates, ReformatDateAcceptsCrdsFormats) {
  EXPECT_EQ(reformat_date("2016-01-01"), "2016-01-01 00:00:00");
  EXPECT_EQ(reformat_date("2016/01/02 03:04"), "2016-01-02 03:04:00");
  EXPECT_EQ(reformat_date("12/21/1999 05:42:35"), "1999-12-21 05:42:35");
  EXPECT_EQ(reformat_date("2016-01-01T12:30:45.25"), "2016-01-01 12:30:45.250000");
  EXPECT_EQ(reformat_date("2015-10-01 00:00:00.5"), "2015-10-01 00:00:00.500000");
  EXPECT_EQ(reformat_date("Feb 08 2006 01:02AM"), "2006-02-08 01:02:00");
  EXPECT_EQ(reformat_date("Dec 01 1993 00:00:00 UT"), "1993-12-01 00:00:00");
  EXPECT_THROW(reformat_date("2016-13-01"), SelectionError);
  EXPECT_THROW(reformat_date("4.5"), SelectionError);
  // A date carrying its own T time plus a separate time does not parse (as in CRDS).
  EXPECT_THROW(reformat_date("2016-01-01T00:00:00 00:00:00"), SelectionError);
}

TEST(CrdsMatch, KeyLanguage) {
  std::string rmap = make_rmap("", "(('META.EXPOSURE.TYPE', 'META.SUBARRAY.XSIZE'),)", R"(Match({
    ('NRC_IMAGE|NRC_TACQ', 'N/A') : 'glob.fits',
    ('NRC_COR*', 'N/A') : 'star.fits',
    ('(NRC_WFSS_[AB])', 'N/A') : 'regex.fits',
    ('{NRC|LITERAL}', 'N/A') : 'literal.fits',
    ('NRC_GRISM', '#>1 and <=20#') : 'small.fits',
    ('NRC_GRISM', 'between 20 2049') : 'between.fits',
    ('NRC_GRISM', '>=2049') : 'big.fits',
})
)");
  std::string negated =
      make_rmap("", "(('META.EXPOSURE.TYPE',),)", "Match({'NOT NRC_DARK' : 'not.fits'})");
  auto ref = [&](const std::string& type, const std::string& size = "N/A") {
    return lookup(rmap, {{"META.EXPOSURE.TYPE", type}, {"META.SUBARRAY.XSIZE", size}})
        .crds_string();
  };
  EXPECT_EQ(ref("NRC_TACQ"), "glob.fits");
  EXPECT_EQ(ref("NRC_CORON"), "star.fits");
  EXPECT_EQ(ref("NRC_WFSS_B"), "regex.fits");
  EXPECT_EQ(ref("NRC|LITERAL"), "literal.fits");
  EXPECT_EQ(ref("NRC_GRISM", "15"), "small.fits");
  EXPECT_EQ(ref("NRC_GRISM", "20"), "('small.fits', 'between.fits')");  // both match: a tie
  EXPECT_EQ(ref("NRC_GRISM", "2048"), "between.fits");
  EXPECT_EQ(ref("NRC_GRISM", "2049"), "big.fits");
  EXPECT_EQ(ref("NRC_GRISM", "0.5"), "NOT FOUND No match found.");
  EXPECT_EQ(ref("NRC_DARK"), "NOT FOUND No match found.");
  EXPECT_EQ(lookup(negated, {{"META.EXPOSURE.TYPE", "NRC_IMAGE"}}).crds_string(), "not.fits");
  EXPECT_EQ(lookup(negated, {{"META.EXPOSURE.TYPE", "NRC_DARK"}}).crds_string(),
            "NOT FOUND No match found.");
}

TEST(CrdsMatch, WeightsSubstitutionsAndTies) {
  std::string rmap = make_rmap(
      "    'substitutions' : {'META.INSTRUMENT.FILTER' : {'BROAD' : ('F150W', 'F200W')}},\n",
      "(('META.INSTRUMENT.DETECTOR', 'META.INSTRUMENT.FILTER', 'META.SUBARRAY.NAME'), "
      "('META.OBSERVATION.DATE', 'META.OBSERVATION.TIME'))",
      R"(Match({
    ('NRCA1', 'BROAD', 'N/A') : UseAfter({'2010-01-01 00:00:00' : 'broad.fits'}),
    ('NRCA1', 'F150W', 'FULL') : UseAfter({'2010-01-01 00:00:00' : 'exact.fits'}),
    ('NRCA2', 'ANY', 'GENERIC') : UseAfter({'2010-01-01 00:00:00' : 'a2_old.fits', '2015-01-01 00:00:00' : 'a2_b.fits'}),
    ('NRCA2', 'F200W', 'N/A') : UseAfter({'2012-01-01 00:00:00' : 'a2_a.fits', '2015-01-01 00:00:00' : 'a2_a2.fits'}),
})
)");
  Header h = {{"META.INSTRUMENT.DETECTOR", "NRCA1"},
              {"META.INSTRUMENT.FILTER", "F200W"},
              {"META.SUBARRAY.NAME", "FULL"},
              {"META.OBSERVATION.DATE", "2016-01-01"},
              {"META.OBSERVATION.TIME", "00:00:00"}};
  EXPECT_EQ(lookup(rmap, h).crds_string(), "broad.fits");  // substitution F150W|F200W
  h["META.INSTRUMENT.FILTER"] = "F150W";
  EXPECT_EQ(lookup(rmap, h).crds_string(), "exact.fits");  // 3 exact beats 2
  // NRCA2: two rules tie at weight 2: their UseAfters merge; on equal dates the greater
  // file name wins.
  h["META.INSTRUMENT.DETECTOR"] = "NRCA2";
  h["META.INSTRUMENT.FILTER"] = "F200W";
  EXPECT_EQ(lookup(rmap, h).crds_string(), "a2_b.fits");
  h["META.OBSERVATION.DATE"] = "2013-01-01";
  EXPECT_EQ(lookup(rmap, h).crds_string(), "a2_a.fits");
  h["META.OBSERVATION.DATE"] = "2011-01-01";
  EXPECT_EQ(lookup(rmap, h).crds_string(), "a2_old.fits");
  // merge_overlaps False makes a tie an error.
  std::string strict =
      make_rmap("    'merge_overlaps' : 'False',\n", "(('META.INSTRUMENT.DETECTOR',),)",
                "Match({'NRCA1|NRCA2' : 'x.fits', 'NRCA1|NRCA3' : 'y.fits'})");
  EXPECT_EQ(lookup(strict, {{"META.INSTRUMENT.DETECTOR", "NRCA1"}}).crds_string(),
            "NOT FOUND More than one match clause matched.");
  std::string merged = make_rmap("", "(('META.INSTRUMENT.DETECTOR',),)",
                                 "Match({'NRCA1|NRCA2' : 'x.fits', 'NRCA1|NRCA3' : 'y.fits'})");
  BestRef both = lookup(merged, {{"META.INSTRUMENT.DETECTOR", "NRCA1"}});
  EXPECT_EQ(both.kind, BestRef::Kind::kFiles);
  EXPECT_EQ(both.files, (std::vector<std::string>{"x.fits", "y.fits"}));
}

TEST(CrdsRmap, RelevanceOmitAndRequired) {
  std::string rmap = make_rmap(
      "    'rmap_relevance' : '(META.EXPOSURE.TYPE in (\"NRC_IMAGE\", \"NRC_TACQ\"))',\n"
      "    'rmap_omit' : '(META.INSTRUMENT.DETECTOR == \"NRCB5\")',\n"
      "    'parkey_relevance' : {'META.INSTRUMENT.FILTER' : '(META.EXPOSURE.TYPE != "
      "\"NRC_TACQ\")'},\n"
      "    'reffile_required' : 'NO',\n",
      "(('META.INSTRUMENT.DETECTOR', 'META.INSTRUMENT.FILTER', 'META.EXPOSURE.TYPE'),)",
      "Match({('NRCA1', 'F200W', 'N/A') : 'f200.fits', ('NRCA1', 'F150W', 'NRC_TACQ') : "
      "'tacq.fits'})");
  Header h = {{"META.INSTRUMENT.DETECTOR", "NRCA1"},
              {"META.INSTRUMENT.FILTER", "F200W"},
              {"META.EXPOSURE.TYPE", "NRC_IMAGE"}};
  EXPECT_EQ(lookup(rmap, h).crds_string(), "f200.fits");
  // TACQ: the filter is irrelevant (set to N/A, "don't care"), so the F150W rule still matches.
  h["META.EXPOSURE.TYPE"] = "NRC_TACQ";
  EXPECT_EQ(lookup(rmap, h).crds_string(), "tacq.fits");
  h["META.EXPOSURE.TYPE"] = "NRC_GRISM";
  EXPECT_EQ(lookup(rmap, h).kind, BestRef::Kind::kNotApplicable);
  h["META.EXPOSURE.TYPE"] = "NRC_IMAGE";
  h["META.INSTRUMENT.DETECTOR"] = "NRCB5";
  EXPECT_EQ(lookup(rmap, h).kind, BestRef::Kind::kOmit);
  h["META.INSTRUMENT.DETECTOR"] = "NRCB1";  // no match, but not required -> N/A
  EXPECT_EQ(lookup(rmap, h).kind, BestRef::Kind::kNotApplicable);
}

class CrdsJwstContext : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (stpipe::testing::shared_dir().empty()) return;
    ctx_ = new Context(Context::load_from_directory(
        "jwst_0541.pmap", stpipe::testing::shared_data("crds/cache/mappings/jwst").string()));
  }
  static void TearDownTestSuite() {
    delete ctx_;
    ctx_ = nullptr;
  }
  static Context* ctx_;
  const Header nircam_ = {
      {"META.INSTRUMENT.NAME", "NIRCAM"},      {"META.INSTRUMENT.DETECTOR", "NRCA1"},
      {"META.OBSERVATION.DATE", "2016-01-01"}, {"META.OBSERVATION.TIME", "00:00:00"},
      {"META.EXPOSURE.TYPE", "NRC_IMAGE"},     {"META.EXPOSURE.READPATT", "RAPID"},
      {"META.SUBARRAY.NAME", "FULL"}};
};
Context* CrdsJwstContext::ctx_ = nullptr;

TEST_F(CrdsJwstContext, ClosureAndNames) {
  STPIPE_REQUIRE_SHARED_DATA();
  EXPECT_EQ(ctx_->mapping_names().size(), 124u);
  EXPECT_EQ(ctx_->mapping_names().front(), "jwst_0541.pmap");
  EXPECT_EQ(ctx_->kind(), "PIPELINE");
  EXPECT_EQ(ctx_->observatory(), "jwst");
  auto refs = ctx_->reference_names();
  EXPECT_TRUE(std::binary_search(refs.begin(), refs.end(), "jwst_nircam_dark_0040.fits"));
  EXPECT_EQ(ctx_->rmap("nircam", "DARK")->name(), "jwst_nircam_dark_0017.rmap");
  EXPECT_EQ(ctx_->rmap("nircam", "barshadow"), nullptr);
}

TEST_F(CrdsJwstContext, InvalidValueUndefinedTimeUnknownTypeAndInstrument) {
  STPIPE_REQUIRE_SHARED_DATA();
  Header h = nircam_;
  h["META.INSTRUMENT.DETECTOR"] = "NRCZ9";
  std::string msg = ctx_->best_references(h, {"saturation"}).at("saturation").crds_string();
  EXPECT_EQ(
      msg.rfind(
          "NOT FOUND  parameter='META.INSTRUMENT.DETECTOR' value='NRCZ9' is not in ['NRCA1', ", 0),
      0u)
      << msg;
  h = nircam_;
  h.erase("META.OBSERVATION.TIME");
  EXPECT_EQ(ctx_->best_references(h, {"saturation"}).at("saturation").crds_string(),
            "NOT FOUND UseAfter parameter 'META.OBSERVATION.TIME' is UNDEFINED.");
  EXPECT_EQ(ctx_->best_references(nircam_, {"FOO"}).at("foo").crds_string(),
            "NOT FOUND Unknown reference type 'foo'");
  try {
    ctx_->best_references({{"INSTRUME", "WFC3"}}, {"dark"});
    FAIL() << "no exception";
  } catch (const ReferenceFileError& e) {
    EXPECT_STREQ(e.what(), "Unknown instrument 'wfc3' for context 'jwst_0541.pmap'");
  }
  EXPECT_THROW(ctx_->best_references({{"DETECTOR", "NRCA1"}}, {"dark"}), ReferenceFileError);
}

TEST_F(CrdsJwstContext, FitsKeywordsLowerCaseAndNumbersGiveSameAnswers) {
  STPIPE_REQUIRE_SHARED_DATA();
  Header fits = {{"INSTRUME", "NIRCAM"},  {"DETECTOR", "NRCA1"}, {"EXP_TYPE", "NRC_IMAGE"},
                 {"READPATT", "RAPID"},   {"SUBARRAY", "FULL"},  {"DATE-OBS", "2016-01-01"},
                 {"TIME-OBS", "00:00:00"}};
  Header lower = {{"meta.instrument.name", "nircam"},   {"meta.instrument.detector", "nrca1"},
                  {"meta.exposure.type", "nrc_image"},  {"meta.exposure.readpatt", "rapid"},
                  {"meta.subarray.name", "full"},       {"meta.observation.date", "2016-01-01"},
                  {"meta.observation.time", "00:00:00"}};
  std::vector<std::string> types = {"dark", "gain", "readnoise", "ipc", "superbias"};
  auto expect = ctx_->best_references(nircam_, types);
  auto a = ctx_->best_references(fits, types);
  auto b = ctx_->best_references(lower, types);
  for (const auto& t : types) {
    EXPECT_EQ(a.at(t).crds_string(), expect.at(t).crds_string()) << t;
    EXPECT_EQ(b.at(t).crds_string(), expect.at(t).crds_string()) << t;
  }
  EXPECT_EQ(expect.at("gain").filename(), "jwst_nircam_gain_0050.fits");
  // NIRSpec superbias matches on XSTART/XSIZE numbers given as ints or strings.
  Header nrs = {{"META.INSTRUMENT.NAME", "NIRSPEC"},     {"META.INSTRUMENT.DETECTOR", "NRS1"},
                {"META.EXPOSURE.READPATT", "NRSIRS2"},   {"META.SUBARRAY.NAME", "FULL"},
                {"META.SUBARRAY.XSTART", "1"},           {"META.SUBARRAY.YSTART", "1"},
                {"META.SUBARRAY.XSIZE", "2048"},         {"META.SUBARRAY.YSIZE", "2048.0"},
                {"META.OBSERVATION.DATE", "2016-02-01"}, {"META.OBSERVATION.TIME", "00:00:00"},
                {"META.EXPOSURE.TYPE", "NRS_FIXEDSLIT"}};
  EXPECT_EQ(ctx_->best_references(nrs, {"superbias"}).at("superbias").crds_string(),
            "jwst_nirspec_superbias_0117.fits");
  nrs["META.OBSERVATION.DATE"] = "2014-06-01";
  EXPECT_EQ(ctx_->best_references(nrs, {"superbias"}).at("superbias").crds_string(),
            "jwst_nirspec_superbias_0110.fits");
  nrs["META.OBSERVATION.DATE"] = "2010-01-01";  // only the generic rule covers 2010
  EXPECT_EQ(ctx_->best_references(nrs, {"superbias"}).at("superbias").crds_string(),
            "jwst_nirspec_superbias_0002.fits");
}

// Cases the specification lists (datamodels-crds.md B.6) beyond expected_bestrefs.json.
TEST_F(CrdsJwstContext, SpecificationTableCases) {
  STPIPE_REQUIRE_SHARED_DATA();
  Header a2 = nircam_;
  a2["META.INSTRUMENT.DETECTOR"] = "NRCA2";
  a2["META.SUBARRAY.NAME"] = "SUB640A210R";
  EXPECT_EQ(ctx_->best_references(a2, {"dark"}).at("dark").crds_string(),
            "jwst_nircam_dark_0073.fits");
  Header miri = {{"META.INSTRUMENT.NAME", "MIRI"},        {"META.INSTRUMENT.DETECTOR", "MIRIMAGE"},
                 {"META.EXPOSURE.READPATT", "FAST"},      {"META.SUBARRAY.NAME", "FULL"},
                 {"META.INSTRUMENT.FILTER", "F1000W"},    {"META.EXPOSURE.TYPE", "MIR_IMAGE"},
                 {"META.OBSERVATION.DATE", "2016-01-01"}, {"META.OBSERVATION.TIME", "00:00:00"}};
  auto m = ctx_->best_references(miri, {"dark", "superbias", "flat"});
  EXPECT_EQ(m.at("dark").crds_string(), "jwst_miri_dark_0058.fits");
  EXPECT_EQ(m.at("superbias").crds_string(), "NOT FOUND n/a");
  EXPECT_EQ(m.at("flat").crds_string(), "jwst_miri_flat_0392.fits");
  miri["META.INSTRUMENT.DETECTOR"] = "MIRIFULONG";
  miri["META.EXPOSURE.READPATT"] = "SLOW";
  EXPECT_EQ(ctx_->best_references(miri, {"dark"}).at("dark").crds_string(),
            "jwst_miri_dark_0057.fits");
  miri["META.EXPOSURE.READPATT"] = "FAST";
  EXPECT_EQ(ctx_->best_references(miri, {"dark"}).at("dark").crds_string(),
            "jwst_miri_dark_0050.fits");
  Header sys = {{"META.INSTRUMENT.NAME", "SYSTEM"},
                {"META.CALIBRATION_SOFTWARE_VERSION", "0.13.7"},
                {"META.OBSERVATION.DATE", "2019-01-01"},
                {"META.OBSERVATION.TIME", "00:00:00"}};
  auto s = ctx_->best_references(sys, {});
  EXPECT_EQ(s.at("calver").crds_string(), "jwst_system_calver_0010.json");
  EXPECT_EQ(s.at("datalvl").crds_string(), "jwst_system_datalvl_0001.json");  // VersionAfter
}

}  // namespace
