// LinearityStep::process: stcal linearity correction with the LINEARITY reference coefficients.
#include "stpipe/steps/linearity_step.h"

#include <algorithm>

#include "pipelines/detail/detector1_support.h"
#include "stpipe/io/fits.h"
#include "stpipe/steps/linearity.h"
#include "stpipe/util/error.h"

namespace stpipe {

using namespace detector1;

namespace {

// Science rows per band when the coefficients are streamed: 5 coefficients of a 2048-pixel row
// band are 5 MB, against 84 MB for the whole full-frame cube.
constexpr std::int64_t kBandRows = 128;

}  // namespace

Datum LinearityStep::process(const Datum& input) {
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  std::span<float> zf;
  if (has_zeroframe(*m)) zf = span_of<float>(*m, "zeroframe");
  auto data = span_of<float>(*m, "data");
  auto gdq = span_of<std::uint8_t>(*m, "groupdq");
  auto pdq = span_of<std::uint32_t>(*m, "pixeldq");
  const int nframes = readout_timing(*m).nframes;
  const std::string path = reference_path("linearity");
  // jwst's read-level path needs the inverse coefficients as well; it reads both whole.
  const bool read_level_possible = nframes > 1 && shape.ngroups >= 2;
  bool has_inverse = read_level_possible;
  if (read_level_possible && models::is_fits_name(path)) {
    try {
      has_inverse = io::summarize_fits(path).find("INV_COEFFS") != nullptr;
    } catch (const std::exception& e) {
      throw ReferenceFileError("Cannot read the linearity reference file '" + path +
                               "': " + e.what());
    }
  }
  if (has_inverse || !models::is_fits_name(path)) {
    auto ref = open_reference(*this, "linearity", "LinearityModel", {"coeffs", "dq", "inv_coeffs"});
    auto coeffs = reference_array<float>(*ref, "coeffs", *m);  // the step's own: prepared in place
    const std::int64_t ncoeff = static_cast<std::int64_t>(coeffs.size()) / shape.npix();
    auto ldq = ref->has_array("dq") ? reference_array<std::uint32_t>(*ref, "dq", *m)
                                    : RefArray<std::uint32_t>::zeros(shape.npix());
    if (ref->has_array("inv_coeffs") && read_level_possible) {
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

  // The simple path on a FITS reference: its DQ whole, the coefficients a band of rows at a
  // time (read straight from the file, cut to the science subarray), so the step never holds
  // the whole coefficient cube next to the ramp.
  auto ref = open_reference(*this, "linearity", "LinearityModel", {"dq"});
  auto ldq = ref->has_array("dq") ? reference_array<std::uint32_t>(*ref, "dq", *m)
                                  : RefArray<std::uint32_t>::zeros(shape.npix());
  const steps::SubarrayWindow sw = science_window(*m);
  const std::int64_t xs = sw.xstart - ref->meta_int("meta.subarray.xstart", 1);
  const std::int64_t ys = sw.ystart - ref->meta_int("meta.subarray.ystart", 1);
  const std::int64_t nx = shape.nx;
  std::span<const std::uint32_t> ldq_all = ldq;
  for (std::int64_t y0 = 0; y0 < shape.ny; y0 += kBandRows) {
    const std::int64_t rows = std::min(kBandRows, shape.ny - y0);
    auto band = open_reference(*this, "linearity", "LinearityModel", {"coeffs"}, std::nullopt,
                               models::OpenOptions::Window{ys + y0, rows, xs, nx});
    if (!band->has_array("coeffs") || band->array("coeffs").ndim() != 3)
      throw ReferenceFileError("Reference file '" + path +
                               "' has no 3-D 'coeffs' array (COEFFS extension)");
    auto coeffs = span_of<float>(*band, "coeffs");
    const std::int64_t ncoeff = band->array("coeffs").shape()[0];
    const auto off = static_cast<std::size_t>(y0 * nx), len = static_cast<std::size_t>(rows * nx);
    steps::prepare_linearity_coefficients(coeffs, ncoeff, ldq_all.subspan(off, len),
                                          pdq.subspan(off, len));
    steps::apply_linearity_rows(shape, data, gdq, coeffs, ncoeff, y0, rows, zf);
  }
  return std::make_shared<ModelProduct>(m);
}

}  // namespace stpipe
