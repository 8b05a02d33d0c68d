// Memory bandwidth of this machine, in the same shape as most Detector1 steps: an in-place
// read-modify-write (a *= k) over 256 MiB with OpenMP threads; GB/s counts read + write.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstddef>
#include <memory>

static void BM_InPlaceRmw(benchmark::State& state) {
  const std::size_t n = (256u << 20) / sizeof(float);
  std::unique_ptr<float[]> a(new float[n]);
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < n; ++i) a[i] = 1.0f;  // pre-fault with the threads that use it
  for (auto _ : state) {
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < n; ++i) a[i] *= 1.0000001f;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 2 * n * sizeof(float));
  state.counters["threads"] = omp_get_max_threads();
}
BENCHMARK(BM_InPlaceRmw)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(7)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

BENCHMARK_MAIN();
