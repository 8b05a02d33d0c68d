// Model I/O timings for bench/model_io.sh (not a Google Benchmark program: each run is its own
// process so /usr/bin/time -v can give the peak memory of one operation).
//   model_io open IN       open IN as a RampModel (uint16 raw data read into float32)
//   model_io save IN OUT   open IN as a RampModel (not timed), then save it to OUT (float32)
// Prints the seconds of the timed part.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "stpipe/models/datamodel.h"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "open" && argc == 3) || (mode == "save" && argc == 4))) {
    std::fprintf(stderr, "usage: model_io open IN | model_io save IN OUT\n");
    return 2;
  }
  try {
    auto t0 = Clock::now();
    auto m = stpipe::models::open_as(argv[2], "RampModel");
    double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (mode == "save") {
      t0 = Clock::now();
      m->save(argv[3]);
      seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    std::printf("%.4f %zu\n", seconds, m->array("data").nbytes());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model_io: %s\n", e.what());
    return 1;
  }
  return 0;
}
