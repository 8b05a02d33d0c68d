// Benchmark: load the jwst_0541.pmap closure (124 mappings) and resolve a NIRCam exposure's
// 10 detector reference types. Run with --benchmark_repetitions=N for the median.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "stpipe/crds/context.h"

namespace {

const std::string kMappings = std::string(STPIPE_SHARED_DIR) + "/data/crds/cache/mappings/jwst";

const stpipe::crds::Header kHeader = {
    {"META.INSTRUMENT.NAME", "NIRCAM"},      {"META.INSTRUMENT.DETECTOR", "NRCA1"},
    {"META.OBSERVATION.DATE", "2016-01-01"}, {"META.OBSERVATION.TIME", "00:00:00"},
    {"META.EXPOSURE.TYPE", "NRC_IMAGE"},     {"META.EXPOSURE.READPATT", "RAPID"},
    {"META.SUBARRAY.NAME", "FULL"},          {"META.INSTRUMENT.FILTER", "F115W"},
    {"META.INSTRUMENT.PUPIL", "CLEAR"},      {"META.INSTRUMENT.CHANNEL", "SHORT"}};

const std::vector<std::string> kTypes = {"dark",      "mask",       "superbias", "gain",
                                         "readnoise", "saturation", "linearity", "ipc",
                                         "persat",    "trapdensity"};

bool have_data(benchmark::State& state) {
  if (std::filesystem::exists(kMappings)) return true;
  state.SkipWithError("shared/data/crds is absent");
  return false;
}

// Load (parse + sha1sum-check + compile all 124 mappings) and resolve the 10 types.
void BM_LoadAndResolve(benchmark::State& state) {
  if (!have_data(state)) return;
  for (auto _ : state) {
    auto ctx = stpipe::crds::Context::load_from_directory("jwst_0541.pmap", kMappings);
    auto refs = ctx.best_references(kHeader, kTypes);
    if (refs.size() != kTypes.size() || !refs.at("dark").ok())
      state.SkipWithError("unexpected lookup result");
    benchmark::DoNotOptimize(refs);
  }
}
BENCHMARK(BM_LoadAndResolve)->Unit(benchmark::kMillisecond)->UseRealTime();

// Loading alone.
void BM_LoadContext(benchmark::State& state) {
  if (!have_data(state)) return;
  for (auto _ : state) {
    auto ctx = stpipe::crds::Context::load_from_directory("jwst_0541.pmap", kMappings);
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_LoadContext)->Unit(benchmark::kMillisecond)->UseRealTime();

// Resolving the 10 types on an already loaded context.
void BM_ResolveOnly(benchmark::State& state) {
  if (!have_data(state)) return;
  auto ctx = stpipe::crds::Context::load_from_directory("jwst_0541.pmap", kMappings);
  for (auto _ : state) {
    auto refs = ctx.best_references(kHeader, kTypes);
    benchmark::DoNotOptimize(refs);
  }
}
BENCHMARK(BM_ResolveOnly)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
