// FlatFieldStep::process: divide a rate image (or rateints cube) by the FLAT reference (imaging).
#include "stpipe/steps/flat_field_step.h"

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/flat_field.h"

namespace stpipe {

using namespace detector1;

Datum FlatFieldStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto& ds = m->array("data").shape();
  if (ds.size() != 2 && ds.size() != 3) {
    throw ValidationError("FlatFieldStep needs a 2-D or 3-D rate product; " + m->model_type() +
                          " data has shape " + m->array("data").shape_string());
  }
  std::shared_ptr<models::DataModel> flat;
  if (!is_none("user_supplied_flat")) {
    const std::string path = get<std::string>("user_supplied_flat");
    try {
      flat = models::open_as(path, "FlatModel");
    } catch (const std::exception& e) {
      throw ReferenceFileError("Cannot read user_supplied_flat '" + path + "': " + e.what());
    }
  } else {
    flat = open_reference(*this, "flat", "FlatModel", {"data", "dq", "err"});
  }
  auto fdata = reference_array<float>(*flat, "data", *m);
  const std::size_t npix = static_cast<std::size_t>(ds[ds.size() - 1] * ds[ds.size() - 2]);
  if (fdata.size() != npix) {
    throw ReferenceFileError("Flat reference '" + flat->source_path().string() +
                             "' is not a single 2-D plane (" + flat->array("data").shape_string() +
                             ")");
  }
  auto fdq = flat->has_array("dq") ? reference_array<std::uint32_t>(*flat, "dq", *m)
                                   : RefArray<std::uint32_t>::zeros(npix);
  auto ferr = flat->has_array("err") ? reference_array<float>(*flat, "err", *m)
                                     : RefArray<float>::zeros(npix);
  steps::FlatFieldTarget t;
  t.nplanes = ds.size() == 3 ? ds[0] : 1;
  t.ny = ds[ds.size() - 2];
  t.nx = ds[ds.size() - 1];
  std::vector<std::int64_t> shape(ds.begin(), ds.end());
  t.data = span_of<float>(*m, "data");
  t.dq = ensure_shaped<std::uint32_t>(*m, "dq", shape);
  t.err = ensure_shaped<float>(*m, "err", shape);
  // Guider data (from guider_cds, jwst's GuiderCalModel) has no Poisson or read-noise variance.
  t.guider = m->meta_string("meta.cal_step.guider_cds") == "COMPLETE";
  if (!t.guider) {
    t.var_poisson = ensure_shaped<float>(*m, "var_poisson", shape);
    t.var_rnoise = ensure_shaped<float>(*m, "var_rnoise", shape);
  }
  t.var_flat = ensure_shaped<float>(*m, "var_flat", shape);
  steps::apply_flat_field(t, fdata, fdq, ferr, get<bool>("inverse"));
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
