// SuperBiasStep::process: subtract the SUPERBIAS reference from every group (and ZEROFRAME).
#include "stpipe/steps/superbias_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/superbias.h"

namespace stpipe {

using namespace detector1;

Datum SuperBiasStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  auto ref = open_reference(*this, "superbias", "SuperBiasModel", {"data", "dq"});
  auto bias = reference_array<float>(*ref, "data", *m);
  auto bdq = ref->has_array("dq") ? reference_array<std::uint32_t>(*ref, "dq", *m)
                                  : RefArray<std::uint32_t>::zeros(bias.size());
  std::span<float> zf;
  if (has_zeroframe(*m)) zf = span_of<float>(*m, "zeroframe");
  steps::subtract_superbias(shape, span_of<float>(*m, "data"),
                            span_of<std::uint32_t>(*m, "pixeldq"), bias, bdq, zf);
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
