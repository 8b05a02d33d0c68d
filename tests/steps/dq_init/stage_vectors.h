// Test helpers for the Detector1 kernel suites: load stcal golden vectors and compare arrays.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "stpipe/steps/ramp_shape.h"
#include "test_support.h"

namespace stpipe::testing {

/// One golden-vector exposure (../shared/data/vectors/<name>) and its readout.
struct VectorCase {
  std::string name;
  int nframes;
  int groupgap;
  bool zero_frame;
};

/// The two exposures of the golden vectors.
inline const VectorCase kVectorCases[] = {
    {"1x10x256x256", 1, 0, false},
    {"2x8x256x256_nf4gg1", 4, 1, true},
};

/// An array of element type T with its shape.
template <typename T>
struct Arr {
  std::vector<std::int64_t> shape;
  std::vector<T> v;
};

/// Reads vectors/<case>/<rel>.npy.gz as T (checks the element size).
template <typename T>
Arr<T> load_vec(const VectorCase& c, const std::string& rel) {
  const auto path = shared_data("vectors/" + c.name + "/" + rel + ".npy.gz");
  NpyArray a = read_npy(path);
  if (a.bytes.size() != a.size() * sizeof(T))
    throw std::runtime_error("element size mismatch in " + path.string() + " (" + a.descr + ")");
  return {a.shape, a.as<T>()};
}

/// True when vectors/<case>/<rel>.npy.gz exists.
inline bool has_vec(const VectorCase& c, const std::string& rel) {
  return std::filesystem::exists(shared_data("vectors/" + c.name + "/" + rel + ".npy.gz"));
}

/// The NIR chain order of stages/.
inline const char* const kChain[] = {"input",     "dq_init",   "saturation",  "ipc",
                                     "superbias", "linearity", "dark_current"};

/// The array `name` as given to `stage`: the newest earlier stage that wrote it, else inputs/.
template <typename T>
Arr<T> stage_input(const VectorCase& c, const std::string& stage, const std::string& name) {
  int idx = -1;
  for (int i = 0; i < 7; ++i)
    if (stage == kChain[i]) idx = i;
  if (idx < 0) throw std::runtime_error("unknown stage " + stage);
  for (int i = idx - 1; i >= 0; --i) {
    const std::string rel = std::string("stages/") + kChain[i] + "/" + name;
    if (has_vec(c, rel)) return load_vec<T>(c, rel);
  }
  return load_vec<T>(c, "inputs/" + name);
}

/// RampShape of a 4-D array shape.
inline steps::RampShape ramp_shape_of(const std::vector<std::int64_t>& s) {
  return {s.at(0), s.at(1), s.at(2), s.at(3)};
}

/// Number of elements that differ (bitwise).
template <typename T>
std::int64_t count_diff(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return -1;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
  return n;
}

/// Distance in units in the last place between two floats (NaN vs NaN = 0, NaN vs number = huge).
inline std::int64_t ulp_distance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return (std::isnan(a) && std::isnan(b)) ? 0 : INT64_MAX;
  std::int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  const std::int64_t oa = ia < 0 ? std::int64_t{INT32_MIN} - ia : ia;
  const std::int64_t ob = ib < 0 ? std::int64_t{INT32_MIN} - ib : ib;
  return oa > ob ? oa - ob : ob - oa;
}

/// Largest ulp distance between two float arrays of the same size.
inline std::int64_t max_ulp(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INT64_MAX;
  std::int64_t m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, ulp_distance(a[i], b[i]));
  return m;
}

}  // namespace stpipe::testing
