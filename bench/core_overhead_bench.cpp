// Framework overhead: a 20-step pipeline of steps that do nothing, run on an in-memory dataset.
#include <benchmark/benchmark.h>

#include "stpipe/core/json_product.h"
#include "stpipe/core/step.h"
#include "stpipe/log/logging.h"

// Runs NoOpPipeline20 with the stpipe loggers at `level` (records below it are not formatted).
static void run_pipeline20(benchmark::State& state, spdlog::level::level_enum level) {
  stpipe::log::LogConfig cfg;
  cfg.handlers = {"null"};
  cfg.level = level;
  stpipe::log::configure(cfg);
  auto product = std::make_shared<stpipe::JsonProduct>();
  product->data() = {1.0, 2.0, 3.0};
  auto pipeline = stpipe::Step::build("NoOpPipeline20", stpipe::Datum(), {});
  for (auto _ : state) {
    auto r = pipeline->run(stpipe::Datum(product));
    benchmark::DoNotOptimize(r);
  }
  state.counters["us_per_step"] =
      benchmark::Counter(20.0 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

static void BM_Pipeline20NoOpSteps(benchmark::State& state) {
  run_pipeline20(state, spdlog::level::warn);
}
BENCHMARK(BM_Pipeline20NoOpSteps)
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

static void BM_Pipeline20NoOpStepsLoggingInfo(benchmark::State& state) {
  run_pipeline20(state, spdlog::level::info);  // every record formatted, as in a normal run
}
BENCHMARK(BM_Pipeline20NoOpStepsLoggingInfo)
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

BENCHMARK_MAIN();
