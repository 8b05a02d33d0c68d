// Typed, contiguous C-order N-d arrays and simple columnar tables held by models.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace stpipe::models {

/// Element types of model arrays (the datatypes of the JWST schemas, minus float16/128/complex).
enum class DType {
  kBool8,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kFloat32,
  kFloat64
};

/// Bytes per element of `t`.
std::size_t dtype_size(DType t);
/// numpy name of `t` ("float32", "uint16", "bool" for kBool8).
std::string_view dtype_name(DType t);
/// Parses a schema/numpy name ("float32", "bool8", "bool", "uint16"); nullopt if unknown.
std::optional<DType> dtype_from_name(std::string_view name);

/// The DType of C++ element type T (bool8 is stored as std::uint8_t-sized bool).
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, bool>)
    return DType::kBool8;
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return DType::kInt8;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return DType::kInt16;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return DType::kInt32;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return DType::kInt64;
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return DType::kUint8;
  else if constexpr (std::is_same_v<T, std::uint16_t>)
    return DType::kUint16;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return DType::kUint32;
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return DType::kUint64;
  else if constexpr (std::is_same_v<T, float>)
    return DType::kFloat32;
  else {
    static_assert(std::is_same_v<T, double>, "unsupported array element type");
    return DType::kFloat64;
  }
}

/// An N-d array: a shared, contiguous C-order buffer plus dtype and shape (numpy order).
/// Copying an Array shares the buffer (like a numpy view); use copy() for a deep copy.
class Array {
 public:
  Array() = default;

  /// A new zero-filled array. Throws ValidationError for a negative dimension.
  static Array allocate(DType dtype, std::vector<std::int64_t> shape);
  /// A new array whose contents are unspecified, for a caller that writes every element next
  /// (a file read, a conversion): it skips the zero fill of a reused buffer.
  static Array uninitialized(DType dtype, std::vector<std::int64_t> shape);
  /// A new array filled with `value` (converted to dtype).
  static Array full(DType dtype, std::vector<std::int64_t> shape, double value);
  /// Wraps an external buffer without copying; `deleter(data)` runs when the last Array sharing
  /// it dies (e.g. releasing a numpy reference). The buffer must hold product(shape) elements.
  static Array adopt(DType dtype, std::vector<std::int64_t> shape, void* data,
                     std::function<void(void*)> deleter);
  /// Wraps a buffer already owned by a shared_ptr (aliasing allowed).
  static Array share(DType dtype, std::vector<std::int64_t> shape, std::shared_ptr<void> data);

  DType dtype() const { return dtype_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::size_t ndim() const { return shape_.size(); }
  /// Number of elements.
  std::size_t size() const;
  std::size_t nbytes() const { return size() * dtype_size(dtype_); }
  /// True when no buffer is attached.
  bool empty() const { return !buffer_; }

  /// The raw buffer (C order, native byte order).
  void* raw() { return buffer_.get(); }
  const void* raw() const { return buffer_.get(); }
  /// The owning pointer, for handing the buffer to another owner (e.g. numpy) without copying.
  const std::shared_ptr<void>& buffer() const { return buffer_; }

  /// Typed access; throws ValidationError if T does not match dtype().
  template <class T>
  T* data() {
    check_type(dtype_of<T>());
    return static_cast<T*>(buffer_.get());
  }
  template <class T>
  const T* data() const {
    check_type(dtype_of<T>());
    return static_cast<const T*>(buffer_.get());
  }

  /// Element `i` (flat C index) converted to double (no bounds check).
  double get_double(std::size_t i) const;
  /// Sets element `i` from a double, converted to the dtype (no bounds check).
  void set_double(std::size_t i, double v);
  /// A deep copy.
  Array copy() const;
  /// A deep copy converted to `dtype` (C-style conversion of each element).
  Array cast(DType dtype) const;
  /// Fills every element with `value`.
  void fill(double value);
  /// Same dtype, shape and bytes.
  bool equals(const Array& other) const;
  /// Shape as text, numpy style: "(2, 3, 8, 10)".
  std::string shape_string() const;

 private:
  void check_type(DType wanted) const;
  DType dtype_ = DType::kFloat32;
  std::vector<std::int64_t> shape_;
  std::shared_ptr<void> buffer_;
};

/// One column of a Table: numeric (possibly a fixed-length vector per row) or fixed-width text.
struct Column {
  std::string name;
  DType dtype = DType::kInt32;       ///< element type of numeric columns (ignored for text)
  bool is_text = false;              ///< fixed-width ASCII column ("40A")
  std::size_t width = 0;             ///< characters per cell, for text
  std::int64_t repeat = 1;           ///< numeric elements per row (1 for scalars)
  std::string unit;                  ///< TUNIT, if any
  std::vector<unsigned char> bytes;  ///< numeric cells, rows * repeat elements, native order
  std::vector<std::string> text;     ///< text cells (trailing blanks removed)
};

/// A simple columnar table (FITS BINTABLE such as DQ_DEF, INT_TIMES, GROUP).
class Table {
 public:
  /// Number of rows.
  std::size_t rows() const { return rows_; }
  std::vector<Column>& columns() { return columns_; }
  const std::vector<Column>& columns() const { return columns_; }
  /// The column named `name` (case-insensitive), or nullptr.
  const Column* find(std::string_view name) const;
  Column* find(std::string_view name);
  /// Appends a numeric column; `values` must have rows() elements (the first column sets rows()).
  /// Throws ValidationError on a length mismatch.
  void add_numeric(const std::string& name, DType dtype, const std::vector<double>& values);
  /// Appends a text column of `width` characters. Throws ValidationError on a length mismatch.
  void add_text(const std::string& name, std::size_t width, const std::vector<std::string>& values);
  /// Adds a column built by the caller (e.g. a reader). Throws ValidationError on a row mismatch.
  void add_column(Column column, std::size_t rows);
  /// Values of numeric column `name` as doubles (first element of vector cells). Throws
  /// ValidationError if the column is missing or textual.
  std::vector<double> numbers(std::string_view name) const;
  /// Values of text column `name`. Throws ValidationError if missing or numeric.
  std::vector<std::string> strings(std::string_view name) const;
  /// Same columns, types and contents.
  bool equals(const Table& other) const;

 private:
  std::size_t rows_ = 0;
  std::vector<Column> columns_;
};

}  // namespace stpipe::models
