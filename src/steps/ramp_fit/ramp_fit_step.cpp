// RampFitStep::process: stcal OLS_C ramp fitting into a rate ImageModel and a rateints CubeModel.
#include "stpipe/steps/ramp_fit_step.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/dqflags.h"
#include "stpipe/steps/ramp_fit.h"

namespace stpipe {

using namespace detector1;

namespace {

// A rate product of class `type` with the ramp's metadata and zeroed output arrays; `views`
// points the fitter at them (it writes straight into the model, no copy afterwards).
std::shared_ptr<models::DataModel> make_rate(const models::DataModel& ramp, const char* type,
                                             const std::vector<std::int64_t>& shape,
                                             steps::RateArrays& views) {
  auto out = models::create_model(type);
  out->tree()["meta"] = ramp.tree().contains("meta") ? ramp.tree()["meta"] : models::Json::object();
  auto add = [&](const char* name, models::DType dt) -> models::Array& {
    out->set_array(name, models::Array::allocate(dt, shape));
    return out->array(name);
  };
  auto f32 = [](models::Array& a) { return std::span<float>(a.data<float>(), a.size()); };
  views.slope = f32(add("data", models::DType::kFloat32));
  auto& dq = add("dq", models::DType::kUint32);
  views.dq = {dq.data<std::uint32_t>(), dq.size()};
  views.err = f32(add("err", models::DType::kFloat32));
  views.var_poisson = f32(add("var_poisson", models::DType::kFloat32));
  views.var_rnoise = f32(add("var_rnoise", models::DType::kFloat32));
  out->set_source_path(ramp.source_path());
  return out;
}

// Returns the pages wholly inside [p, p + bytes) to the system (they read back as zeros).
void release_pages(void* p, std::size_t bytes) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t lo = (a + page - 1) / page * page, hi = (a + bytes) / page * page;
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

// The fit in bands of rows for a ramp nobody else holds: each band's data and groupdq are
// copied out, fitted and then released, so the ramp shrinks while the rate products fill and
// the step's peak stays near the ramp's size instead of ramp + products. Every pixel is fitted
// on its own, so the results are the same as one call on the whole ramp.
steps::RampFitStats fit_consuming(const steps::RampFitInputs& in, const steps::RampFitParams& p,
                                  const steps::RateArrays& rate, const steps::RateArrays& ri,
                                  float* data, std::uint8_t* gdq) {
  const steps::RampShape& sh = in.shape;
  const std::int64_t npix = sh.npix(), nint = sh.nints, ng = sh.ngroups;
  // ~128 K pixels a band (64 rows of 2048: small copies, enough tiles for the threads), at
  // least 4 bands on ramps of 64 rows or more, in multiples of 16 rows.
  std::int64_t band = std::min((std::int64_t{1} << 17) / sh.nx, (sh.ny + 3) / 4);
  band = std::max<std::int64_t>(16, (band + 15) / 16 * 16);
  std::vector<float> bdata, bzf, bri(static_cast<std::size_t>(5 * nint * band * sh.nx));
  std::vector<std::uint8_t> bgdq;
  std::vector<std::uint32_t> bri_dq(static_cast<std::size_t>(nint * band * sh.nx));
  steps::RampFitStats total{true, 0, 0};
  for (std::int64_t y0 = 0; y0 < sh.ny; y0 += band) {
    const std::int64_t rows = std::min(band, sh.ny - y0), bp = rows * sh.nx, off = y0 * sh.nx;
    steps::RampFitInputs b = in;
    b.shape = {nint, ng, rows, sh.nx};
    bdata.resize(static_cast<std::size_t>(nint * ng * bp));
    bgdq.resize(bdata.size());
    for (std::int64_t k = 0; k < nint * ng; ++k) {
      std::copy_n(data + k * npix + off, bp, bdata.data() + k * bp);
      std::copy_n(gdq + k * npix + off, bp, bgdq.data() + k * bp);
    }
    b.data = bdata;
    b.groupdq = bgdq;
    b.pixeldq = in.pixeldq.subspan(off, bp);
    b.gain = in.gain.subspan(off, bp);
    b.readnoise = in.readnoise.subspan(off, bp);
    if (!in.average_dark_current.empty())
      b.average_dark_current = in.average_dark_current.subspan(off, bp);
    if (!in.zeroframe.empty()) {
      bzf.resize(static_cast<std::size_t>(nint * bp));
      for (std::int64_t i = 0; i < nint; ++i)
        std::copy_n(in.zeroframe.data() + i * npix + off, bp, bzf.data() + i * bp);
      b.zeroframe = bzf;
    }
    steps::RateArrays rb{rate.slope.subspan(off, bp), rate.dq.subspan(off, bp),
                         rate.err.subspan(off, bp), rate.var_poisson.subspan(off, bp),
                         rate.var_rnoise.subspan(off, bp)};
    const auto nb = static_cast<std::size_t>(nint * bp);
    steps::RateArrays rib{{bri.data(), nb},
                          {bri_dq.data(), nb},
                          {bri.data() + nb, nb},
                          {bri.data() + 2 * nb, nb},
                          {bri.data() + 3 * nb, nb}};
    const auto st = steps::fit_ramps(b, p, rb, rib, nullptr);
    total.all_saturated = total.all_saturated && st.all_saturated;
    total.scalar_pixels += st.scalar_pixels;
    total.jump_pixels += st.jump_pixels;
    for (std::int64_t i = 0; i < nint; ++i) {
      const std::int64_t to = i * npix + off, from = i * bp;
      std::copy_n(rib.slope.data() + from, bp, ri.slope.data() + to);
      std::copy_n(rib.dq.data() + from, bp, ri.dq.data() + to);
      std::copy_n(rib.err.data() + from, bp, ri.err.data() + to);
      std::copy_n(rib.var_poisson.data() + from, bp, ri.var_poisson.data() + to);
      std::copy_n(rib.var_rnoise.data() + from, bp, ri.var_rnoise.data() + to);
    }
    for (std::int64_t k = 0; k < nint * ng; ++k) {
      release_pages(data + k * npix + off, static_cast<std::size_t>(bp) * sizeof(float));
      release_pages(gdq + k * npix + off, static_cast<std::size_t>(bp));
    }
  }
  return total;
}

}  // namespace

void RampFitStep::save_optional(const models::DataModel& ramp, const steps::RampShape& shape,
                                steps::RampFitOptional& opt) {
  // jwst's RampFitOutputModel, saved as <root>_fitopt.fits (opt_name, when given, is the base).
  auto out = models::create_model("RampFitOutputModel");
  out->tree()["meta"] = ramp.tree().contains("meta") ? ramp.tree()["meta"] : models::Json::object();
  out->set_source_path(ramp.source_path());
  auto put = [&](const char* name, std::vector<float>& v, std::vector<std::int64_t> s) {
    auto held = std::make_shared<std::vector<float>>(std::move(v));
    float* p = held->data();
    out->set_array(name, models::Array::share(models::DType::kFloat32, std::move(s),
                                              std::shared_ptr<void>(held, p)));
  };
  const std::vector<std::int64_t> seg = {shape.nints, opt.max_segs, shape.ny, shape.nx};
  put("slope", opt.slope, seg);
  put("sigslope", opt.sigslope, seg);
  put("var_poisson", opt.var_poisson, seg);
  put("var_rnoise", opt.var_rnoise, seg);
  put("yint", opt.yint, seg);
  put("sigyint", opt.sigyint, seg);
  put("pedestal", opt.pedestal, {shape.nints, shape.ny, shape.nx});
  put("weights", opt.weights, seg);
  put("crmag", opt.crmag, {shape.nints, opt.max_crs, shape.ny, shape.nx});
  ModelProduct product(out);
  if (!is_none("opt_name") && !get<std::string>("opt_name").empty()) {
    const std::string ext = is_none("output_ext") ? ".fits" : get<std::string>("output_ext");
    const auto path = make_output_path(get<std::string>("opt_name"), ext, std::string("fitopt"));
    product.save(path);
    log().info("Saved model in {}", path.string());
  } else {
    save_model(product, std::nullopt, /*force=*/true, std::string("fitopt"));
  }
}

Datum RampFitStep::process(const Datum& input) {
  rateints_.reset();
  auto m = science_model(*this, input);
  const auto shape = ramp_shape(*m);
  auto gain_model = open_reference(*this, "gain", "GainModel", {"data"});
  auto rn_model = open_reference(*this, "readnoise", "ReadnoiseModel", {"data"});
  auto gain = reference_array<float>(*gain_model, "data", *m);
  auto rn = reference_array<float>(*rn_model, "data", *m);
  auto gdq = span_of<std::uint8_t>(*m, "groupdq");
  // firstgroup/lastgroup: groups outside [first, last] get DO_NOT_USE (ignored if first >= last).
  {
    std::int64_t first = is_none("firstgroup") ? 0 : get<std::int64_t>("firstgroup");
    std::int64_t last = is_none("lastgroup") ? shape.ngroups - 1 : get<std::int64_t>("lastgroup");
    if (first < 0 || first >= shape.ngroups) first = 0;
    if (last < 0 || last >= shape.ngroups) last = shape.ngroups - 1;
    if (first < last && (first > 0 || last < shape.ngroups - 1)) {
      for (std::int64_t i = 0; i < shape.nints; ++i)
        for (std::int64_t g = 0; g < shape.ngroups; ++g) {
          if (g >= first && g <= last) continue;
          auto* q = gdq.data() + i * shape.int_stride() + g * shape.group_stride();
          for (std::int64_t k = 0; k < shape.npix(); ++k) q[k] |= dq::kDoNotUse;
        }
    }
  }
  steps::RampFitInputs in;
  in.shape = shape;
  in.timing = readout_timing(*m);
  in.drop_frames1 = static_cast<int>(m->meta_int("meta.exposure.drop_frames1", 0));
  in.data = span_of<float>(*m, "data");
  in.groupdq = gdq;
  in.pixeldq = span_of<std::uint32_t>(*m, "pixeldq");
  in.gain = gain;
  in.readnoise = rn;
  if (m->has_array("average_dark_current") &&
      static_cast<std::int64_t>(m->array("average_dark_current").size()) == shape.npix())
    in.average_dark_current = span_of<float>(*m, "average_dark_current");
  if (has_zeroframe(*m)) in.zeroframe = span_of<float>(*m, "zeroframe");
  steps::RampFitParams p;
  p.suppress_one_group = get<bool>("suppress_one_group");
  p.numpy1_readnoise = get<bool>("numpy1_readnoise");
  steps::RateArrays rate_views, rateints_views;
  auto rate = make_rate(*m, "ImageModel", {shape.ny, shape.nx}, rate_views);
  auto rateints = make_rate(*m, "CubeModel", {shape.nints, shape.ny, shape.nx}, rateints_views);
  p.save_opt = get<bool>("save_opt");
  steps::RampFitOptional opt;
  // A ramp that only this step holds (a pipeline's working product, or a file opened here) is
  // consumed band by band; the groupdq changes the fit makes then stay in the band copies.
  bool consume = false;
  if (!p.save_opt) {
    { Datum mine = take_input(input); }  // run() no longer holds the ramp
    consume = m.use_count() == 1 && m->array("data").buffer().use_count() == 1 &&
              m->array("groupdq").buffer().use_count() == 1 && shape.ny > 1;
  }
  steps::RampFitStats stats;
  if (consume) {
    stats = fit_consuming(in, p, rate_views, rateints_views, m->data<float>("data"),
                          m->data<std::uint8_t>("groupdq"));
  } else {
    stats = steps::fit_ramps(in, p, rate_views, rateints_views, p.save_opt ? &opt : nullptr);
  }
  if (stats.all_saturated) {
    log().error("Every pixel is saturated in the first group: no rate product (as jwst)");
    mark_skipped(*m, cal_step_key());
    return Datum();
  }
  rateints_ = rateints;
  if (p.save_opt) save_optional(*m, shape, opt);
  rateints_->set_meta("meta.cal_step.ramp_fit", "COMPLETE");
  ModelProduct ri(rateints_);
  for (const auto& [t, name] : reference_files_used()) ri.record_reference(t, name);
  return std::make_shared<ModelProduct>(rate);
}

}  // namespace stpipe
