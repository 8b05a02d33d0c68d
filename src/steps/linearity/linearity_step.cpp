// LinearityStep::process: stcal linearity correction with the LINEARITY reference coefficients.
#include "stpipe/steps/linearity_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/linearity.h"

namespace stpipe {

using namespace detector1;

Datum LinearityStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  auto ref = open_reference(*this, "linearity", "LinearityModel", {"coeffs", "dq", "inv_coeffs"});
  auto coeffs = reference_array<float>(*ref, "coeffs", *m);  // the step's own: prepared in place
  const std::int64_t ncoeff = static_cast<std::int64_t>(coeffs.size()) / shape.npix();
  auto ldq = ref->has_array("dq") ? reference_array<std::uint32_t>(*ref, "dq", *m)
                                  : RefArray<std::uint32_t>::zeros(shape.npix());
  std::span<float> zf;
  if (has_zeroframe(*m)) zf = span_of<float>(*m, "zeroframe");
  auto data = span_of<float>(*m, "data");
  auto gdq = span_of<std::uint8_t>(*m, "groupdq");
  auto pdq = span_of<std::uint32_t>(*m, "pixeldq");
  const int nframes = readout_timing(*m).nframes;
  if (ref->has_array("inv_coeffs") && nframes > 1 && shape.ngroups >= 2) {
    // jwst's read-level path: inverse coefficients, frame-averaged groups, no read times.
    auto inv = reference_array<float>(*ref, "inv_coeffs", *m);
    const std::int64_t ninv = static_cast<std::int64_t>(inv.size()) / shape.npix();
    steps::prepare_linearity_coefficients(coeffs.mutable_span(), ncoeff, ldq, pdq);
    std::vector<std::uint32_t> scratch(pdq.size(), 0);
    steps::prepare_linearity_coefficients(inv.mutable_span(), ninv, ldq, scratch);
    steps::apply_linearity_read_level(shape, data, gdq, coeffs, ncoeff, inv, ninv, nframes, zf);
  } else {
    steps::correct_linearity(shape, data, gdq, pdq, coeffs.mutable_span(), ncoeff, ldq, zf);
  }
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
