// Array and Table: typed buffers, conversions, comparisons.
#include "stpipe/models/array.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>

#include "stpipe/util/big_alloc.h"
#include "stpipe/util/error.h"

namespace stpipe::models {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::kBool8:
    case DType::kInt8:
    case DType::kUint8:
      return 1;
    case DType::kInt16:
    case DType::kUint16:
      return 2;
    case DType::kInt32:
    case DType::kUint32:
    case DType::kFloat32:
      return 4;
    case DType::kInt64:
    case DType::kUint64:
    case DType::kFloat64:
      return 8;
  }
  return 1;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kBool8:
      return "bool";
    case DType::kInt8:
      return "int8";
    case DType::kInt16:
      return "int16";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kUint8:
      return "uint8";
    case DType::kUint16:
      return "uint16";
    case DType::kUint32:
      return "uint32";
    case DType::kUint64:
      return "uint64";
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view n) {
  static const std::pair<std::string_view, DType> kNames[] = {
      {"bool8", DType::kBool8},   {"bool", DType::kBool8},      {"int8", DType::kInt8},
      {"int16", DType::kInt16},   {"int32", DType::kInt32},     {"int64", DType::kInt64},
      {"uint8", DType::kUint8},   {"uint16", DType::kUint16},   {"uint32", DType::kUint32},
      {"uint64", DType::kUint64}, {"float32", DType::kFloat32}, {"float64", DType::kFloat64}};
  for (auto& [k, v] : kNames)
    if (k == n) return v;
  return std::nullopt;
}

namespace {
std::size_t product(const std::vector<std::int64_t>& shape) {
  std::size_t n = 1;
  for (auto d : shape) {
    if (d < 0) throw ValidationError("array shape has a negative dimension");
    n *= static_cast<std::size_t>(d);
  }
  return n;
}

template <class F>
void dispatch(DType t, F&& f) {
  switch (t) {
    case DType::kBool8:
      f(std::uint8_t{});
      break;
    case DType::kInt8:
      f(std::int8_t{});
      break;
    case DType::kInt16:
      f(std::int16_t{});
      break;
    case DType::kInt32:
      f(std::int32_t{});
      break;
    case DType::kInt64:
      f(std::int64_t{});
      break;
    case DType::kUint8:
      f(std::uint8_t{});
      break;
    case DType::kUint16:
      f(std::uint16_t{});
      break;
    case DType::kUint32:
      f(std::uint32_t{});
      break;
    case DType::kUint64:
      f(std::uint64_t{});
      break;
    case DType::kFloat32:
      f(float{});
      break;
    case DType::kFloat64:
      f(double{});
      break;
  }
}

template <class D, class S>
void convert(D* dst, const S* src, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<D>(src[i]);
}
}  // namespace

std::size_t Array::size() const { return product(shape_); }

namespace {
Array make_array(DType dtype, std::vector<std::int64_t> shape, bool zero) {
  std::size_t bytes = product(shape) * dtype_size(dtype);
  void* p = util::big_alloc(bytes, zero);
  return Array::share(dtype, std::move(shape),
                      std::shared_ptr<void>(p, [bytes](void* q) { util::big_free(q, bytes); }));
}
}  // namespace

Array Array::allocate(DType dtype, std::vector<std::int64_t> shape) {
  return make_array(dtype, std::move(shape), true);
}

Array Array::uninitialized(DType dtype, std::vector<std::int64_t> shape) {
  return make_array(dtype, std::move(shape), false);
}

Array Array::full(DType dtype, std::vector<std::int64_t> shape, double value) {
  Array a = allocate(dtype, std::move(shape));
  if (value != 0.0) a.fill(value);
  return a;
}

Array Array::adopt(DType dtype, std::vector<std::int64_t> shape, void* data,
                   std::function<void(void*)> deleter) {
  Array a;
  a.dtype_ = dtype;
  a.shape_ = std::move(shape);
  product(a.shape_);
  if (deleter)
    a.buffer_ = std::shared_ptr<void>(data, std::move(deleter));
  else
    a.buffer_ = std::shared_ptr<void>(data, [](void*) {});
  return a;
}

Array Array::share(DType dtype, std::vector<std::int64_t> shape, std::shared_ptr<void> data) {
  Array a;
  a.dtype_ = dtype;
  a.shape_ = std::move(shape);
  product(a.shape_);
  a.buffer_ = std::move(data);
  return a;
}

void Array::check_type(DType wanted) const {
  if (wanted != dtype_ && !(wanted == DType::kBool8 && dtype_ == DType::kUint8))
    throw ValidationError("array has dtype " + std::string(dtype_name(dtype_)) + ", not " +
                          std::string(dtype_name(wanted)));
}

double Array::get_double(std::size_t i) const {
  double out = 0;
  dispatch(dtype_, [&](auto tag) {
    using T = decltype(tag);
    out = static_cast<double>(static_cast<const T*>(buffer_.get())[i]);
  });
  return out;
}

void Array::set_double(std::size_t i, double v) {
  dispatch(dtype_, [&](auto tag) {
    using T = decltype(tag);
    static_cast<T*>(buffer_.get())[i] = static_cast<T>(v);
  });
}

Array Array::copy() const {
  Array a = uninitialized(dtype_, shape_);
  if (nbytes()) std::memcpy(a.raw(), raw(), nbytes());
  return a;
}

Array Array::cast(DType dtype) const {
  if (dtype == dtype_) return copy();
  Array a = uninitialized(dtype, shape_);
  std::size_t n = size();
  dispatch(dtype, [&](auto dtag) {
    using D = decltype(dtag);
    dispatch(dtype_, [&](auto stag) {
      using S = decltype(stag);
      convert(static_cast<D*>(a.raw()), static_cast<const S*>(raw()), n);
    });
  });
  return a;
}

void Array::fill(double value) {
  std::size_t n = size();
  dispatch(dtype_, [&](auto tag) {
    using T = decltype(tag);
    std::fill_n(static_cast<T*>(buffer_.get()), n, static_cast<T>(value));
  });
}

bool Array::equals(const Array& o) const {
  if (dtype_ != o.dtype_ || shape_ != o.shape_) return false;
  if (nbytes() == 0) return true;
  if (!raw() || !o.raw()) return raw() == o.raw();
  return std::memcmp(raw(), o.raw(), nbytes()) == 0;
}

std::string Array::shape_string() const {
  std::ostringstream s;
  s << "(";
  for (std::size_t i = 0; i < shape_.size(); ++i) s << (i ? ", " : "") << shape_[i];
  if (shape_.size() == 1) s << ",";
  s << ")";
  return s.str();
}

// ---------------------------------------------------------------- Table

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

const Column* Table::find(std::string_view name) const {
  for (auto& c : columns_)
    if (iequals(c.name, name)) return &c;
  return nullptr;
}
Column* Table::find(std::string_view name) {
  for (auto& c : columns_)
    if (iequals(c.name, name)) return &c;
  return nullptr;
}

void Table::add_column(Column column, std::size_t rows) {
  if (!columns_.empty() && rows != rows_)
    throw ValidationError("table column " + column.name + " has " + std::to_string(rows) +
                          " rows, the table has " + std::to_string(rows_));
  rows_ = rows;
  columns_.push_back(std::move(column));
}

void Table::add_numeric(const std::string& name, DType dtype, const std::vector<double>& values) {
  Column c;
  c.name = name;
  c.dtype = dtype;
  Array a = Array::allocate(dtype, {static_cast<std::int64_t>(values.size())});
  for (std::size_t i = 0; i < values.size(); ++i) a.set_double(i, values[i]);
  auto* p = static_cast<const unsigned char*>(a.raw());
  c.bytes.assign(p, p + a.nbytes());
  add_column(std::move(c), values.size());
}

void Table::add_text(const std::string& name, std::size_t width,
                     const std::vector<std::string>& values) {
  Column c;
  c.name = name;
  c.is_text = true;
  c.width = width;
  c.text = values;
  add_column(std::move(c), values.size());
}

std::vector<double> Table::numbers(std::string_view name) const {
  const Column* c = find(name);
  if (!c || c->is_text) throw ValidationError("table has no numeric column " + std::string(name));
  std::vector<double> out(rows_);
  Array view = Array::share(
      c->dtype, {static_cast<std::int64_t>(rows_ * c->repeat)},
      std::shared_ptr<void>(const_cast<unsigned char*>(c->bytes.data()), [](void*) {}));
  for (std::size_t r = 0; r < rows_; ++r) out[r] = view.get_double(r * c->repeat);
  return out;
}

std::vector<std::string> Table::strings(std::string_view name) const {
  const Column* c = find(name);
  if (!c || !c->is_text) throw ValidationError("table has no text column " + std::string(name));
  return c->text;
}

bool Table::equals(const Table& o) const {
  if (rows_ != o.rows_ || columns_.size() != o.columns_.size()) return false;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    auto& a = columns_[i];
    auto& b = o.columns_[i];
    if (a.name != b.name || a.is_text != b.is_text || a.repeat != b.repeat) return false;
    if (a.is_text ? a.text != b.text : (a.dtype != b.dtype || a.bytes != b.bytes)) return false;
  }
  return true;
}

}  // namespace stpipe::models
