// DQ_DEF dynamic flag mapping of reference files (decompress on load, compress on save).
#include "stpipe/models/dynamic_dq.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace stpipe::models {

namespace {
constexpr std::pair<std::string_view, std::uint32_t> kFlags[] = {
    {"GOOD", 0},
    {"DO_NOT_USE", 1u << 0},
    {"SATURATED", 1u << 1},
    {"JUMP_DET", 1u << 2},
    {"DROPOUT", 1u << 3},
    {"OUTLIER", 1u << 4},
    {"PERSISTENCE", 1u << 5},
    {"AD_FLOOR", 1u << 6},
    {"CHARGELOSS", 1u << 7},
    {"RESERVED", 1u << 8},
    {"UNRELIABLE_ERROR", 1u << 8},
    {"NON_SCIENCE", 1u << 9},
    {"DEAD", 1u << 10},
    {"HOT", 1u << 11},
    {"WARM", 1u << 12},
    {"LOW_QE", 1u << 13},
    {"RC", 1u << 14},
    {"TELEGRAPH", 1u << 15},
    {"NONLINEAR", 1u << 16},
    {"BAD_REF_PIXEL", 1u << 17},
    {"NO_FLAT_FIELD", 1u << 18},
    {"NO_GAIN_VALUE", 1u << 19},
    {"NO_LIN_CORR", 1u << 20},
    {"NO_SAT_CHECK", 1u << 21},
    {"UNRELIABLE_BIAS", 1u << 22},
    {"UNRELIABLE_DARK", 1u << 23},
    {"UNRELIABLE_SLOPE", 1u << 24},
    {"UNRELIABLE_FLAT", 1u << 25},
    {"OPEN", 1u << 26},
    {"ADJ_OPEN", 1u << 27},
    {"FLUX_ESTIMATED", 1u << 28},
    {"UNRELIABLE_RESET", 1u << 28},
    {"MSA_FAILED_OPEN", 1u << 29},
    {"OTHER_BAD_PIXEL", 1u << 30},
    {"REFERENCE_PIXEL", 1u << 31},
};

struct Row {
  std::uint32_t value;
  std::uint32_t standard;
};

// The usable (VALUE, standard flag) pairs of the model's DQ_DEF, or empty.
std::vector<Row> rows_of(const DataModel& m, bool report) {
  std::vector<Row> rows;
  if (!m.has_array("dq") || !m.has_table("dq_def")) return rows;
  const Table& t = m.table("dq_def");
  if (!t.find("VALUE") || !t.find("NAME") || t.find("NAME")->is_text == false) return rows;
  auto values = t.numbers("VALUE");
  auto names = t.strings("NAME");
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::string name = names[i];
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    auto std_flag = standard_dq_flag(name);
    if (!std_flag) {
      if (report)
        warn(m.model_type() + ": DQ_DEF flag name '" + name +
             "' is not a standard DQ flag; ignored");
      continue;
    }
    // VALUE is a bit mask: an int32 column holds bit 31 as -2^31, so [-2^31, 2^32) is read
    // modulo 2^32; anything else (fractions, NaN, out of range) is not a mask.
    const double v = values[i];
    if (!(v >= -2147483648.0 && v < 4294967296.0) || v != std::floor(v)) {
      if (report)
        warn(m.model_type() + ": DQ_DEF VALUE " + std::to_string(v) + " of flag '" + name +
             "' is not a 32-bit mask; ignored");
      continue;
    }
    rows.push_back(
        {static_cast<std::uint32_t>(static_cast<std::int64_t>(v) & 0xffffffffLL), *std_flag});
  }
  return rows;
}
}  // namespace

std::optional<std::uint32_t> standard_dq_flag(std::string_view name) {
  for (auto& [n, v] : kFlags)
    if (n == name) return v;
  return std::nullopt;
}

void decompress_dq(DataModel& model) {
  // An empty DQ_DEF leaves DQ as it is (as stdatamodels does).
  if (!model.has_array("dq") || !model.has_table("dq_def") || model.table("dq_def").rows() == 0)
    return;
  auto rows = rows_of(model, true);
  bool identity = true;
  for (auto& r : rows)
    if (r.value != r.standard) identity = false;
  Array& dq = model.array("dq");
  if (dq.dtype() != DType::kUint32) return;
  // Identity mapping with every bit listed changes nothing except dropping unlisted bits.
  std::uint32_t listed = 0;
  for (auto& r : rows) listed |= r.value;
  std::uint32_t* p = dq.data<std::uint32_t>();
  const std::size_t n = dq.size();
  if (identity) {
    for (std::size_t i = 0; i < n; ++i) p[i] &= listed;
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t in = p[i], out = 0;
    for (auto& r : rows)
      if (in & r.value) out |= r.standard;
    p[i] = out;
  }
}

std::optional<Array> compress_dq(const DataModel& model) {
  if (!model.has_array("dq") || !model.has_table("dq_def") || model.table("dq_def").rows() == 0)
    return std::nullopt;
  const Array& dq = model.array("dq");
  if (dq.dtype() != DType::kUint32) return std::nullopt;
  auto rows = rows_of(model, false);
  Array out = Array::allocate(DType::kUint32, dq.shape());
  const std::uint32_t* in = dq.data<std::uint32_t>();
  std::uint32_t* o = out.data<std::uint32_t>();
  for (std::size_t i = 0, n = dq.size(); i < n; ++i) {
    std::uint32_t v = 0;
    for (auto& r : rows)
      if (in[i] & r.standard) v |= r.value;
    o[i] = v;
  }
  return out;
}

}  // namespace stpipe::models
