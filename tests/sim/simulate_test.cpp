// Tests of the raw-exposure simulator: determinism, metadata, physics, CRDS cache, arguments.
#include "stpipe/sim/simulate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "stpipe/crds/client.h"
#include "stpipe/models/datamodel.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using stpipe::sim::SimulationConfig;
using stpipe::sim::SimulationResult;
using stpipe::testing::TempDir;

SimulationConfig small(const fs::path& dir, std::uint64_t seed = 7) {
  SimulationConfig c;
  c.output_dir = dir;
  c.nx = 64;
  c.ny = 64;
  c.ngroups = 10;
  c.seed = seed;
  c.background = 200.0;
  c.cosmic_ray_rate = 0.02;
  return c;
}

TEST(Simulate, SameSeedSameBytesOtherSeedDiffers) {
  TempDir a, b, c;
  auto ra = stpipe::sim::simulate(small(a.path()));
  auto rb = stpipe::sim::simulate(small(b.path()));
  auto rc = stpipe::sim::simulate(small(c.path(), 8));
  auto ma = stpipe::models::open(ra.uncal), mb = stpipe::models::open(rb.uncal),
       mc = stpipe::models::open(rc.uncal);
  EXPECT_TRUE(ma->array("data").equals(mb->array("data")));
  EXPECT_FALSE(ma->array("data").equals(mc->array("data")));
  for (const auto& [type, path] : ra.references) {
    auto x = stpipe::models::open(path), y = stpipe::models::open(rb.references.at(type));
    const std::string prim = x->primary_array_name();
    EXPECT_TRUE(x->array(prim).equals(y->array(prim))) << type;
  }
  ASSERT_EQ(ra.cosmic_rays.size(), rb.cosmic_rays.size());
  EXPECT_GT(ra.cosmic_rays.size(), 0u);
}

TEST(Simulate, UncalRoundTrip) {
  TempDir d;
  SimulationConfig c = small(d.path());
  c.nints = 2;
  c.ngroups = 4;
  auto r = stpipe::sim::simulate(c);
  auto m = stpipe::models::open(r.uncal);
  // Raw exposures are written as JWST's are: Level1bModel, SCI uint16 with BZERO 32768.
  EXPECT_EQ(m->model_type(), "Level1bModel");
  const auto& a = m->array("data");
  EXPECT_EQ(a.dtype(), stpipe::models::DType::kUint16);
  EXPECT_EQ(a.shape(), (std::vector<std::int64_t>{2, 4, 64, 64}));
  EXPECT_EQ(m->meta_string("meta.instrument.name"), "NIRCAM");
  EXPECT_EQ(m->meta_string("meta.instrument.detector"), "NRCA1");
  EXPECT_EQ(m->meta_string("meta.exposure.readpatt"), "RAPID");
  EXPECT_EQ(m->meta_string("meta.subarray.name"), "SUB64");
  EXPECT_EQ(m->meta_int("meta.exposure.nints"), 2);
  EXPECT_EQ(m->meta_int("meta.exposure.ngroups"), 4);
  EXPECT_EQ(m->meta_int("meta.subarray.xsize"), 64);
  // One output, (64 + 12) * 65 pixels at 10 us.
  EXPECT_NEAR(m->meta_double("meta.exposure.frame_time"), 0.0494, 1e-9);
  EXPECT_EQ(m->meta_string("meta.observation.date"), "2025-01-01");
  // Truth JSON and image agree with the result.
  std::ifstream in(r.truth_json);
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["cosmic_rays"].size(), r.cosmic_rays.size());
  EXPECT_EQ(j["sources"].size(), r.sources.size());
  auto t = stpipe::models::open(r.truth_rate);
  EXPECT_EQ(t->array("data").shape(), (std::vector<std::int64_t>{64, 64}));
}

TEST(Simulate, FullFrameTimeIsNircams) {
  TempDir d;
  SimulationConfig c;
  c.output_dir = d.path();
  c.subarray = "SUB64P";
  c.ngroups = 2;
  // Only the plan matters here: SUB64P is 64x64; full frame timing checked by formula.
  auto r = stpipe::sim::simulate(c);
  EXPECT_NEAR(r.frame_time, (64 + 12) * 65 * 1e-5, 1e-12);
  EXPECT_NEAR((2048 / 4 + 12) * 2049 * 1e-5, 10.73676, 1e-9);
}

TEST(Simulate, PhysicsSanity) {
  TempDir d;
  SimulationConfig c = small(d.path());
  auto r = stpipe::sim::simulate(c);
  auto m = stpipe::models::open_as(r.uncal, "RampModel");  // data as float32
  const float* data = m->data<float>("data");
  const std::int64_t n = 64 * 64, ng = c.ngroups;
  auto truth = stpipe::models::open(r.truth_rate);
  const float* rate = truth->data<float>("data");
  auto sat = stpipe::models::open(r.references.at("saturation"));
  const float* thr = sat->data<float>("data");
  auto mask = stpipe::models::open(r.references.at("mask"));
  const auto* dq = mask->data<std::uint32_t>("dq");
  std::vector<int> hit(n, 0);
  for (const auto& cr : r.cosmic_rays) hit[cr.y * 64 + cr.x]++;

  // Background pixels: mean slope equals background x flat (+ 0.01 DN/s dark) within noise.
  const double span = (ng - 1) * r.group_time;
  double sum = 0, expect = 0;
  int count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (dq[i] != 0 || hit[i] || rate[i] > 1.05 * c.background) continue;
    sum += (data[(ng - 1) * n + i] - data[i]) / span;
    expect += rate[i];
    ++count;
  }
  ASSERT_GT(count, 2000);
  EXPECT_NEAR(sum / count, expect / count, 0.02 * c.background);

  // Cosmic rays: the recorded amplitude shows as a jump (x 0.98 for IPC) at the recorded group.
  int checked = 0;
  for (const auto& cr : r.cosmic_rays) {
    const std::int64_t i = cr.y * 64 + cr.x;
    if (hit[i] != 1 || dq[i] != 0 || rate[i] > 1.05 * c.background) continue;
    double other = 0;
    for (int g = 1; g < ng; ++g)
      if (g != cr.group) other += data[g * n + i] - data[(g - 1) * n + i];
    other /= ng - 2;
    const double jump = data[cr.group * n + i] - data[(cr.group - 1) * n + i] - other;
    EXPECT_NEAR(jump, 0.98 * cr.amplitude, 0.03 * cr.amplitude + 60) << cr.y << "," << cr.x;
    ++checked;
  }
  EXPECT_GT(checked, 20);

  // Saturation: the brightest source's peak pixel starts below and ends above the threshold.
  ASSERT_GT(r.saturated_pixels, 0);
  const auto& s0 = r.sources.at(0);
  const std::int64_t p = std::lround(s0.y) * 64 + std::lround(s0.x);
  EXPECT_LT(data[p], thr[p]);
  EXPECT_GT(data[(ng - 1) * n + p], thr[p]);
  std::int64_t above = 0;
  for (std::int64_t i = 0; i < n; ++i) above += data[(ng - 1) * n + i] > thr[i];
  EXPECT_GT(above, 0);
  EXPECT_LE(above, r.saturated_pixels + 16);

  // Dead pixels stay flat.
  for (std::int64_t i = 0; i < n; ++i)
    if (dq[i] & (1u << 10)) EXPECT_LT(std::abs(data[(ng - 1) * n + i] - data[i]), 80.0);

  // The IPC reference (applied by convolution) undoes the forward 0.98/0.005 kernel.
  auto ipc = stpipe::models::open(r.references.at("ipc"));
  const float* k = ipc->data<float>("data");
  const double fwd[3][3] = {{0, 0.005, 0}, {0.005, 0.98, 0.005}, {0, 0.005, 0}};
  for (int oy = -1; oy <= 1; ++oy)
    for (int ox = -1; ox <= 1; ++ox) {
      double v = 0;  // (k * fwd) at offset (oy, ox), inside the 3x3 support
      for (int y = -1; y <= 1; ++y)
        for (int x = -1; x <= 1; ++x) {
          const int fy = oy - y, fx = ox - x;
          if (std::abs(fy) <= 1 && std::abs(fx) <= 1)
            v += k[(y + 1) * 3 + x + 1] * fwd[fy + 1][fx + 1];
        }
      EXPECT_NEAR(v, oy == 0 && ox == 0 ? 1.0 : 0.0, 1e-5) << oy << "," << ox;
    }

  // The linearity coefficients undo the simulated non-linearity.
  auto lin = stpipe::models::open(r.references.at("linearity"));
  const float* cf = lin->data<float>("coeffs");
  const double a = cf[2 * n];
  for (double q : {1000.0, 20000.0, 48000.0}) {
    const double s = q - a * q * q;
    double lin_q = 0;
    for (int k = 4; k >= 0; --k) lin_q = lin_q * s + cf[k * n];
    EXPECT_NEAR(lin_q, q, 20.0) << q;
  }
}

// Resolves every reference type through our CRDS client, offline, from the written cache.
void expect_crds_resolves(const SimulationResult& r) {
  stpipe::crds::ClientOptions o;
  o.crds_path = r.crds_cache;
  stpipe::crds::Client client(o);
  EXPECT_TRUE(client.offline());
  EXPECT_EQ(client.context_used(), r.context);
  auto m = stpipe::models::open(r.uncal);
  std::vector<std::string> types;
  for (const auto& kv : r.references) types.push_back(kv.first);
  auto best = client.best_references(m->crds_parameters(), types);
  for (const auto& [type, path] : r.references) {
    ASSERT_TRUE(best.count(type)) << type;
    ASSERT_TRUE(best[type].ok()) << type << ": " << best[type].message;
    EXPECT_EQ(best[type].files.at(0), path.filename().string());
    EXPECT_EQ(fs::canonical(client.get_reference_path(best[type].files.at(0))),
              fs::canonical(path));
  }
}

TEST(Simulate, CrdsCacheResolvesEveryType) {
  TempDir d;
  auto r = stpipe::sim::simulate(small(d.path()));
  EXPECT_EQ(r.references.size(), 9u);
  expect_crds_resolves(r);
}

TEST(Simulate, MiriAndFgsShareOneCache) {
  TempDir d;
  SimulationConfig c = small(d.path());
  c.instrument = "MIRI";
  c.ngroups = 4;
  auto miri = stpipe::sim::simulate(c);
  EXPECT_TRUE(miri.references.count("reset"));
  c.instrument = "FGS";
  c.full_frame_refs = false;
  auto fgs = stpipe::sim::simulate(c);
  expect_crds_resolves(fgs);
  expect_crds_resolves(miri);  // the later context still lists MIRI
}

TEST(Simulate, FullFrameReferencesForASubarray) {
  TempDir d;
  SimulationConfig c = small(d.path());
  c.instrument = "NIRISS";
  c.ngroups = 3;
  c.full_frame_refs = true;
  auto r = stpipe::sim::simulate(c);
  auto g = stpipe::models::open(r.references.at("gain"));
  EXPECT_EQ(g->array("data").shape(), (std::vector<std::int64_t>{2048, 2048}));
  expect_crds_resolves(r);
}

TEST(Simulate, BadArgumentsExitTwo) {
  TempDir d;
  const std::string dir = d.path().string();
  using stpipe::sim::simulate_command;
  testing::internal::CaptureStderr();
  EXPECT_EQ(simulate_command({"--instrument", "HUBBLE", "--output-dir", dir}), 2);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("unknown instrument 'HUBBLE'"),
            std::string::npos);
  testing::internal::CaptureStderr();
  EXPECT_EQ(simulate_command({"--ngroups", "many", "--output-dir", dir}), 2);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("--ngroups expects an integer"),
            std::string::npos);
  testing::internal::CaptureStderr();
  EXPECT_EQ(simulate_command({"--nints", "1"}), 2);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("--output-dir is required"),
            std::string::npos);
  testing::internal::CaptureStderr();
  EXPECT_EQ(simulate_command({"--output-dir", dir, "--bogus"}), 2);
  EXPECT_EQ(simulate_command({"--output-dir", dir, "--subarray", "WEIRD"}), 2);
  EXPECT_EQ(simulate_command({"--output-dir", dir, "--readpatt", "SLOW"}), 2);
  EXPECT_EQ(simulate_command({"--output-dir", dir, "--size", "64"}), 2);
  testing::internal::GetCapturedStderr();
  testing::internal::CaptureStdout();
  EXPECT_EQ(simulate_command(
                {"--output-dir", dir, "--size", "32", "32", "--ngroups", "3", "--seed", "3"}),
            0);
  testing::internal::GetCapturedStdout();
  EXPECT_TRUE(fs::exists(d.path() / "sim_nircam_nrca1_uncal.fits"));
}

}  // namespace
