// Shapes shared by the Detector1 kernels: a ramp is [nints][ngroups][ny][nx], C order.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stpipe::steps {

/// Dimensions of a ramp cube (data, groupdq) in C order: [nints][ngroups][ny][nx].
struct RampShape {
  std::int64_t nints = 0;
  std::int64_t ngroups = 0;
  std::int64_t ny = 0;
  std::int64_t nx = 0;

  std::int64_t npix() const { return ny * nx; }
  std::int64_t group_stride() const { return ny * nx; }
  std::int64_t int_stride() const { return ngroups * ny * nx; }
  std::int64_t size() const { return nints * ngroups * ny * nx; }
};

/// Exposure timing the kernels need (from the model's meta.exposure).
struct ReadoutTiming {
  double frame_time = 0;  ///< seconds
  double group_time = 0;  ///< seconds
  int nframes = 1;        ///< frames averaged per group
  int groupgap = 0;       ///< frames dropped between groups
};

}  // namespace stpipe::steps
