// Seeded simulator of raw JWST exposures with known truth, matching references and a CRDS cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace stpipe::sim {

/// What to simulate. Zero/empty fields take instrument defaults (see docs/simulator.md).
struct SimulationConfig {
  std::filesystem::path output_dir;  ///< required
  std::string instrument = "NIRCAM";
  std::string detector;  ///< default per instrument (NRCA1, MIRIMAGE, NIS, NRS1, GUIDER1)
  std::string subarray;  ///< FULL, SUB256, SUB64P, ...; default from the size
  std::int64_t nx = 0;   ///< 0 = size of the subarray
  std::int64_t ny = 0;
  int nints = 1;
  int ngroups = 10;
  std::string readpatt;  ///< default RAPID-like pattern of the instrument
  std::uint64_t seed = 1;
  std::filesystem::path crds_cache;  ///< default <output_dir>/crds_cache
  std::string name;                  ///< file root; default "sim_<instrument>_<detector>"
  bool full_frame_refs = false;      ///< references cover the full detector
  int n_sources = -1;                ///< -1 = about 40 per 2048x2048, at least 3
  double background = 1.0;           ///< DN/s
  double cosmic_ray_rate = 1e-4;     ///< hits per pixel per second
  std::string date = "2025-01-01";
  std::string time = "00:00:00.000";
};

/// One injected cosmic ray: the jump appears in `group` (0-based) of integration `integration`.
struct CosmicRay {
  int integration = 0;
  int group = 0;
  std::int64_t y = 0;
  std::int64_t x = 0;
  double amplitude = 0;  ///< linear DN added to the accumulated charge
};

/// One point source: centre (0-based pixel of the exposure), total rate in DN/s, PSF sigma (px).
struct Source {
  double x = 0, y = 0, flux = 0, sigma = 1;
};

/// Paths written and the truth kept in memory for tests and benchmarks.
struct SimulationResult {
  std::filesystem::path uncal;
  std::filesystem::path truth_json;
  std::filesystem::path truth_rate;
  std::filesystem::path crds_cache;
  std::string context;                                      ///< the .pmap written
  std::map<std::string, std::filesystem::path> references;  ///< reftype (lower) -> file
  std::vector<CosmicRay> cosmic_rays;
  std::vector<Source> sources;
  std::int64_t saturated_pixels = 0;  ///< pixels reaching saturation in some integration
  double frame_time = 0, group_time = 0;
  int nframes = 1, groupgap = 0;
};

/// Simulates the exposure and writes every output. Throws ConfigError for bad settings,
/// IoError when a file cannot be written.
SimulationResult simulate(const SimulationConfig& config);

/// `stpipe simulate ...` (arguments after "simulate"). Returns the exit code: 0, 2 for bad
/// arguments, or the code of the error raised.
int simulate_command(const std::vector<std::string>& args);

}  // namespace stpipe::sim
