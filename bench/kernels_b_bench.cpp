// Benchmarks of the jump and ramp_fit kernels on a synthetic 1x10x2048x2048 float32 ramp.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "big_vector.h"
#include "stpipe/steps/dqflags.h"
#include "stpipe/steps/jump.h"
#include "stpipe/steps/ramp_fit.h"

namespace st = stpipe::steps;
template <class T>
using bvec = stpipe::bench::big_vector<T>;

namespace {

// A deterministic NIRCam-like exposure after dark subtraction: per-pixel rates, read and
// Poisson-like noise, cosmic rays (2e-4 per group), a few saturating pixels, 4 reference
// rows/columns flagged DO_NOT_USE. Allocated and touched once.
struct Exposure {
  st::RampShape shape{1, 10, 2048, 2048};
  st::ReadoutTiming timing{10.73677, 10.73677, 1, 0};
  bvec<float> data, gain, rn;
  bvec<std::uint8_t> gdq0, gdq;
  bvec<std::uint32_t> pdq0, pdq;
  st::RateProduct rate, rateints;

  Exposure() {
    const std::int64_t P = shape.npix(), G = shape.ngroups, nx = shape.nx;
    data.resize(shape.size());
    gdq0.assign(shape.size(), 0);
    pdq0.assign(P, 0);
    gain.assign(P, 2.05f);
    rn.assign(P, 7.0f);
    std::uint64_t s = 0x9E3779B97F4A7C15ull;
    auto uni = [&s]() {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      return static_cast<double>(s >> 11) * (1.0 / 9007199254740992.0);
    };
    auto normal = [&]() { return (uni() + uni() + uni() + uni() - 2.0) * 1.7320508; };
    for (std::int64_t p = 0; p < P; ++p) {
      const std::int64_t y = p / nx, x = p % nx;
      const bool ref = y < 4 || x < 4 || y >= shape.ny - 4 || x >= nx - 4;
      const double rate = uni() < 0.001 ? 800.0 : 0.5 + 40.0 * uni() * uni();
      gain[p] = static_cast<float>(1.9 + 0.3 * uni());
      rn[p] = static_cast<float>(5.0 + 4.0 * uni());
      double acc = 0.0;
      for (std::int64_t g = 0; g < G; ++g) {
        acc += rate * timing.group_time + std::sqrt(rate * timing.group_time / gain[p]) * normal();
        if (uni() < 2e-4) acc += 200.0 + 2000.0 * uni();
        const std::int64_t k = g * P + p;
        data[k] = static_cast<float>(acc + rn[p] * 0.70710678 * normal());  // rn is CDS
        if (data[k] > 60000.0f || (g > 0 && (gdq0[k - P] & stpipe::dq::kSaturated)))
          gdq0[k] |= stpipe::dq::kSaturated;
        if (ref) gdq0[k] |= stpipe::dq::kDoNotUse;
      }
      if (ref) pdq0[p] = stpipe::dq::kDoNotUse | stpipe::dq::kReferencePixel;
    }
    gdq = gdq0;
    pdq = pdq0;
    rate = st::RateProduct(P);
    rateints = st::RateProduct(P);
  }
  void reset() {
    std::memcpy(gdq.data(), gdq0.data(), gdq.size());
    std::memcpy(pdq.data(), pdq0.data(), pdq.size() * sizeof(pdq[0]));
  }
  st::RampFitInputs fit_inputs() {
    st::RampFitInputs in;
    in.shape = shape;
    in.timing = timing;
    in.data = data;
    in.groupdq = gdq;
    in.pixeldq = pdq;
    in.gain = gain;
    in.readnoise = rn;
    return in;
  }
};

Exposure& exposure() {
  static Exposure e;
  return e;
}

void BM_Jump(benchmark::State& state) {
  Exposure& e = exposure();
  for (auto _ : state) {
    state.PauseTiming();
    e.reset();
    state.ResumeTiming();
    auto r = st::detect_jumps(e.shape, e.timing, e.data, e.gdq, e.pdq, e.gain, e.rn);
    benchmark::DoNotOptimize(r.primary_crs);
    state.counters["scalar_pixels"] = static_cast<double>(r.scalar_pixels);
  }
  state.counters["pixels/s"] = benchmark::Counter(static_cast<double>(e.shape.npix()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RampFit(benchmark::State& state) {
  Exposure& e = exposure();
  e.reset();
  st::detect_jumps(e.shape, e.timing, e.data, e.gdq, e.pdq, e.gain, e.rn);
  const auto in = e.fit_inputs();
  for (auto _ : state) {
    const auto stats = st::fit_ramps(in, {}, e.rate.view(), e.rateints.view(), nullptr);
    benchmark::DoNotOptimize(stats.scalar_pixels);
    state.counters["scalar_pixels"] = static_cast<double>(stats.scalar_pixels);
    benchmark::DoNotOptimize(e.rate.slope.data());
  }
  state.counters["pixels/s"] = benchmark::Counter(static_cast<double>(e.shape.npix()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

// Snowball flagging on the groupdq after the two-point search (the exposure's saturated pixels
// and cosmic rays with their neighbours), as with expand_large_events.
void BM_LargeEvents(benchmark::State& state) {
  Exposure& e = exposure();
  e.reset();
  st::detect_jumps(e.shape, e.timing, e.data, e.gdq, e.pdq, e.gain, e.rn);
  const auto after_jump = e.gdq;
  std::int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::memcpy(e.gdq.data(), after_jump.data(), after_jump.size());
    state.ResumeTiming();
    n = st::flag_large_events(e.shape, e.gdq);
    benchmark::DoNotOptimize(n);
  }
  state.counters["snowballs"] = static_cast<double>(n);
}

}  // namespace

// The fastest repetition too: on a shared VM, other tenants only ever add time.
double fastest(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

BENCHMARK(BM_LargeEvents)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_Jump)
    ->ComputeStatistics("min", fastest)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_RampFit)
    ->ComputeStatistics("min", fastest)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

#ifndef KB_NO_MAIN
BENCHMARK_MAIN();
#endif
