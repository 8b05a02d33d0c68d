// SaturationStep::process: stcal flag_saturated_pixels with the SATURATION (and SUPERBIAS) refs.
#include "stpipe/steps/saturation_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/saturation.h"

namespace stpipe {

using namespace detector1;

Datum SaturationStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  auto sat = open_reference(*this, "saturation", "SaturationModel", {"data", "dq"});
  auto thresh = reference_array<float>(*sat, "data", *m);
  auto sat_dq = sat->has_array("dq") ? reference_array<std::uint32_t>(*sat, "dq", *m)
                                     : RefArray<std::uint32_t>::zeros(thresh.size());
  // The raw superbias (NaNs kept) feeds the A-to-D floor / group-2 checks; NIR only, as jwst.
  RefArray<float> bias;
  if (!is_miri(*m) && reference_path("superbias") != "N/A") {
    auto sb = open_reference(*this, "superbias", "SuperBiasModel", {"data"});
    bias = reference_array<float>(*sb, "data", *m);
  }
  std::span<float> zf;
  if (has_zeroframe(*m)) zf = span_of<float>(*m, "zeroframe");
  steps::SaturationOptions o;
  o.n_pix_grow_sat = static_cast<int>(get<std::int64_t>("n_pix_grow_sat"));
  o.use_read_pattern = get<bool>("use_readpatt");
  o.nframes = readout_timing(*m).nframes;
  o.numpy1_promotion = get<bool>("numpy1_promotion");
  steps::flag_saturation(shape, span_of<float>(*m, "data"), span_of<std::uint8_t>(*m, "groupdq"),
                         span_of<std::uint32_t>(*m, "pixeldq"), thresh.mutable_span(),
                         sat_dq.mutable_span(), bias, zf, o);
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
