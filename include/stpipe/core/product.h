// What flows between steps: a Product (an in-memory dataset that can save itself) or a file name.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace stpipe {

/// An in-memory dataset a step reads and returns: a data model, or any other object the
/// framework can name, save and annotate. Subclasses adapt the model layer (ModelProduct) or
/// the core's own JSON datasets (JsonProduct).
class Product {
 public:
  virtual ~Product() = default;
  /// Short type name for logs, e.g. "RampModel".
  virtual std::string type_name() const = 0;
  /// Writes the product to `path` atomically (the format follows the extension). Throws IoError.
  virtual void save(const std::filesystem::path& path) = 0;
  /// The file name recorded in the product (meta.filename), or "" when none.
  virtual std::string filename() const = 0;
  virtual void set_filename(const std::string& name) = 0;
  /// Extension used when a step does not set output_ext (with the dot, e.g. ".fits").
  virtual std::string default_extension() const { return ".fits"; }
  /// True when the product has a cal_step record (meta.cal_step) to note step status in.
  virtual bool has_cal_step() const { return false; }
  /// Sets meta.cal_step.<key> = status ("COMPLETE" / "SKIPPED").
  virtual void set_cal_step(const std::string& /*key*/, const std::string& /*status*/) {}
  /// meta.cal_step.<key>, if present.
  virtual std::optional<std::string> cal_step(const std::string& /*key*/) const {
    return std::nullopt;
  }
  /// Header for reference lookup: upper-case dotted keys -> values (empty if not applicable).
  virtual std::map<std::string, std::string> crds_parameters() const { return {}; }
  /// Records a reference file used (meta.ref_file.<reftype>.name) when the product has room.
  virtual void record_reference(const std::string& /*reftype*/, const std::string& /*name*/) {}
  /// Records CRDS context and software version (meta.ref_file.crds.*).
  virtual void record_crds(const std::string& /*context*/, const std::string& /*sw_version*/) {}
};

using ProductPtr = std::shared_ptr<Product>;

/// A step argument or result: nothing, a file name, a product, or a list of them.
class Datum {
 public:
  Datum() = default;
  Datum(std::string path) : v_(std::move(path)) {}       // NOLINT: implicit by design
  Datum(const char* path) : v_(std::string(path)) {}     // NOLINT
  Datum(ProductPtr product) : v_(std::move(product)) {}  // NOLINT
  template <class T, class = std::enable_if_t<std::is_base_of_v<Product, T>>>
  Datum(std::shared_ptr<T> product) : v_(ProductPtr(std::move(product))) {}  // NOLINT
  Datum(std::vector<Datum> items) : v_(std::move(items)) {}                  // NOLINT

  bool empty() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_path() const { return std::holds_alternative<std::string>(v_); }
  bool is_product() const { return std::holds_alternative<ProductPtr>(v_); }
  bool is_list() const { return std::holds_alternative<std::vector<Datum>>(v_); }
  const std::string& path() const { return std::get<std::string>(v_); }
  const ProductPtr& product() const { return std::get<ProductPtr>(v_); }
  const std::vector<Datum>& list() const { return std::get<std::vector<Datum>>(v_); }
  std::vector<Datum>& list() { return std::get<std::vector<Datum>>(v_); }
  /// Short description for logs: the path, "<RampModel from x.fits>", or a list of those.
  std::string describe() const;

 private:
  std::variant<std::monostate, std::string, ProductPtr, std::vector<Datum>> v_;
};

}  // namespace stpipe
