// Shared helpers of the Detector1/Image2/Guider step wrappers: model access, reference files,
// subarray extraction and array views (internal, not installed).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stpipe/core/model_product.h"
#include "stpipe/core/step.h"
#include "stpipe/models/datamodel.h"
#include "stpipe/steps/dq_init.h"
#include "stpipe/steps/ramp_shape.h"

namespace stpipe::detector1 {

/// The data model inside `input` (opening a path); a Level1bModel comes back as a RampModel
/// (to_ramp_model). Throws ValidationError naming the step when the input is not a data model.
std::shared_ptr<models::DataModel> science_model(const Step& step, const Datum& input);

/// A RampModel holding `raw`'s metadata, tables and arrays, data converted to float32 (the
/// conversion jwst makes from a Level1bModel).
std::shared_ptr<models::DataModel> to_ramp_model(const models::DataModel& raw);

/// The 4-D shape of array `name` (default "data"). Throws ValidationError if it is not 4-D.
steps::RampShape ramp_shape(const models::DataModel& model, const std::string& name = "data");

/// The science window: meta.subarray keywords, sizes defaulting to the data's last two axes.
steps::SubarrayWindow science_window(const models::DataModel& model);

/// Readout timing from meta.exposure (nframes, groupgap, group and frame time).
steps::ReadoutTiming readout_timing(const models::DataModel& model);

/// True for MIRI exposures (instrument MIRI or a detector named MIR*).
bool is_miri(const models::DataModel& model);

/// True when the model carries a usable ZEROFRAME (meta.exposure.zero_frame and the array).
bool has_zeroframe(const models::DataModel& model);

/// Opens the step's `reftype` reference as class `model_type`, reading only `arrays` (all when
/// empty) and, with `planes`, only those planes of one array: a step reads what it uses, not
/// every extension of the file. Throws ReferenceFileError naming the reftype and file when it
/// cannot be read.
std::shared_ptr<models::DataModel> open_reference(
    const Step& step, const std::string& reftype, const std::string& model_type,
    std::vector<std::string> arrays = {},
    std::optional<models::OpenOptions::PlaneRange> planes = std::nullopt,
    std::optional<models::OpenOptions::Window> window = std::nullopt);

/// A reference array as a step uses it: the model's own buffer when neither a subarray cut nor
/// a type conversion was needed (no copy), else a buffer of its own. The reference model is the
/// step's alone (open_reference reads a fresh one), so mutable_span() may change it in place.
template <class T>
class RefArray {
 public:
  RefArray() = default;
  explicit RefArray(models::Array a) : a_(std::move(a)) {}
  /// `n` zeros (a reference without the optional array).
  static RefArray zeros(std::size_t n) {
    return RefArray(models::Array::allocate(models::dtype_of<T>(), {static_cast<std::int64_t>(n)}));
  }
  std::span<const T> span() const {
    if (a_.empty()) return {};
    return {a_.template data<T>(), a_.size()};
  }
  operator std::span<const T>() const { return span(); }
  std::span<T> mutable_span() {
    if (a_.empty()) return {};
    return {a_.template data<T>(), a_.size()};
  }
  std::size_t size() const { return a_.empty() ? 0 : a_.size(); }
  bool empty() const { return size() == 0; }
  const T* data() const { return span().data(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }
  const T& operator[](std::size_t i) const { return data()[i]; }

 private:
  models::Array a_;
};

/// Reference array `name` as T, cut to the science window as jwst's get_subarray_model does
/// (`cut` false: the shape must match the science plane). The leading axes are kept as planes.
/// Throws ReferenceFileError naming the file and the array on a missing array or bad shape.
template <class T>
RefArray<T> reference_array(const models::DataModel& ref, const std::string& name,
                            const models::DataModel& sci, bool cut = true);

/// Typed span over a model array. Throws ValidationError on an absent array or dtype mismatch.
template <class T>
std::span<T> span_of(models::DataModel& model, const std::string& name) {
  auto& a = model.array(name);
  return {a.template data<T>(), a.size()};
}

/// Makes `name` exist with dtype T and `shape` (zeros), replacing an array of another shape.
template <class T>
std::span<T> ensure_shaped(models::DataModel& model, const std::string& name,
                           const std::vector<std::int64_t>& shape, bool zeroed = true) {
  if (!model.has_array(name) || model.array(name).shape() != shape ||
      model.array(name).dtype() != models::dtype_of<T>()) {
    // Filled with zeros now rather than left to the zero page: the steps read-modify-write
    // these (groupdq |= ...), and a read of an untouched page followed by a write costs a
    // copy-on-write fault with a TLB flush on every core, page by page. `zeroed` false: the
    // caller writes every value itself.
    auto a = models::Array::uninitialized(models::dtype_of<T>(), shape);
    if (zeroed) std::memset(a.raw(), 0, a.nbytes());
    model.set_array(name, std::move(a));
  }
  return span_of<T>(model, name);
}

/// Marks `key` SKIPPED in the model's cal_step record.
void mark_skipped(models::DataModel& model, const std::string& key);

}  // namespace stpipe::detector1
