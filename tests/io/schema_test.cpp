// Our schemas: loading, merging, and the FITS keyword/HDU of every path equal to JWST's schemas.
#include "stpipe/models/schema.h"

#include <gtest/gtest.h>

#include <map>

#include "stpipe/models/datamodel.h"
#include "stpipe/util/error.h"
#include "test_support.h"

using namespace stpipe;
using namespace stpipe::models;
using stpipe::testing::shared_data;

namespace {
const char* kOurSchemas[] = {"core",     "referencefile", "ramp",       "level1b",   "image",
                             "cube",     "mask",          "saturation", "superbias", "dark",
                             "darkmiri", "gain",          "readnoise",  "linearity", "ipc",
                             "flat",     "reset",         "lastframe"};
}

TEST(Schema, MergedTreeAndIndex) {
  auto s = Schema::load("ramp");
  EXPECT_EQ(s->name(), "ramp");
  EXPECT_EQ(s->id(), "http://stsci.edu/schemas/jwst_datamodel/ramp.schema");
  const KeywordEntry* k = s->keyword_for_path("meta.instrument.name");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->keyword, "INSTRUME");
  EXPECT_EQ(k->hdu, "PRIMARY");
  EXPECT_EQ(k->title, "Instrument used to acquire the data");
  ASSERT_NE(s->keyword("SCI", "BUNIT"), nullptr);
  EXPECT_EQ(s->keyword("SCI", "BUNIT")->path, "meta.bunit_data");
  EXPECT_EQ(s->keyword("PRIMARY", "SUBSTRT1")->path, "meta.subarray.xstart");  // via $ref fragment
  EXPECT_EQ(s->keyword("PRIMARY", "S_JUMP")->path, "meta.cal_step.jump");  // $ref + sibling keys
  const Json* jump = s->node("meta.cal_step.jump");
  ASSERT_NE(jump, nullptr);
  EXPECT_EQ((*jump)["enum"].size(), 3u);
  const ArrayEntry* a = s->array("groupdq");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->hdu, "GROUPDQ");
  EXPECT_EQ(a->dtype, DType::kUint8);
  EXPECT_EQ(a->ndim, 4);
  ASSERT_NE(s->array("int_times"), nullptr);
  EXPECT_TRUE(s->array("int_times")->is_table);
  auto m = Schema::load("mask");
  EXPECT_EQ(m->keyword("PRIMARY", "P_SUBARR")->path,
            "meta.subarray.p_subarray");  // allOf in a property
  EXPECT_EQ(m->keyword("PRIMARY", "SUBSIZE2")->path, "meta.subarray.ysize");
  EXPECT_THROW(Schema::load("no_such_schema"), ConfigError);
}

TEST(Schema, Check) {
  Json node = {{"type", "string"}, {"pattern", "^A+$"}};
  EXPECT_FALSE(Schema::check(node, "AAA"));
  EXPECT_EQ(*Schema::check(node, "AB"), "'AB' does not match '^A+$'");
  EXPECT_EQ(*Schema::check(node, 3), "3 is not of type 'string'");
  Json any = {{"anyOf", {{{"enum", {"A"}}}, {{"enum", {"B"}}}}}};
  EXPECT_FALSE(Schema::check(any, "B"));
  EXPECT_TRUE(Schema::check(any, "C"));
  Json integer = {{"type", "integer"}};
  EXPECT_TRUE(Schema::check(integer, true));
  EXPECT_TRUE(Schema::check(integer, 1.5));
  EXPECT_FALSE(Schema::check(integer, nullptr));
}

TEST(Schema, EveryModelSchemaLoads) {
  for (auto name : kOurSchemas) {
    SCOPED_TRACE(name);
    auto s = Schema::load(name);
    EXPECT_GT(s->keywords().size(), 20u);
    EXPECT_NE(s->keyword_for_path("meta.instrument.name"), nullptr);
    EXPECT_NE(s->keyword_for_path("meta.model_type"), nullptr);
  }
}

TEST(Schema, RequiredReferenceLookupPaths) {
  auto s = Schema::load("ramp");
  for (auto p : {"meta.instrument.name",
                 "meta.instrument.detector",
                 "meta.instrument.filter",
                 "meta.instrument.pupil",
                 "meta.instrument.channel",
                 "meta.instrument.band",
                 "meta.instrument.grating",
                 "meta.instrument.module",
                 "meta.exposure.type",
                 "meta.exposure.readpatt",
                 "meta.exposure.nints",
                 "meta.exposure.ngroups",
                 "meta.exposure.nframes",
                 "meta.exposure.groupgap",
                 "meta.exposure.frame_time",
                 "meta.exposure.group_time",
                 "meta.exposure.integration_time",
                 "meta.subarray.name",
                 "meta.subarray.xstart",
                 "meta.subarray.ystart",
                 "meta.subarray.xsize",
                 "meta.subarray.ysize",
                 "meta.observation.date",
                 "meta.observation.time",
                 "meta.observation.date_beg",
                 "meta.visit.tsovisit",
                 "meta.cal_step.dq_init",
                 "meta.cal_step.ramp_fit",
                 "meta.ref_file.mask.name",
                 "meta.ref_file.dark.name",
                 "meta.ref_file.crds.context_used",
                 "meta.model_type",
                 "meta.filename",
                 "meta.date",
                 "meta.telescope"})
    EXPECT_NE(s->keyword_for_path(p), nullptr) << p;
}

// Every path we define that JWST's schemas also define has the same fits_keyword and fits_hdu;
// every array has the same EXTNAME and datatype.
TEST(Schema, KeywordsEqualJwst) {
  STPIPE_REQUIRE_SHARED_DATA();
  auto dir = shared_data("stdatamodels/schemas");
  std::map<std::string, std::pair<std::string, std::string>> jwst;  // path -> (keyword, hdu)
  std::map<std::string, const ArrayEntry*> jwst_arrays;
  std::vector<std::shared_ptr<const Schema>> keep;
  for (auto f : {"core", "referencefile", "subarray", "keyword_exptype", "keyword_filter",
                 "keyword_readpatt", "keyword_preadpatt", "bunit", "ramp", "image", "mask",
                 "dq_def", "int_times", "group", "variance"}) {
    auto s = Schema::load((dir / (std::string(f) + ".schema.yaml")).string());
    keep.push_back(s);
    for (auto& k : s->keywords()) jwst[k.path] = {k.keyword, k.hdu};
    for (auto& a : s->arrays()) jwst_arrays[std::string(f) + ":" + a.name] = &a;
  }
  ASSERT_GT(jwst.size(), 400u);
  std::size_t compared = 0;
  for (auto name : kOurSchemas) {
    auto s = Schema::load(name);
    for (auto& k : s->keywords()) {
      auto it = jwst.find(k.path);
      if (it == jwst.end()) continue;
      ++compared;
      EXPECT_EQ(k.keyword, it->second.first) << name << ": " << k.path;
      EXPECT_EQ(k.hdu, it->second.second) << name << ": " << k.path;
    }
  }
  EXPECT_GT(compared, 1200u);
  for (auto name : {"ramp", "image", "mask"}) {
    auto s = Schema::load(name);
    for (auto& a : s->arrays()) {
      auto it = jwst_arrays.find(std::string(name) + ":" + a.name);
      if (it == jwst_arrays.end()) {
        // ERR of RampModel was removed from JWST's ramp schema in stdatamodels 3.0; we keep it.
        EXPECT_TRUE(std::string(name) == "ramp" && a.name == "err") << name << ": " << a.name;
        continue;
      }
      EXPECT_EQ(a.hdu, it->second->hdu) << name << ": " << a.name;
      EXPECT_EQ(a.dtype, it->second->dtype) << name << ": " << a.name;
      EXPECT_EQ(a.ndim, it->second->ndim) << name << ": " << a.name;
    }
  }
}

TEST(Schema, FoundWithoutEnvironment) {
  auto d = schema_dir();
  EXPECT_TRUE(std::filesystem::exists(d / "core.schema.yaml")) << d;
}
