// Every case of shared/data/crds/expected_bestrefs.json (answers of the real CRDS client), one test
// each.
#include <fstream>
#include <nlohmann/json.hpp>

#include "stpipe/crds/context.h"
#include "stpipe/crds/header.h"
#include "test_support.h"

namespace {

using nlohmann::json;
using stpipe::crds::BestRef;
using stpipe::crds::Context;
using stpipe::crds::Header;

struct Case {
  std::string name;
  std::string group;  // "pmap", "na_omit", "tobs"
  json data;
};

std::vector<Case> load_cases() {
  std::vector<Case> out;
  auto dir = stpipe::testing::shared_dir();
  if (dir.empty()) return out;
  std::ifstream in(dir / "data/crds/expected_bestrefs.json");
  if (!in) return out;
  json j = json::parse(in);
  for (const auto& c : j["jwst_0541_pmap"]["cases"]) out.push_back({c["name"], "pmap", c});
  for (const auto& c : j["na_omit_test_data"]) out.push_back({c["name"], "na_omit", c});
  int k = 0;
  for (const auto& c : j["tobs_selectors"]["cases"]) {
    std::string n = "tobs_" + std::to_string(k++) + "_" + c["header"].value("TEST_CASE", "none");
    out.push_back({n, "tobs", c});
  }
  return out;
}

Header to_header(const json& h) {
  Header out;
  for (auto it = h.begin(); it != h.end(); ++it)
    out[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  return out;
}

// CRDS getrecommendations form of one answer.
json crds_json(const BestRef& b) {
  if (b.kind == BestRef::Kind::kFiles) return json(b.files);
  if (b.kind == BestRef::Kind::kFileMap) {
    json o = json::object();
    for (std::size_t k = 0; k < b.files.size(); ++k) o[b.keys[k]] = b.files[k];
    return o;
  }
  return b.crds_string();
}

class ExpectedBestrefs : public ::testing::TestWithParam<Case> {};

TEST_P(ExpectedBestrefs, MatchesRealCrds) {
  STPIPE_REQUIRE_SHARED_DATA();
  const Case& c = GetParam();
  auto crds = stpipe::testing::shared_data("crds");
  if (c.group == "tobs") {
    static const Context ctx = Context::load_from_directory(
        "tobs_tinstr_tfilekind.rmap", (crds / "cache/mappings/tobs").string());
    const auto* rmap = ctx.rmap("TINSTR", "tfilekind");
    ASSERT_NE(rmap, nullptr);
    BestRef b = rmap->get_best_ref(stpipe::crds::condition_header(to_header(c.data["header"])));
    EXPECT_EQ(crds_json(b), c.data["expected"]) << c.name;
    return;
  }
  std::string context = c.group == "pmap" ? "jwst_0541.pmap" : c.data["context"].get<std::string>();
  std::string dir =
      (c.group == "pmap" ? crds / "cache/mappings/jwst" : crds / "test_mappings").string();
  Context ctx = Context::load_from_directory(context, dir);
  std::vector<std::string> types = c.data["reftypes"].get<std::vector<std::string>>();
  auto refs = ctx.best_references(to_header(c.data["header"]), types);
  json actual = json::object();
  for (const auto& [t, b] : refs) actual[t] = crds_json(b);
  EXPECT_EQ(actual, c.data["expected"]) << c.name;
  if (c.data.contains("minimized_conditioned_header")) {
    Header min = ctx.minimize_header(stpipe::crds::condition_header(to_header(c.data["header"])));
    EXPECT_EQ(json(min), c.data["minimized_conditioned_header"]) << c.name << " (minimized header)";
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.name;
  for (auto& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Crds, ExpectedBestrefs, ::testing::ValuesIn(load_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ExpectedBestrefs);

}  // namespace
