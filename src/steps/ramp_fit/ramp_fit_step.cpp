// RampFitStep::process: stcal OLS_C ramp fitting into a rate ImageModel and a rateints CubeModel.
#include "stpipe/steps/ramp_fit_step.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "pipelines/detail/detector1_support.h"
#include "stpipe/steps/dqflags.h"
#include "stpipe/steps/ramp_fit.h"
#include "stpipe/util/big_alloc.h"

namespace stpipe {

using namespace detector1;

namespace {

// Hands the float32 planes (npix elements each) of a consumed ramp's data buffer, in order, to the
// rate products' arrays while they last (an array of `k` planes takes the next `k`); the rest are
// allocated. The products then need no fresh memory: on a virtual machine a fresh page costs
// far more than rewriting a resident one, and the peak stays at the ramp's size. Every element
// of such an array is written by the fit (RampFitEdge.EveryOutputElementIsWritten) after the
// rows it overwrites have been copied out (fit_consuming).
class PlanePool {
 public:
  PlanePool() = default;
  PlanePool(std::shared_ptr<void> buffer, std::int64_t nplanes, std::int64_t npix)
      : buffer_(std::move(buffer)), nplanes_(nplanes), npix_(npix) {}
  models::Array take(models::DType dt, const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    const std::int64_t k = npix_ > 0 ? n / npix_ : 0;
    if (!buffer_ || models::dtype_size(dt) != sizeof(float) || k * npix_ != n || k < 1 ||
        next_ + k > nplanes_)
      return models::Array::allocate(dt, shape);
    std::shared_ptr<void> at(buffer_, static_cast<float*>(buffer_.get()) + next_ * npix_);
    next_ += k;
    return models::Array::share(dt, shape, std::move(at));
  }
  std::int64_t used() const { return next_; }  // planes handed out

 private:
  std::shared_ptr<void> buffer_;
  std::int64_t nplanes_ = 0, npix_ = 0, next_ = 0;
};

// A rate product of class `type` with the ramp's metadata and zeroed output arrays (or arrays
// from `pool`, which the fit overwrites whole); `views` points the fitter at them (it writes
// straight into the model, no copy afterwards).
std::shared_ptr<models::DataModel> make_rate(const models::DataModel& ramp, const char* type,
                                             const std::vector<std::int64_t>& shape,
                                             steps::RateArrays& views, PlanePool& pool) {
  auto out = models::create_model(type);
  out->tree()["meta"] = ramp.tree().contains("meta") ? ramp.tree()["meta"] : models::Json::object();
  auto add = [&](const char* name, models::DType dt) -> models::Array& {
    out->set_array(name, pool.take(dt, shape));
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

// Gives the consumed part of one plane back to the system as the bands go by. Only whole 2 MiB
// runs are released until the plane is done (then every whole page): the arrays are backed by
// transparent huge pages, and releasing part of one only splits it, keeping the memory.
class PlaneRelease {
 public:
  PlaneRelease(const void* plane, std::size_t bytes)
      : begin_(reinterpret_cast<std::uintptr_t>(plane)), bytes_(bytes) {
    at_ = (begin_ + page_ - 1) / page_ * page_;  // the partial first page is never released
  }
  // The first `done` bytes of the plane are no longer needed.
  void consumed(std::size_t done) {
    const std::uintptr_t grain = done >= bytes_ ? page_ : util::kHugePageBytes;
    const std::uintptr_t hi = (begin_ + done) / grain * grain;
    if (hi > at_) {
      madvise(reinterpret_cast<void*>(at_), hi - at_, MADV_DONTNEED);
      at_ = hi;
    }
  }

 private:
  std::uintptr_t begin_;
  std::size_t bytes_;
  std::uintptr_t page_ = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  std::uintptr_t at_ = 0;
};

// Elements [at, at + n) of each of a rate product's arrays.
steps::RateArrays sub(const steps::RateArrays& a, std::size_t at, std::size_t n) {
  return {a.slope.subspan(at, n), a.dq.subspan(at, n), a.err.subspan(at, n),
          a.var_poisson.subspan(at, n), a.var_rnoise.subspan(at, n)};
}

// Copies n elements of each array of `from`, starting at `at_from`, into `to` at `at_to`.
void copy_rate(const steps::RateArrays& from, std::size_t at_from, const steps::RateArrays& to,
               std::size_t at_to, std::size_t n) {
  auto one = [&](auto f, auto t) { std::copy_n(f.data() + at_from, n, t.data() + at_to); };
  one(from.slope, to.slope);
  one(from.dq, to.dq);
  one(from.err, to.err);
  one(from.var_poisson, to.var_poisson);
  one(from.var_rnoise, to.var_rnoise);
}

// The fit in bands of rows for a ramp nobody else holds, whose first `reused` data planes hold
// the rate products (PlanePool). Each band's rows of every plane (data, groupdq, zeroframe) are
// copied into band buffers and fitted from there, as a ramp of the band's rows; the products'
// rows of the band are written only then, over data rows already copied out. The groupdq bytes
// and the data planes past `reused` are given back to the system as the bands go by. Every pixel
// is fitted on its own, so the results are those of one call on the whole ramp.
steps::RampFitStats fit_consuming(const steps::RampFitInputs& in, const steps::RampFitParams& p,
                                  const steps::RateArrays& rate, const steps::RateArrays& ri,
                                  float* data, std::uint8_t* gdq, std::int64_t reused) {
  const steps::RampShape& sh = in.shape;
  const std::int64_t npix = sh.npix(), nplanes = sh.nints * sh.ngroups, nx = sh.nx;
  // ~128 K pixels a band (64 rows of 2048: enough tiles for the threads), at least 4 bands on
  // ramps of 64 rows or more, in multiples of 16 rows.
  std::int64_t band = std::min((std::int64_t{1} << 17) / nx, (sh.ny + 3) / 4);
  band = std::max<std::int64_t>(16, (band + 15) / 16 * 16);
  band = std::min(band, sh.ny);
  const auto plane_f = static_cast<std::size_t>(npix) * sizeof(float);
  const auto plane_q = static_cast<std::size_t>(npix);
  std::vector<PlaneRelease> rel_d, rel_q;
  for (std::int64_t k = 0; k < nplanes; ++k) {
    if (k >= reused) rel_d.emplace_back(data + k * npix, plane_f);
    rel_q.emplace_back(gdq + k * npix, plane_q);
  }
  const std::int64_t bmax = band * nx;
  // Band buffers from the block cache, not zeroed: every band fills what it uses.
  util::BigBuffer<float> bd(static_cast<std::size_t>(nplanes * bmax));
  util::BigBuffer<std::uint8_t> bq(static_cast<std::size_t>(nplanes * bmax));
  util::BigBuffer<float> bz(in.zeroframe.empty() ? 0 : static_cast<std::size_t>(sh.nints * bmax));
  // rateints rows of one band are contiguous only with one integration.
  steps::RateProduct ri_band(sh.nints > 1 ? static_cast<std::size_t>(sh.nints * bmax) : 0);
  steps::RampFitStats total{true, 0, 0};
  for (std::int64_t y0 = 0; y0 < sh.ny; y0 += band) {
    const std::int64_t y1 = std::min(sh.ny, y0 + band), r = y0 * nx, bpx = (y1 - y0) * nx;
#pragma omp parallel for schedule(static)
    for (std::int64_t k = 0; k < nplanes; ++k) {
      std::copy_n(data + k * npix + r, bpx, bd.data() + k * bpx);
      std::copy_n(gdq + k * npix + r, bpx, bq.data() + k * bpx);
    }
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(bz.size() / bmax); ++i)
      std::copy_n(in.zeroframe.data() + i * npix + r, bpx, bz.data() + i * bpx);
    steps::RampFitInputs b = in;
    b.shape = {sh.nints, sh.ngroups, y1 - y0, nx};
    b.data = {bd.data(), static_cast<std::size_t>(nplanes * bpx)};
    b.groupdq = {bq.data(), static_cast<std::size_t>(nplanes * bpx)};
    const auto at = static_cast<std::size_t>(r), n = static_cast<std::size_t>(bpx);
    b.pixeldq = in.pixeldq.subspan(at, n);
    b.gain = in.gain.subspan(at, n);
    b.readnoise = in.readnoise.subspan(at, n);
    if (!in.average_dark_current.empty())
      b.average_dark_current = in.average_dark_current.subspan(at, n);
    if (bz.size() != 0) b.zeroframe = {bz.data(), static_cast<std::size_t>(sh.nints * bpx)};
    const auto nb = static_cast<std::size_t>(sh.nints) * n;
    const steps::RateArrays ri_rows = sh.nints > 1 ? sub(ri_band.view(), 0, nb) : sub(ri, at, n);
    const auto st = steps::fit_ramps(b, p, sub(rate, at, n), ri_rows, nullptr);
    for (std::int64_t i = 0; sh.nints > 1 && i < sh.nints; ++i)
      copy_rate(ri_rows, i * n, ri, i * npix + at, n);
    total.all_saturated = total.all_saturated && st.all_saturated;
    total.scalar_pixels += st.scalar_pixels;
    total.jump_pixels += st.jump_pixels;
    const auto done = static_cast<std::size_t>(y1 * nx);
    for (auto& rel : rel_d) rel.consumed(done * sizeof(float));
    for (auto& rel : rel_q) rel.consumed(done);
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
  p.save_opt = get<bool>("save_opt");
  steps::RampFitOptional opt;
  // A ramp that only this step holds (a pipeline's working product, or a file opened here) is
  // consumed band by band, and the rate products take over its data planes.
  bool consume = false;
  if (!p.save_opt) {
    { Datum mine = take_input(input); }  // run() no longer holds the ramp
    consume = m.use_count() == 1 && m->array("data").buffer().use_count() == 1 &&
              m->array("groupdq").buffer().use_count() == 1 && shape.ny > 1 &&
              m->array("data").dtype() == models::DType::kFloat32;
  }
  PlanePool pool;
  if (consume)
    pool = PlanePool(m->array("data").buffer(), shape.nints * shape.ngroups, shape.npix());
  steps::RateArrays rate_views, rateints_views;
  auto rate = make_rate(*m, "ImageModel", {shape.ny, shape.nx}, rate_views, pool);
  auto rateints =
      make_rate(*m, "CubeModel", {shape.nints, shape.ny, shape.nx}, rateints_views, pool);
  steps::RampFitStats stats;
  if (consume) {
    stats = fit_consuming(in, p, rate_views, rateints_views, m->data<float>("data"),
                          m->data<std::uint8_t>("groupdq"), pool.used());
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
