// ResetStep::process: subtract the MIRI RESET reference (SKIPPED for other detectors).
#include "stpipe/steps/reset_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/reset.h"

namespace stpipe {

using namespace detector1;

Datum ResetStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  if (!is_miri(*m)) {
    log().warn("Reset correction is only for MIRI data: step skipped");
    mark_skipped(*m, cal_step_key());
    return std::make_shared<ModelProduct>(m);
  }
  const auto shape = ramp_shape(*m);
  auto ref = open_reference(*this, "reset", "ResetModel", {"data", "dq"});
  // No subarray extraction (as jwst): the reference must match the science plane.
  auto data = reference_array<float>(*ref, "data", *m, /*cut=*/false);
  const auto& rs = ref->array("data").shape();
  steps::ResetShape rshape;
  rshape.nints = rs.size() == 4 ? rs[0] : 1;
  rshape.ngroups = rs.size() >= 3 ? rs[rs.size() - 3] : 1;
  auto rdq = ref->has_array("dq") ? reference_array<std::uint32_t>(*ref, "dq", *m, false)
                                  : RefArray<std::uint32_t>::zeros(shape.npix());
  // jwst ORs the 2-D dq; a cube keeps its first plane.
  std::span<const std::uint32_t> rdq_plane =
      rdq.span().first(std::min<std::size_t>(rdq.size(), static_cast<std::size_t>(shape.npix())));
  std::vector<std::uint32_t> rdq_padded;
  if (rdq_plane.size() < static_cast<std::size_t>(shape.npix())) {
    rdq_padded.assign(rdq_plane.begin(), rdq_plane.end());
    rdq_padded.resize(shape.npix());
    rdq_plane = rdq_padded;
  }
  steps::subtract_reset(shape, span_of<float>(*m, "data"), span_of<std::uint32_t>(*m, "pixeldq"),
                        data, rshape, rdq_plane, m->meta_int("meta.exposure.integration_start", 1));
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
