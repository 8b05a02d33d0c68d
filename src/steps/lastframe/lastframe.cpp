// lastframe kernel: OR DO_NOT_USE into the final group plane of each integration.
#include "stpipe/steps/lastframe.h"

#include <stdexcept>
#include <string>

#include "stpipe/steps/dqflags.h"

namespace stpipe::steps {

bool flag_last_frame(const RampShape& shape, std::span<std::uint8_t> groupdq) {
  if (static_cast<std::int64_t>(groupdq.size()) != shape.size())
    throw std::invalid_argument("lastframe: groupdq has " + std::to_string(groupdq.size()) +
                                " elements, expected " + std::to_string(shape.size()));
  if (shape.ngroups <= 2) return false;
  const std::int64_t npix = shape.npix();
  for (std::int64_t i = 0; i < shape.nints; ++i) {
    std::uint8_t* q = groupdq.data() + (i * shape.ngroups + shape.ngroups - 1) * npix;
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < npix; ++p) q[p] |= static_cast<std::uint8_t>(dq::kDoNotUse);
  }
  return true;
}

}  // namespace stpipe::steps
