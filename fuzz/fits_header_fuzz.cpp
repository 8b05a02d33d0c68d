// libFuzzer target for the FITS model reader: any bytes must give a model or an stpipe::Error
// (IoError naming the file), never a crash or another exception; a model that opens must save.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "stpipe/models/datamodel.h"
#include "stpipe/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = [] {
    std::string d =
        std::filesystem::temp_directory_path() / ("fits_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    stpipe::models::set_warning_handler([](const std::string&) {});
    return d;
  }();
  const std::string in = dir + "/in.fits";
  {
    std::ofstream f(in, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    auto m = stpipe::models::open(in);
    std::size_t total = 0;
    for (auto& n : m->array_names()) total += m->array(n).nbytes();
    if (total < (std::size_t{1} << 24)) m->save(dir + "/out.fits");
  } catch (const stpipe::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}
