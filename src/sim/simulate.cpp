// simulate(): seeded raw JWST ramps with known truth, matching reference files and a CRDS cache.
#include "stpipe/sim/simulate.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "stpipe/crds/cache.h"
#include "stpipe/crds/mapping.h"
#include "stpipe/models/datamodel.h"
#include "stpipe/steps/dqflags.h"
#include "stpipe/util/error.h"

namespace stpipe::sim {
namespace {

namespace fs = std::filesystem;
using models::Array;
using models::DType;
using nlohmann::json;

// ---- counter-based random numbers: every stream is a pure function of (seed, keys) ----
std::uint64_t mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t key(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0,
                  std::uint64_t d = 0) {
  return mix(seed ^ mix(a ^ mix(b ^ mix(c ^ mix(d)))));
}

double to_unit(std::uint64_t v) { return (static_cast<double>(v >> 11) + 0.5) * 0x1.0p-53; }

// A small sequential generator seeded from a key; normal() by Box-Muller, both values used.
class Rng {
 public:
  explicit Rng(std::uint64_t k) : s_(k) {}
  std::uint64_t next() { return mix(s_ += 0x632be59bd9b4e019ULL); }
  double uniform() { return to_unit(next()); }
  double normal() {
    if (have_) {
      have_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    const double t = 2.0 * M_PI * uniform();
    spare_ = r * std::sin(t);
    have_ = true;
    return r * std::cos(t);
  }
  // Poisson deviate: exact (Knuth) for small means, rounded normal approximation above 12.
  double poisson(double mean) {
    if (mean <= 0) return 0;
    if (mean > 12) return std::max(0.0, std::round(mean + std::sqrt(mean) * normal()));
    const double l = std::exp(-mean);
    double p = 1;
    int k = -1;
    do {
      ++k;
      p *= uniform();
    } while (p > l);
    return k;
  }

 private:
  std::uint64_t s_;
  bool have_ = false;
  double spare_ = 0;
};

enum Stream : std::uint64_t {
  kBias = 1,
  kReadnoise,
  kGain,
  kNonlin,
  kDark,
  kFlat,
  kBadPix,
  kSources,
  kCosmic,
  kFrame
};

// Per-pixel detector properties at absolute detector pixel (Y, X) (0-based), so references of
// any extent (subarray or full frame) agree with the exposure.
struct PixelModel {
  std::uint64_t seed;
  double unit(Stream s, std::int64_t y, std::int64_t x) const {
    return to_unit(key(seed, s, static_cast<std::uint64_t>(y), static_cast<std::uint64_t>(x)));
  }
  double gauss(Stream s, std::int64_t y, std::int64_t x) const {
    const double u1 = unit(s, y, x);
    const double u2 =
        to_unit(key(seed, s + 100, static_cast<std::uint64_t>(y), static_cast<std::uint64_t>(x)));
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  double bias(std::int64_t y, std::int64_t x) const { return 12000.0 + 300.0 * gauss(kBias, y, x); }
  double readnoise(std::int64_t y, std::int64_t x) const {
    return std::max(5.0, 10.0 + 1.0 * gauss(kReadnoise, y, x));
  }
  double gain(std::int64_t y, std::int64_t x) const {
    return 2.0 * (1.0 + 0.02 * gauss(kGain, y, x));
  }
  double nonlin(std::int64_t y, std::int64_t x) const {
    return 1.0e-6 * (1.0 + 0.05 * gauss(kNonlin, y, x));
  }
  // 0 good, 1 dead, 2 hot.
  int bad(std::int64_t y, std::int64_t x) const {
    const double u = unit(kBadPix, y, x);
    return u < 5e-4 ? 1 : (u < 1e-3 ? 2 : 0);
  }
  double dark(std::int64_t y, std::int64_t x) const {
    if (bad(y, x) == 2) return 5.0;
    return std::max(0.0, 0.01 * (1.0 + 0.3 * gauss(kDark, y, x)));
  }
  double flat(std::int64_t y, std::int64_t x) const { return 1.0 + 0.01 * gauss(kFlat, y, x); }
};

constexpr double kWell = 50000.0;  // linear DN at which a pixel saturates
constexpr double kSatFraction =
    0.97;  // saturation reference: this fraction of the saturated signal
constexpr int kNcoeff = 5;
constexpr double kIpc[3][3] = {{0, 0.005, 0}, {0.005, 0.98, 0.005}, {0, 0.005, 0}};
constexpr const char* kMapSerial = "9000";

double nonlinear(double q, double a) { return q - a * q * q; }

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct InstrumentInfo {
  std::string detector, exp_type, filter, pupil, readpatt;
  std::int64_t full_nx, full_ny;
  std::map<std::string, std::pair<int, int>> patterns;  // readpatt -> (nframes, groupgap)
};

const InstrumentInfo& instrument_info(const std::string& instrument) {
  static const std::map<std::string, InstrumentInfo> table = {
      {"NIRCAM",
       {"NRCA1",
        "NRC_IMAGE",
        "F200W",
        "CLEAR",
        "RAPID",
        2048,
        2048,
        {{"RAPID", {1, 0}},
         {"BRIGHT1", {1, 1}},
         {"BRIGHT2", {2, 0}},
         {"SHALLOW2", {2, 3}},
         {"SHALLOW4", {4, 1}},
         {"MEDIUM2", {2, 8}},
         {"MEDIUM8", {8, 2}},
         {"DEEP2", {2, 18}},
         {"DEEP8", {8, 12}}}}},
      {"MIRI",
       {"MIRIMAGE",
        "MIR_IMAGE",
        "F770W",
        "",
        "FAST",
        1032,
        1024,
        {{"FAST", {1, 0}}, {"FASTR1", {1, 0}}, {"SLOW", {1, 0}}, {"SLOWR1", {1, 0}}}}},
      {"NIRISS",
       {"NIS",
        "NIS_IMAGE",
        "CLEAR",
        "F150W",
        "NISRAPID",
        2048,
        2048,
        {{"NISRAPID", {1, 0}}, {"NIS", {4, 0}}}}},
      {"NIRSPEC",
       {"NRS1",
        "NRS_IMAGE",
        "CLEAR",
        "",
        "NRSRAPID",
        2048,
        2048,
        {{"NRSRAPID", {1, 0}}, {"NRS", {4, 0}}, {"NRSIRS2RAPID", {1, 0}}}}},
      {"FGS",
       {"GUIDER1",
        "FGS_IMAGE",
        "",
        "",
        "FGSRAPID",
        2048,
        2048,
        {{"FGSRAPID", {1, 0}}, {"FGS", {4, 0}}}}},
  };
  auto it = table.find(instrument);
  if (it == table.end())
    throw ConfigError("simulate: unknown instrument '" + instrument +
                      "' (expected NIRCAM, MIRI, NIRISS, NIRSPEC or FGS)");
  return it->second;
}

// Size of a named subarray: FULL, or the digits of SUBnnn[...] (square), or a few MIRI names.
std::optional<std::pair<std::int64_t, std::int64_t>> subarray_size(const std::string& name,
                                                                   const InstrumentInfo& info) {
  if (name == "FULL") return std::make_pair(info.full_nx, info.full_ny);
  static const std::map<std::string, std::pair<std::int64_t, std::int64_t>> miri = {
      {"BRIGHTSKY", {512, 512}}, {"SUB128", {136, 128}}, {"SUB64", {72, 64}}};
  if (info.detector == "MIRIMAGE") {
    auto it = miri.find(name);
    if (it != miri.end()) return it->second;
  }
  if (name.rfind("SUB", 0) == 0) {
    std::size_t i = 3;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
    if (i > 3) {
      const std::int64_t n = std::stoll(name.substr(3, i - 3));
      return std::make_pair(n, n);
    }
  }
  return std::nullopt;
}

// JWST-like frame time: NIR detectors read (xsize/namps + 12) * (ysize + 1) pixels at 10 us
// (4 outputs for full width, 1 otherwise: NIRCam full frame 10.737 s); MIRI scales its full
// frame time (2.775 s FAST, 23.89 s SLOW) with the pixel count.
double frame_time(const std::string& instrument, const std::string& readpatt, std::int64_t nx,
                  std::int64_t ny, const InstrumentInfo& info) {
  if (instrument == "MIRI") {
    const double full = readpatt.rfind("SLOW", 0) == 0 ? 23.88834 : 2.77504;
    return full * static_cast<double>(nx * ny) / static_cast<double>(info.full_nx * info.full_ny);
  }
  const std::int64_t namps = nx == info.full_nx ? 4 : 1;
  return (static_cast<double>(nx) / namps + 12.0) * static_cast<double>(ny + 1) * 1e-5;
}

// Everything derived from the configuration before any pixel is made.
struct Plan {
  SimulationConfig c;
  const InstrumentInfo* info = nullptr;
  std::int64_t nx = 0, ny = 0, xstart = 1, ystart = 1;
  int nframes = 1, groupgap = 0;
  double tframe = 0, tgroup = 0;
  fs::path cache;
};

Plan make_plan(const SimulationConfig& in) {
  Plan p;
  p.c = in;
  SimulationConfig& c = p.c;
  if (c.output_dir.empty()) throw ConfigError("simulate: --output-dir is required");
  c.instrument = upper(c.instrument);
  p.info = &instrument_info(c.instrument);
  const InstrumentInfo& info = *p.info;
  if (c.detector.empty()) c.detector = info.detector;
  c.detector = upper(c.detector);
  if (c.readpatt.empty()) c.readpatt = info.readpatt;
  c.readpatt = upper(c.readpatt);
  auto pat = info.patterns.find(c.readpatt);
  if (pat == info.patterns.end())
    throw ConfigError("simulate: readout pattern '" + c.readpatt + "' is not known for " +
                      c.instrument);
  p.nframes = pat->second.first;
  p.groupgap = pat->second.second;
  if (c.nints < 1) throw ConfigError("simulate: --nints must be at least 1");
  if (c.ngroups < 2) throw ConfigError("simulate: --ngroups must be at least 2");
  if ((c.nx != 0) != (c.ny != 0)) throw ConfigError("simulate: give both NX and NY");
  c.subarray = upper(c.subarray);
  if (c.nx != 0) {
    p.nx = c.nx;
    p.ny = c.ny;
    if (c.subarray.empty())
      c.subarray = (p.nx == info.full_nx && p.ny == info.full_ny)
                       ? "FULL"
                       : (p.nx == p.ny ? "SUB" + std::to_string(p.nx)
                                       : "SUB" + std::to_string(p.nx) + "X" + std::to_string(p.ny));
  } else {
    if (c.subarray.empty()) c.subarray = "FULL";
    auto size = subarray_size(c.subarray, info);
    if (!size)
      throw ConfigError("simulate: unknown subarray '" + c.subarray +
                        "'; give its size with --size");
    p.nx = size->first;
    p.ny = size->second;
  }
  if (p.nx < 8 || p.ny < 8 || p.nx > info.full_nx || p.ny > info.full_ny)
    throw ConfigError("simulate: size " + std::to_string(p.nx) + "x" + std::to_string(p.ny) +
                      " is outside 8x8 .. " + std::to_string(info.full_nx) + "x" +
                      std::to_string(info.full_ny));
  // Subarrays sit in the detector's corner at (1, 1), as most JWST subarrays touch an edge.
  p.tframe = frame_time(c.instrument, c.readpatt, p.nx, p.ny, info);
  p.tgroup = (p.nframes + p.groupgap) * p.tframe;
  if (c.name.empty()) c.name = "sim_" + lower(c.instrument) + "_" + lower(c.detector);
  p.cache = c.crds_cache.empty() ? c.output_dir / "crds_cache" : c.crds_cache;
  return p;
}

// ---- scene and cosmic rays ----
std::vector<Source> make_sources(const Plan& p) {
  const SimulationConfig& c = p.c;
  Rng rng(key(c.seed, kSources));
  const double area = static_cast<double>(p.nx * p.ny) / (2048.0 * 2048.0);
  const int n =
      c.n_sources >= 0 ? c.n_sources : std::max(3, static_cast<int>(std::lround(40 * area)));
  std::vector<Source> out;
  const double margin = std::min<double>(5.0, std::min(p.nx, p.ny) / 4.0);
  for (int i = 0; i < n; ++i) {
    Source s;
    s.x = margin + rng.uniform() * (static_cast<double>(p.nx) - 1 - 2 * margin);
    s.y = margin + rng.uniform() * (static_cast<double>(p.ny) - 1 - 2 * margin);
    s.sigma = 1.0 + 0.5 * rng.uniform();
    if (i == 0) {
      // The brightest source saturates its peak pixel about half way up the ramp.
      const double t_sat = 0.5 * c.ngroups * p.tgroup;
      s.flux = kWell / t_sat * 2.0 * M_PI * s.sigma * s.sigma;
    } else {
      s.flux = 20.0 * std::pow(1000.0, rng.uniform());  // 20 .. 20000 DN/s
    }
    out.push_back(s);
  }
  return out;
}

std::vector<CosmicRay> make_cosmic_rays(const Plan& p) {
  const SimulationConfig& c = p.c;
  Rng rng(key(c.seed, kCosmic));
  const double expected =
      c.cosmic_ray_rate * static_cast<double>(p.nx * p.ny) * p.tgroup * (c.ngroups - 1) * c.nints;
  const auto n = static_cast<std::int64_t>(std::llround(expected));
  std::vector<CosmicRay> out;
  for (std::int64_t i = 0; i < n; ++i) {
    CosmicRay cr;
    cr.integration = static_cast<int>(rng.next() % static_cast<std::uint64_t>(c.nints));
    cr.group = 1 + static_cast<int>(rng.next() % static_cast<std::uint64_t>(c.ngroups - 1));
    cr.y = static_cast<std::int64_t>(rng.next() % static_cast<std::uint64_t>(p.ny));
    cr.x = static_cast<std::int64_t>(rng.next() % static_cast<std::uint64_t>(p.nx));
    cr.amplitude = std::round(200.0 * std::pow(15.0, rng.uniform()));  // 200 .. 3000 DN
    out.push_back(cr);
  }
  std::stable_sort(out.begin(), out.end(), [](const CosmicRay& a, const CosmicRay& b) {
    return std::tie(a.integration, a.group) < std::tie(b.integration, b.group);
  });
  return out;
}

// Detector-level illumination (DN/s, sky x flat; dead pixels 0) of the exposure region.
std::vector<float> make_rate(const Plan& p, const PixelModel& pm, const std::vector<Source>& src) {
  std::vector<double> sky(static_cast<std::size_t>(p.nx * p.ny), p.c.background);
  for (const Source& s : src) {
    const double r = 5.0 * s.sigma;
    const double norm = s.flux / (2.0 * M_PI * s.sigma * s.sigma);
    const auto y0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(s.y - r)));
    const auto y1 = std::min<std::int64_t>(p.ny - 1, static_cast<std::int64_t>(std::ceil(s.y + r)));
    const auto x0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(s.x - r)));
    const auto x1 = std::min<std::int64_t>(p.nx - 1, static_cast<std::int64_t>(std::ceil(s.x + r)));
    for (auto y = y0; y <= y1; ++y)
      for (auto x = x0; x <= x1; ++x) {
        const double dx = x - s.x, dy = y - s.y;
        sky[y * p.nx + x] += norm * std::exp(-0.5 * (dx * dx + dy * dy) / (s.sigma * s.sigma));
      }
  }
  std::vector<float> rate(sky.size());
  for (std::int64_t y = 0; y < p.ny; ++y)
    for (std::int64_t x = 0; x < p.nx; ++x) {
      const std::int64_t Y = y + p.ystart - 1, X = x + p.xstart - 1;
      const std::size_t i = y * p.nx + x;
      rate[i] = pm.bad(Y, X) == 1 ? 0.0f : static_cast<float>(sky[i] * pm.flat(Y, X));
    }
  return rate;
}

void set_common_meta(models::DataModel& m, const Plan& p) {
  m.set_meta("meta.telescope", "JWST");
  m.set_meta("meta.instrument.name", p.c.instrument);
  m.set_meta("meta.instrument.detector", p.c.detector);
  if (!p.info->filter.empty()) m.set_meta("meta.instrument.filter", p.info->filter);
  if (!p.info->pupil.empty()) m.set_meta("meta.instrument.pupil", p.info->pupil);
}

void set_subarray_meta(models::DataModel& m, const std::string& name, std::int64_t xstart,
                       std::int64_t ystart, std::int64_t nx, std::int64_t ny) {
  m.set_meta("meta.subarray.name", name);
  m.set_meta("meta.subarray.xstart", xstart);
  m.set_meta("meta.subarray.ystart", ystart);
  m.set_meta("meta.subarray.xsize", nx);
  m.set_meta("meta.subarray.ysize", ny);
}

void set_exposure_meta(models::DataModel& m, const Plan& p) {
  m.set_meta("meta.exposure.type", p.info->exp_type);
  m.set_meta("meta.exposure.readpatt", p.c.readpatt);
  m.set_meta("meta.exposure.nints", p.c.nints);
  m.set_meta("meta.exposure.ngroups", p.c.ngroups);
  m.set_meta("meta.exposure.nframes", p.nframes);
  m.set_meta("meta.exposure.groupgap", p.groupgap);
  m.set_meta("meta.exposure.frame_time", p.tframe);
  m.set_meta("meta.exposure.group_time", p.tgroup);
}

// ---- the ramp ----
struct RampTruth {
  std::int64_t saturated = 0;
};

RampTruth write_uncal(const Plan& p, const PixelModel& pm, const std::vector<float>& rate,
                      const std::vector<CosmicRay>& crs, const fs::path& path) {
  const SimulationConfig& c = p.c;
  const std::int64_t nx = p.nx, ny = p.ny, npix = nx * ny;
  // Raw exposures are Level1bModel files with uint16 SCI (BZERO 32768), as downlinked.
  auto model_ptr = models::create_model("Level1bModel");
  models::DataModel& model = *model_ptr;
  model.set_array("data", Array::allocate(DType::kUint16, {c.nints, c.ngroups, ny, nx}));
  std::uint16_t* cube = model.data<std::uint16_t>("data");
  std::vector<float> acc(npix);  // the group being read, before digitisation
  // Per-pixel state and properties of the exposure region.
  std::vector<float> erate(npix), inv_gain(npix), bias(npix), rn(npix), nl(npix), q(npix),
      sig(npix);
  std::vector<std::uint8_t> sat(npix, 0);
  for (std::int64_t y = 0; y < ny; ++y)
    for (std::int64_t x = 0; x < nx; ++x) {
      const std::int64_t Y = y + p.ystart - 1, X = x + p.xstart - 1, i = y * nx + x;
      const double g = pm.gain(Y, X);
      const double dk = pm.bad(Y, X) == 1 ? 0.0 : pm.dark(Y, X);
      erate[i] = static_cast<float>((rate[i] + dk) * g * p.tframe);  // electrons per frame
      inv_gain[i] = static_cast<float>(1.0 / g);
      bias[i] = static_cast<float>(pm.bias(Y, X));
      rn[i] = static_cast<float>(pm.readnoise(Y, X));
      nl[i] = static_cast<float>(pm.nonlin(Y, X));
    }
  std::size_t next_cr = 0;
  const int frames_per_group = p.nframes + p.groupgap;
  for (int it = 0; it < c.nints; ++it) {
    std::fill(q.begin(), q.end(), 0.0f);
    for (int g = 0; g < c.ngroups; ++g) {
      std::uint16_t* out16 = cube + (static_cast<std::int64_t>(it) * c.ngroups + g) * npix;
      float* out = acc.data();
      std::fill(sig.begin(), sig.end(), 0.0f);
      while (next_cr < crs.size() && crs[next_cr].integration == it && crs[next_cr].group == g) {
        const CosmicRay& cr = crs[next_cr++];
        const std::int64_t i = cr.y * nx + cr.x;
        q[i] = static_cast<float>(std::min(kWell, q[i] + cr.amplitude));
        if (q[i] >= kWell) sat[i] = 1;
      }
      const double inv_nf = 1.0 / p.nframes;
      // Read frames (averaged into the group), then the frames dropped between groups, which
      // still collect charge (none after the last group).
      const int frames = g + 1 < c.ngroups ? frames_per_group : p.nframes;
      for (int f = 0; f < frames; ++f) {
        const std::uint64_t frame = static_cast<std::uint64_t>(g) * frames_per_group + f;
        const bool read = f < p.nframes;
#pragma omp parallel for schedule(static)
        for (std::int64_t y = 0; y < ny; ++y) {
          Rng rng(key(c.seed, kFrame, static_cast<std::uint64_t>(it), frame,
                      static_cast<std::uint64_t>(y)));
          for (std::int64_t x = 0; x < nx; ++x) {
            const std::int64_t i = y * nx + x;
            double v = q[i] + rng.poisson(erate[i]) * inv_gain[i];
            if (v >= kWell) {
              v = kWell;
              sat[i] = 1;
            }
            q[i] = static_cast<float>(v);
            if (!read) continue;
            sig[i] += static_cast<float>(nonlinear(v, nl[i]) * inv_nf);
            const float noise = static_cast<float>(rn[i] * rng.normal() * inv_nf);
            out[i] = f == 0 ? noise : out[i] + noise;
          }
        }
      }
      // IPC on the signal, then bias; digitise to integer DN in [0, 65535].
#pragma omp parallel for schedule(static)
      for (std::int64_t y = 0; y < ny; ++y)
        for (std::int64_t x = 0; x < nx; ++x) {
          double s = 0;
          for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx) {
              const double k = kIpc[dy + 1][dx + 1];
              const std::int64_t yy = y + dy, xx = x + dx;
              if (k == 0 || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
              s += k * sig[yy * nx + xx];
            }
          const std::int64_t i = y * nx + x;
          out16[i] = static_cast<std::uint16_t>(
              std::clamp(std::round(bias[i] + s + out[i]), 0.0, 65535.0));
        }
    }
  }
  set_common_meta(model, p);
  set_exposure_meta(model, p);
  set_subarray_meta(model, p.c.subarray, p.xstart, p.ystart, nx, ny);
  const double tint = (c.ngroups * frames_per_group - p.groupgap) * p.tframe;
  model.set_meta("meta.exposure.integration_time", tint);
  model.set_meta("meta.exposure.exposure_time", tint * c.nints);
  model.set_meta("meta.exposure.effective_exposure_time", (c.ngroups - 1) * p.tgroup * c.nints);
  model.set_meta("meta.exposure.integration_start", 1);
  model.set_meta("meta.exposure.integration_end", c.nints);
  model.set_meta("meta.observation.date", c.date);
  model.set_meta("meta.observation.time", c.time);
  model.set_meta("meta.visit.type", "PRIME_TARGETED_FIXED");
  model.save(path);
  RampTruth t;
  for (auto s : sat) t.saturated += s;
  return t;
}

// ---- reference files ----
struct RefRegion {
  std::string subarray;
  std::int64_t xstart, ystart, nx, ny;
};

void set_ref_meta(models::DataModel& m, const Plan& p, const RefRegion& r, const std::string& type,
                  const std::string& description) {
  set_common_meta(m, p);
  set_subarray_meta(m, r.subarray, r.xstart, r.ystart, r.nx, r.ny);
  m.set_meta("meta.reftype", upper(type));
  m.set_meta("meta.useafter", "2000-01-01T00:00:00");
  m.set_meta("meta.author", "stpipe simulate");
  m.set_meta("meta.pedigree", "DUMMY");
  m.set_meta("meta.description", description);
}

// Fills a [ny, nx] float array with f(Y, X) over the region (absolute 0-based coordinates).
template <class F>
Array image(const RefRegion& r, F f) {
  Array a = Array::allocate(DType::kFloat32, {r.ny, r.nx});
  float* d = a.data<float>();
  for (std::int64_t y = 0; y < r.ny; ++y)
    for (std::int64_t x = 0; x < r.nx; ++x)
      d[y * r.nx + x] = static_cast<float>(f(y + r.ystart - 1, x + r.xstart - 1));
  return a;
}

std::uint32_t mask_value(int bad) {
  if (bad == 1) return dq::kDead | dq::kDoNotUse;
  if (bad == 2) return dq::kHot | dq::kDoNotUse;
  return 0;
}

std::map<std::string, fs::path> write_references(const Plan& p, const PixelModel& pm,
                                                 const crds::Cache& cache,
                                                 std::map<std::string, std::string>& names) {
  RefRegion r{p.c.subarray, p.xstart, p.ystart, p.nx, p.ny};
  if (p.c.full_frame_refs) r = {"FULL", 1, 1, p.info->full_nx, p.info->full_ny};
  const std::string stem = "jwst_" + lower(p.c.instrument) + "_";
  const std::string tail = "_sim_" + lower(p.c.detector) + "_" + lower(r.subarray) + ".fits";
  std::map<std::string, fs::path> out;
  auto save = [&](models::DataModel& m, const std::string& type) {
    const std::string name = stem + type + tail;
    const fs::path path = cache.reference_path(name);
    fs::create_directories(path.parent_path());
    m.save(path);
    names[type] = name;
    out[type] = path;
  };
  const std::vector<std::int64_t> shape2{r.ny, r.nx};
  auto dq_of = [&](auto f) {
    Array a = Array::allocate(DType::kUint32, shape2);
    auto* d = a.data<std::uint32_t>();
    for (std::int64_t y = 0; y < r.ny; ++y)
      for (std::int64_t x = 0; x < r.nx; ++x)
        d[y * r.nx + x] = f(y + r.ystart - 1, x + r.xstart - 1);
    return a;
  };
  {
    models::MaskModel m;
    set_ref_meta(m, p, r, "mask", "Simulated bad pixel mask (dead and hot pixels)");
    m.set_array("dq", dq_of([&](auto Y, auto X) { return mask_value(pm.bad(Y, X)); }));
    save(m, "mask");
  }
  {
    models::SaturationModel m;
    set_ref_meta(m, p, r, "saturation", "Simulated saturation thresholds (raw DN)");
    m.set_array("data", image(r, [&](auto Y, auto X) {
                  return pm.bias(Y, X) + kSatFraction * nonlinear(kWell, pm.nonlin(Y, X));
                }));
    m.set_array("dq", dq_of([](auto, auto) { return 0u; }));
    save(m, "saturation");
  }
  {
    models::SuperBiasModel m;
    set_ref_meta(m, p, r, "superbias", "Simulated bias level");
    m.set_array("data", image(r, [&](auto Y, auto X) { return pm.bias(Y, X); }));
    m.set_array("err", Array::full(DType::kFloat32, shape2, 0.0));
    m.set_array("dq", dq_of([](auto, auto) { return 0u; }));
    save(m, "superbias");
  }
  {
    // Inverse of s = q - a q^2: q = s + a s^2 + 2 a^2 s^3 + 5 a^3 s^4 (Catalan series).
    models::LinearityModel m;
    set_ref_meta(m, p, r, "linearity", "Inverse of the simulated non-linearity");
    Array a = Array::allocate(DType::kFloat32, {kNcoeff, r.ny, r.nx});
    float* d = a.data<float>();
    const std::int64_t n = r.nx * r.ny;
    const double catalan[kNcoeff] = {0, 1, 1, 2, 5};
    for (std::int64_t y = 0; y < r.ny; ++y)
      for (std::int64_t x = 0; x < r.nx; ++x) {
        const double al = pm.nonlin(y + r.ystart - 1, x + r.xstart - 1);
        for (int k = 0; k < kNcoeff; ++k)
          d[k * n + y * r.nx + x] = static_cast<float>(catalan[k] * std::pow(al, k - 1));
      }
    m.set_array("coeffs", a);
    m.set_array("dq", dq_of([](auto, auto) { return 0u; }));
    save(m, "linearity");
  }
  {
    // Cumulative dark (linear DN) at the mean time of each group's frames.
    const bool miri = p.c.instrument == "MIRI";
    std::shared_ptr<models::DataModel> m =
        miri ? std::shared_ptr<models::DataModel>(std::make_shared<models::DarkMIRIModel>())
             : std::make_shared<models::DarkModel>();
    set_ref_meta(*m, p, r, "dark", "Simulated dark current");
    set_exposure_meta(*m, p);
    m->set_meta("meta.exposure.nints", 1);
    std::vector<std::int64_t> shape{p.c.ngroups, r.ny, r.nx};
    if (miri) shape.insert(shape.begin(), 1);
    Array a = Array::allocate(DType::kFloat32, shape);
    float* d = a.data<float>();
    const std::int64_t n = r.nx * r.ny;
    std::vector<float> rate(n);
    for (std::int64_t y = 0; y < r.ny; ++y)
      for (std::int64_t x = 0; x < r.nx; ++x) {
        const auto Y = y + r.ystart - 1, X = x + r.xstart - 1;
        rate[y * r.nx + x] = pm.bad(Y, X) == 1 ? 0.0f : static_cast<float>(pm.dark(Y, X));
      }
    for (int g = 0; g < p.c.ngroups; ++g) {
      const double t = (g * (p.nframes + p.groupgap) + (p.nframes + 1) / 2.0) * p.tframe;
      for (std::int64_t i = 0; i < n; ++i) d[g * n + i] = static_cast<float>(rate[i] * t);
    }
    m->set_array("data", a);
    if (!miri) m->set_array("dq", dq_of([](auto, auto) { return 0u; }));
    save(*m, "dark");
  }
  {
    models::GainModel m;
    set_ref_meta(m, p, r, "gain", "Simulated gain (e/DN)");
    m.set_array("data", image(r, [&](auto Y, auto X) { return pm.gain(Y, X); }));
    save(m, "gain");
  }
  {
    models::ReadnoiseModel m;
    set_ref_meta(m, p, r, "readnoise", "Simulated read noise per frame (DN)");
    m.set_array("data", image(r, [&](auto Y, auto X) { return pm.readnoise(Y, X); }));
    save(m, "readnoise");
  }
  {
    models::IPCModel m;
    set_ref_meta(m, p, r, "ipc", "Deconvolution kernel of the simulated IPC");
    // The step convolves with the reference kernel, so it holds the inverse of the simulated
    // IPC: for K = c (1 + e N) (N = the 4 neighbours), K^-1 = (1 - e N + e^2 N^2) / c to 3x3.
    const double c0 = kIpc[1][1], e = kIpc[0][1] / c0;
    const double inv[3][3] = {{2 * e * e / c0, -e / c0, 2 * e * e / c0},
                              {-e / c0, (1 + 4 * e * e) / c0, -e / c0},
                              {2 * e * e / c0, -e / c0, 2 * e * e / c0}};
    Array a = Array::allocate(DType::kFloat32, {3, 3});
    for (int i = 0; i < 9; ++i) a.data<float>()[i] = static_cast<float>(inv[i / 3][i % 3]);
    m.set_array("data", a);
    save(m, "ipc");
  }
  {
    models::FlatModel m;
    set_ref_meta(m, p, r, "flat", "Simulated pixel flat");
    m.set_array("data", image(r, [&](auto Y, auto X) { return pm.flat(Y, X); }));
    m.set_array("err", Array::full(DType::kFloat32, shape2, 0.0));
    m.set_array("dq", dq_of([](auto, auto) { return 0u; }));
    save(m, "flat");
  }
  if (p.c.instrument == "MIRI") {
    models::ResetModel m;
    set_ref_meta(m, p, r, "reset", "Simulated reset anomaly (none)");
    m.set_meta("meta.exposure.nints", 1);
    m.set_meta("meta.exposure.ngroups", p.c.ngroups);
    m.set_array("data", Array::allocate(DType::kFloat32, {1, p.c.ngroups, r.ny, r.nx}));
    m.set_array("dq", dq_of([](auto, auto) { return 0u; }));
    save(m, "reset");
  }
  return out;
}

// ---- CRDS mappings ----
std::string with_checksum(std::string text) {
  const std::string sum = crds::mapping_checksum(text);
  const std::string slot = "'sha1sum' : ''";
  text.replace(text.find(slot), slot.size(), "'sha1sum' : '" + sum + "'");
  return text;
}

void write_text(const fs::path& path, const std::string& text) {
  crds::Cache::install(path, [&](const fs::path& tmp) {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    if (!f) throw IoError("simulate: cannot write '" + tmp.string() + "'");
  });
}

std::string write_mappings(const Plan& p, const crds::Cache& cache,
                           const std::map<std::string, std::string>& ref_names) {
  const std::string instr = lower(p.c.instrument);
  const bool by_subarray = !p.c.full_frame_refs;
  std::map<std::string, std::string> imap_sel;
  for (const char* na : {"area", "distortion", "drizpars", "emicorr", "filteroffset", "persat",
                         "photom", "refpix", "rscd", "trapdensity", "trappars", "reset"})
    imap_sel[na] = "N/A";
  for (const auto& [type, file] : ref_names) {
    const std::string rmap = "jwst_" + instr + "_" + type + "_" + kMapSerial + ".rmap";
    std::ostringstream t;
    t << "header = {\n"
      << "    'classes' : ('Match', 'UseAfter'),\n"
      << "    'derived_from' : 'stpipe simulate',\n"
      << "    'file_ext' : '.fits',\n"
      << "    'filekind' : '" << upper(type) << "',\n"
      << "    'filetype' : '" << upper(type) << "',\n"
      << "    'instrument' : '" << p.c.instrument << "',\n"
      << "    'mapping' : 'REFERENCE',\n"
      << "    'name' : '" << rmap << "',\n"
      << "    'observatory' : 'JWST',\n"
      << "    'parkey' : (("
      << (by_subarray ? "'META.INSTRUMENT.DETECTOR', 'META.SUBARRAY.NAME'"
                      : "'META.INSTRUMENT.DETECTOR',")
      << "), ('META.OBSERVATION.DATE', 'META.OBSERVATION.TIME')),\n"
      << "    'sha1sum' : '',\n"
      << "    'suffix' : '" << type << "',\n"
      << "    'text_descr' : 'Simulated " << type << "',\n"
      << "}\n\n"
      << "selector = Match({\n"
      << "    "
      << (by_subarray ? "('" + p.c.detector + "', '" + p.c.subarray + "')"
                      : "'" + p.c.detector + "'")
      << " : UseAfter({\n"
      << "        '2000-01-01 00:00:00' : '" << file << "',\n"
      << "    }),\n"
      << "})\n";
    write_text(cache.mapping_path(rmap), with_checksum(t.str()));
    imap_sel[type] = rmap;
  }
  const std::string imap = "jwst_" + instr + "_" + kMapSerial + ".imap";
  {
    std::ostringstream t;
    t << "header = {\n"
      << "    'derived_from' : 'stpipe simulate',\n"
      << "    'instrument' : '" << p.c.instrument << "',\n"
      << "    'mapping' : 'INSTRUMENT',\n"
      << "    'name' : '" << imap << "',\n"
      << "    'observatory' : 'JWST',\n"
      << "    'parkey' : ('REFTYPE',),\n"
      << "    'sha1sum' : '',\n"
      << "}\n\nselector = {\n";
    for (const auto& [type, v] : imap_sel) t << "    '" << upper(type) << "' : '" << v << "',\n";
    t << "}\n";
    write_text(cache.mapping_path(imap), with_checksum(t.str()));
  }
  // The context lists every instrument simulated into this cache so far.
  const std::string pmap = std::string("jwst_") + kMapSerial + ".pmap";
  {
    std::ostringstream t;
    t << "header = {\n"
      << "    'derived_from' : 'stpipe simulate',\n"
      << "    'mapping' : 'PIPELINE',\n"
      << "    'name' : '" << pmap << "',\n"
      << "    'observatory' : 'JWST',\n"
      << "    'parkey' : ('META.INSTRUMENT.NAME',),\n"
      << "    'sha1sum' : '',\n"
      << "}\n\nselector = {\n";
    for (const char* i : {"FGS", "MIRI", "NIRCAM", "NIRISS", "NIRSPEC"}) {
      const std::string name = "jwst_" + lower(i) + "_" + kMapSerial + ".imap";
      if (fs::exists(cache.mapping_path(name))) t << "    '" << i << "' : '" << name << "',\n";
    }
    t << "}\n";
    write_text(cache.mapping_path(pmap), with_checksum(t.str()));
  }
  json cfg = {{"observatory", "jwst"},
              {"operational_context", pmap},
              {"edit_context", pmap},
              {"bad_files_list", json::array()},
              {"bad_files", ""}};
  cache.save_server_config(cfg.dump(1));
  return pmap;
}

}  // namespace

SimulationResult simulate(const SimulationConfig& config) {
  const Plan p = make_plan(config);
  const PixelModel pm{p.c.seed};
  SimulationResult res;
  res.frame_time = p.tframe;
  res.group_time = p.tgroup;
  res.nframes = p.nframes;
  res.groupgap = p.groupgap;
  std::error_code ec;
  fs::create_directories(p.c.output_dir, ec);
  if (ec)
    throw IoError("simulate: cannot create '" + p.c.output_dir.string() + "': " + ec.message());
  res.sources = make_sources(p);
  res.cosmic_rays = make_cosmic_rays(p);
  res.uncal = p.c.output_dir / (p.c.name + "_uncal.fits");
  res.truth_rate = p.c.output_dir / (p.c.name + "_truth_rate.fits");
  res.truth_json = p.c.output_dir / (p.c.name + "_truth.json");
  {
    const std::vector<float> rate = make_rate(p, pm, res.sources);
    res.saturated_pixels = write_uncal(p, pm, rate, res.cosmic_rays, res.uncal).saturated;
    models::ImageModel truth;
    Array a = Array::allocate(DType::kFloat32, {p.ny, p.nx});
    std::copy(rate.begin(), rate.end(), a.data<float>());
    truth.set_array("data", a);
    set_common_meta(truth, p);
    set_subarray_meta(truth, p.c.subarray, p.xstart, p.ystart, p.nx, p.ny);
    truth.set_meta("meta.observation.date", p.c.date);
    truth.set_meta("meta.observation.time", p.c.time);
    truth.save(res.truth_rate);
  }
  // CRDS cache: layout first (so reference_path() knows the subdirectory mode).
  res.crds_cache = p.cache;
  crds::Cache cache(p.cache, "jwst");
  fs::create_directories(cache.config_dir());
  fs::create_directories(cache.mapping_dir());
  write_text(cache.config_dir() / "ref_cache_subdir_mode", "instrument\n");
  std::map<std::string, std::string> names;
  res.references = write_references(p, pm, cache, names);
  res.context = write_mappings(p, cache, names);

  json j;
  j["parameters"] = {{"instrument", p.c.instrument},
                     {"detector", p.c.detector},
                     {"subarray", p.c.subarray},
                     {"nx", p.nx},
                     {"ny", p.ny},
                     {"nints", p.c.nints},
                     {"ngroups", p.c.ngroups},
                     {"readpatt", p.c.readpatt},
                     {"nframes", p.nframes},
                     {"groupgap", p.groupgap},
                     {"frame_time", p.tframe},
                     {"group_time", p.tgroup},
                     {"background", p.c.background},
                     {"cosmic_ray_rate", p.c.cosmic_ray_rate},
                     {"full_frame_refs", p.c.full_frame_refs}};
  j["seed"] = p.c.seed;
  j["model"] = {{"bias_mean", 12000.0},
                {"bias_sigma", 300.0},
                {"gain_mean", 2.0},
                {"readnoise_per_frame_mean", 10.0},
                {"well_linear_dn", kWell},
                {"nonlinearity", "s = q - a*q^2, a ~ 1e-6 per pixel; linearity coeffs invert it"},
                {"saturation_reference", "bias + 0.97 * s(well)"},
                {"ipc_kernel", {{0, 0.005, 0}, {0.005, 0.98, 0.005}, {0, 0.005, 0}}},
                {"truth_rate", "detector-level rate in DN/s (sky x flat, dead pixels 0), no dark"}};
  json crs = json::array();
  for (const auto& c : res.cosmic_rays)
    crs.push_back({{"integration", c.integration},
                   {"group", c.group},
                   {"y", c.y},
                   {"x", c.x},
                   {"amplitude", c.amplitude}});
  j["cosmic_rays"] = crs;
  j["saturated_pixels"] = res.saturated_pixels;
  json bad = json::array();
  for (std::int64_t y = 0; y < p.ny; ++y)
    for (std::int64_t x = 0; x < p.nx; ++x)
      if (int b = pm.bad(y + p.ystart - 1, x + p.xstart - 1))
        bad.push_back({{"y", y}, {"x", x}, {"type", b == 1 ? "DEAD" : "HOT"}});
  j["bad_pixels"] = bad;
  json src = json::array();
  for (const auto& s : res.sources)
    src.push_back({{"x", s.x}, {"y", s.y}, {"flux", s.flux}, {"sigma", s.sigma}});
  j["sources"] = src;
  json refs = json::object();
  for (const auto& [t, path] : res.references) refs[t] = path.string();
  j["files"] = {{"uncal", res.uncal.string()},
                {"truth_rate", res.truth_rate.string()},
                {"crds_cache", res.crds_cache.string()},
                {"context", res.context},
                {"references", refs}};
  write_text(res.truth_json, j.dump(1) + "\n");
  return res;
}

namespace {

const char* kUsage =
    "usage: stpipe simulate --output-dir DIR [--instrument NIRCAM|MIRI|NIRISS|NIRSPEC|FGS]\n"
    "         [--detector NAME] [--subarray FULL|SUB256|...] [--size NX NY | --nx N --ny N]\n"
    "         [--nints N] [--ngroups N] [--readpatt NAME] [--seed S] [--crds-cache DIR]\n"
    "         [--name ROOT] [--full-frame-refs] [--sources N] [--background DN/s]\n"
    "         [--cr-rate HITS/pix/s]\n";

long long parse_int(const std::string& opt, const std::string& v) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || v.empty())
    throw ConfigError("simulate: " + opt + " expects an integer, got '" + v + "'");
  return n;
}

double parse_double(const std::string& opt, const std::string& v) {
  std::size_t used = 0;
  double d = 0;
  try {
    d = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || v.empty())
    throw ConfigError("simulate: " + opt + " expects a number, got '" + v + "'");
  return d;
}

}  // namespace

int simulate_command(const std::vector<std::string>& args) {
  try {
    SimulationConfig c;
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string a = args[i], inline_value;
      bool has_inline = false;
      if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
        inline_value = a.substr(a.find('=') + 1);
        a = a.substr(0, a.find('='));
        has_inline = true;
      }
      auto value = [&]() -> std::string {
        if (has_inline) return inline_value;
        if (i + 1 >= args.size()) throw ConfigError("simulate: " + a + " needs a value");
        return args[++i];
      };
      if (a == "-h" || a == "--help") {
        std::cout << kUsage;
        return 0;
      } else if (a == "--output-dir") {
        c.output_dir = value();
      } else if (a == "--instrument") {
        c.instrument = value();
      } else if (a == "--detector") {
        c.detector = value();
      } else if (a == "--subarray") {
        c.subarray = value();
      } else if (a == "--size") {
        c.nx = parse_int(a, value());
        c.ny = parse_int(a, value());
      } else if (a == "--nx") {
        c.nx = parse_int(a, value());
      } else if (a == "--ny") {
        c.ny = parse_int(a, value());
      } else if (a == "--nints") {
        c.nints = static_cast<int>(parse_int(a, value()));
      } else if (a == "--ngroups") {
        c.ngroups = static_cast<int>(parse_int(a, value()));
      } else if (a == "--readpatt") {
        c.readpatt = value();
      } else if (a == "--seed") {
        const long long s = parse_int(a, value());
        if (s < 0) throw ConfigError("simulate: --seed must be non-negative");
        c.seed = static_cast<std::uint64_t>(s);
      } else if (a == "--crds-cache") {
        c.crds_cache = value();
      } else if (a == "--name") {
        c.name = value();
      } else if (a == "--full-frame-refs") {
        c.full_frame_refs = true;
      } else if (a == "--sources") {
        c.n_sources = static_cast<int>(parse_int(a, value()));
      } else if (a == "--background") {
        c.background = parse_double(a, value());
      } else if (a == "--cr-rate") {
        c.cosmic_ray_rate = parse_double(a, value());
      } else {
        throw ConfigError("simulate: unknown argument '" + a + "'");
      }
    }
    if (c.nx < 0 || c.ny < 0) throw ConfigError("simulate: sizes must be positive");
    SimulationResult r = simulate(c);
    std::cout << "Wrote " << r.uncal.string() << "\n"
              << "Truth " << r.truth_json.string() << ", " << r.truth_rate.string() << "\n"
              << "CRDS cache " << r.crds_cache.string() << " (context " << r.context << ", "
              << r.references.size() << " reference files)\n";
    return 0;
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    if (e.exit_code() == ExitCode::kConfigError) std::cerr << kUsage;
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    std::cerr << "simulate: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace stpipe::sim
