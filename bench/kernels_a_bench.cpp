// Benchmarks of the kernels-a Detector1 kernels on a synthetic 1x10x2048x2048 ramp (in place).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "big_vector.h"
#include "stpipe/steps/dark_current.h"
#include "stpipe/steps/dq_init.h"
#include "stpipe/steps/flat_field.h"
#include "stpipe/steps/ipc.h"
#include "stpipe/steps/lastframe.h"
#include "stpipe/steps/linearity.h"
#include "stpipe/steps/reset.h"
#include "stpipe/steps/saturation.h"
#include "stpipe/steps/superbias.h"

namespace st = stpipe::steps;
template <class T>
using bvec = stpipe::bench::big_vector<T>;

namespace {

constexpr std::int64_t kN = 2048, kG = 10;

// All arrays allocated and written once (pre-faulted); kernels then run in place on them.
// Values are chosen so that repeated application stays finite and in range.
struct Fixture {
  st::RampShape shape{1, kG, kN, kN};
  bvec<float> data, thr, bias, coeffs, dark, reset, ipc_kernel, flat, flat_err;
  bvec<float> rate, err, vp, vr, vf;
  bvec<std::uint8_t> gdq;
  bvec<std::uint32_t> pdq, mask, sdq, bias_dq, lin_dq, dark_dq, reset_dq, flat_dq, rdq;
  Fixture() {
    const std::int64_t npix = kN * kN;
    // Ramps: 1000 DN bias + rate*(g+1); 3% of pixels are bright and saturate part-way.
    data.resize(shape.size());
    for (std::int64_t p = 0; p < npix; ++p) {
      const std::uint32_t h = static_cast<std::uint32_t>(p) * 2654435761u;
      const float rate =
          (h % 100u < 3u) ? 4000.0f + static_cast<float>(h % 9000u) : static_cast<float>(h % 400u);
      for (std::int64_t g = 0; g < kG; ++g)
        data[g * npix + p] = 1000.0f + rate * static_cast<float>(g + 1);
    }
    gdq.assign(shape.size(), 0);
    pdq.assign(npix, 0);
    mask.resize(npix);
    for (std::int64_t p = 0; p < npix; ++p) mask[p] = (p % 997 == 0) ? 1u : 0u;
    thr.assign(npix, 58000.0f);
    sdq.assign(npix, 0);
    bias.assign(npix, 1e-3f);
    bias_dq.assign(npix, 0);
    coeffs.assign(5 * npix, 0.0f);
    for (std::int64_t p = 0; p < npix; ++p) {
      coeffs[npix + p] = 1.0f;
      coeffs[2 * npix + p] = 1e-12f;
    }
    lin_dq.assign(npix, 0);
    dark.assign(kG * npix, 1e-3f);
    dark_dq.assign(npix, 0);
    reset.assign(kG * npix, -1e-3f);
    reset_dq.assign(npix, 0);
    ipc_kernel = {0.0f, 0.01f, 0.0f, 0.01f, 0.96f, 0.01f, 0.0f, 0.01f, 0.0f};
    flat.assign(npix, 1.0f);
    flat_err.assign(npix, 0.01f);
    flat_dq.assign(npix, 0);
    rate.assign(npix, 3.0f);
    err.assign(npix, 1.0f);
    vp.assign(npix, 0.5f);
    vr.assign(npix, 0.5f);
    vf.assign(npix, 0.0f);
    rdq.assign(npix, 0);
  }
};

Fixture& fx() {
  static Fixture f;
  return f;
}

// Minimum bytes each kernel must move (spec section 5.2), for an effective GB/s counter.
void finish(benchmark::State& s, double mb) {
  s.counters["GB/s"] = benchmark::Counter(mb * 1e6 * static_cast<double>(s.iterations()),
                                          benchmark::Counter::kIsRate);
}

void BM_dq_init(benchmark::State& s) {
  auto& f = fx();
  for (auto _ : s) st::dq_init(f.shape, f.gdq, f.pdq, f.mask);
  finish(s, 134);
}

void BM_saturation(benchmark::State& s) {
  auto& f = fx();
  st::SaturationOptions o;
  o.nframes = static_cast<int>(s.range(0));
  // Each run starts from a clean groupdq (saturation is not idempotent on its own output:
  // grown SAT bits become extra sources). The reset is outside the timed region.
  for (auto _ : s) {
    s.PauseTiming();
    std::fill(f.gdq.begin(), f.gdq.end(), std::uint8_t{0});
    s.ResumeTiming();
    st::flag_saturation(f.shape, f.data, f.gdq, f.pdq, f.thr, f.sdq, f.bias, {}, o);
  }
  finish(s, 336);
}

void BM_ipc(benchmark::State& s) {
  auto& f = fx();
  const auto b = st::ipc_reference_borders(false, 1, 1, kN, kN);
  for (auto _ : s) st::ipc_convolve(f.shape, f.data, f.ipc_kernel, 3, 3, b);
  finish(s, 336);
}

void BM_superbias(benchmark::State& s) {
  auto& f = fx();
  for (auto _ : s) st::subtract_superbias(f.shape, f.data, f.pdq, f.bias, f.bias_dq);
  finish(s, 403);
}

void BM_linearity(benchmark::State& s) {
  auto& f = fx();
  for (auto _ : s) st::correct_linearity(f.shape, f.data, f.gdq, f.pdq, f.coeffs, 5, f.lin_dq);
  finish(s, 512);
}

void BM_dark_current(benchmark::State& s) {
  auto& f = fx();
  st::DarkReadout dr{false, 1, kG, 1, 0};
  for (auto _ : s) st::subtract_dark(f.shape, 1, 0, f.data, f.pdq, f.dark, dr, f.dark_dq);
  finish(s, 554);
}

void BM_reset(benchmark::State& s) {
  auto& f = fx();
  for (auto _ : s) st::subtract_reset(f.shape, f.data, f.pdq, f.reset, {1, kG}, f.reset_dq);
  finish(s, 554);
}

void BM_lastframe(benchmark::State& s) {
  auto& f = fx();
  for (auto _ : s) st::flag_last_frame(f.shape, f.gdq);
  finish(s, 8.4);
}

void BM_flat_field(benchmark::State& s) {
  auto& f = fx();
  st::FlatFieldTarget t{1, kN, kN, f.rate, f.rdq, f.err, f.vp, f.vr, f.vf};
  for (auto _ : s) st::apply_flat_field(t, f.flat, f.flat_dq, f.flat_err);
  finish(s, 235);
}

}  // namespace

#define KA_BENCH(fn) BENCHMARK(fn)->Unit(benchmark::kMillisecond)->UseRealTime()
KA_BENCH(BM_dq_init);
KA_BENCH(BM_saturation)->Arg(1)->Arg(4);
KA_BENCH(BM_ipc);
KA_BENCH(BM_superbias);
KA_BENCH(BM_linearity);
KA_BENCH(BM_dark_current);
KA_BENCH(BM_reset);
KA_BENCH(BM_lastframe);
KA_BENCH(BM_flat_field);

BENCHMARK_MAIN();
