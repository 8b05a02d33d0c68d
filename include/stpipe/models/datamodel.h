// DataModel: schema + metadata tree + named typed arrays + tables; typed model classes; open().
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stpipe/models/array.h"
#include "stpipe/models/schema.h"

namespace stpipe::models {

/// One FITS header card kept verbatim (a keyword the schema does not know).
struct Card {
  std::string keyword;
  Json value;  ///< string, integer, float, bool, or null (no value)
  std::string comment;
};

/// An HDU the schema does not describe, kept so it is written back.
struct ExtraHdu {
  std::string extname;  ///< may be empty
  int extver = 1;
  std::vector<Card> header;  ///< non-structural cards
  std::optional<Array> image;
  std::optional<Table> table;
};

/// FITS content outside the schema: unknown cards per HDU, unknown HDUs, HISTORY.
struct FitsExtras {
  std::map<std::string, std::vector<Card>> cards;  ///< EXTNAME ("PRIMARY" for HDU 0) -> cards
  std::vector<ExtraHdu> hdus;
  std::vector<std::string> history;
};

/// Receives validation warnings (non-strict mode). The default prints "WARNING: ..." to stderr.
using WarningHandler = std::function<void(const std::string& message)>;
/// Replaces the process-wide warning handler; returns the previous one.
WarningHandler set_warning_handler(WarningHandler handler);
/// Sends `message` to the current warning handler.
void warn(const std::string& message);

/// A data model. The same interface whether it came from a file or was built in memory.
class DataModel {
 public:
  /// An empty model of class `model_type` using schema `schema_name` (see schema.h).
  /// Throws ConfigError if the schema cannot be loaded.
  explicit DataModel(std::string model_type = "JwstDataModel", std::string schema_name = "core");
  virtual ~DataModel() = default;
  DataModel(const DataModel&) = default;
  DataModel& operator=(const DataModel&) = default;

  /// Class name as stdatamodels names it ("RampModel"); written as DATAMODL.
  const std::string& model_type() const { return model_type_; }
  /// Schema short name ("ramp").
  const std::string& schema_name() const { return schema_->name(); }
  const Schema& schema() const { return *schema_; }
  /// True for reference-file models (no ASDF extension written, DQ_DEF handling).
  bool is_reference() const;
  /// Name of the primary array ("data"; "dq" for MaskModel, "coeffs" for LinearityModel).
  virtual std::string primary_array_name() const { return "data"; }

  // ---- metadata ----
  /// The value at a dotted path ("meta.instrument.name"), or nullopt if absent.
  std::optional<Json> get_meta(std::string_view dotted) const;
  /// String/int/double/bool value at a path, or `fallback` if absent or of another type.
  std::string meta_string(std::string_view dotted, const std::string& fallback = "") const;
  std::int64_t meta_int(std::string_view dotted, std::int64_t fallback = 0) const;
  double meta_double(std::string_view dotted, double fallback = 0.0) const;
  /// Sets a value after validating it against the schema. An invalid value is not stored: a
  /// warning goes to the warning handler and false is returned, or ValidationError (naming the
  /// path and the problem) is thrown in strict mode. Null removes the value. Paths outside the
  /// schema are stored without checks.
  bool set_meta(std::string_view dotted, const Json& value);
  /// Removes the value at a path (no-op if absent).
  void remove_meta(std::string_view dotted);
  /// True if the schema defines the path.
  bool schema_has(std::string_view dotted) const;
  /// The whole tree ({"meta": {...}, ...}); edits bypass validation.
  Json& tree() { return tree_; }
  const Json& tree() const { return tree_; }

  /// Strict validation: invalid values throw instead of warning. Defaults to env
  /// STPIPE_STRICT_VALIDATION (1/true/yes) at construction.
  void set_strict_validation(bool strict) { strict_ = strict; }
  bool strict_validation() const { return strict_; }
  /// Checks every metadata value and array against the schema; returns the problems found.
  std::vector<std::string> validate() const;

  // ---- arrays ----
  bool has_array(std::string_view name) const;
  /// The array `name`; throws ValidationError naming the model and the array if absent.
  Array& array(std::string_view name);
  const Array& array(std::string_view name) const;
  /// Typed pointer to array `name`; throws ValidationError if absent or of another dtype.
  template <class T>
  T* data(std::string_view name) {
    return array(name).template data<T>();
  }
  template <class T>
  const T* data(std::string_view name) const {
    return array(name).template data<T>();
  }
  /// Stores an array. A schema array must have the schema's ndim (else ValidationError
  /// "Array has wrong number of dimensions..."); its dtype is converted to the schema's (a copy)
  /// unless it already matches (no copy).
  void set_array(const std::string& name, Array array);
  /// The array `name`, allocating it from the schema default if absent: shape = the primary
  /// array's last ndim dimensions (or `shape` when given). Throws ValidationError if the schema
  /// has no such array or no shape can be derived.
  Array& ensure_array(const std::string& name, std::vector<std::int64_t> shape = {});
  void remove_array(std::string_view name);
  /// Names of the arrays present, in schema order then others.
  std::vector<std::string> array_names() const;

  // ---- tables ----
  bool has_table(std::string_view name) const;
  /// The table `name` (e.g. "dq_def"); throws ValidationError if absent.
  Table& table(std::string_view name);
  const Table& table(std::string_view name) const;
  void set_table(const std::string& name, Table table);
  void remove_table(std::string_view name);
  std::vector<std::string> table_names() const;

  // ---- files ----
  /// Writes .fits (with the ASDF extension for science models) or .asdf, by extension, replacing
  /// the target atomically. Sets meta.filename, meta.model_type, meta.date first. Throws IoError.
  void save(const std::filesystem::path& path);
  /// True when the model was read with OpenOptions that left out arrays, tables or planes;
  /// save() then throws IoError instead of writing an incomplete product.
  bool partial() const { return partial_; }
  void set_partial(bool p) { partial_ = p; }
  /// The file the model was read from (empty if built in memory).
  const std::filesystem::path& source_path() const { return source_path_; }
  void set_source_path(std::filesystem::path p) { source_path_ = std::move(p); }
  FitsExtras& fits_extras() { return extras_; }
  const FitsExtras& fits_extras() const { return extras_; }
  /// Problems found while reading the file (also sent to the warning handler).
  std::vector<std::string>& load_warnings() { return load_warnings_; }
  const std::vector<std::string>& load_warnings() const { return load_warnings_; }

  /// Every scalar metadata leaf under "meta" as "META.INSTRUMENT.NAME" -> "NIRCAM", values as
  /// Python's str() gives them (ints "10", floats "0.5", bools "True"/"False").
  std::map<std::string, std::string> crds_parameters() const;

  /// A deep copy (arrays copied).
  std::shared_ptr<DataModel> clone() const;

 protected:
  std::string model_type_;
  std::shared_ptr<const Schema> schema_;
  Json tree_ = Json::object();
  std::map<std::string, Array, std::less<>> arrays_;
  std::map<std::string, Table, std::less<>> tables_;
  FitsExtras extras_;
  std::vector<std::string> load_warnings_;
  std::filesystem::path source_path_;
  bool strict_ = false;
  bool partial_ = false;
};

// ---- typed models (stdatamodels class names; schema in schemas/<schema>.schema.yaml) ----
#define STPIPE_DECLARE_MODEL(Class, schema) \
  class Class : public DataModel {          \
   public:                                  \
    Class() : DataModel(#Class, schema) {}  \
  };
STPIPE_DECLARE_MODEL(RampModel, "ramp")
STPIPE_DECLARE_MODEL(Level1bModel, "level1b")
STPIPE_DECLARE_MODEL(ImageModel, "image")
STPIPE_DECLARE_MODEL(CubeModel, "cube")
STPIPE_DECLARE_MODEL(RampFitOutputModel, "rampfitoutput")
STPIPE_DECLARE_MODEL(SaturationModel, "saturation")
STPIPE_DECLARE_MODEL(SuperBiasModel, "superbias")
STPIPE_DECLARE_MODEL(DarkModel, "dark")
STPIPE_DECLARE_MODEL(DarkMIRIModel, "darkmiri")
STPIPE_DECLARE_MODEL(GainModel, "gain")
STPIPE_DECLARE_MODEL(ReadnoiseModel, "readnoise")
STPIPE_DECLARE_MODEL(IPCModel, "ipc")
STPIPE_DECLARE_MODEL(FlatModel, "flat")
STPIPE_DECLARE_MODEL(ResetModel, "reset")
STPIPE_DECLARE_MODEL(LastFrameModel, "lastframe")
#undef STPIPE_DECLARE_MODEL

/// Bad pixel mask reference model; its primary array is `dq`.
class MaskModel : public DataModel {
 public:
  MaskModel() : DataModel("MaskModel", "mask") {}
  std::string primary_array_name() const override { return "dq"; }
};

/// Linearity reference model; its primary array is `coeffs`.
class LinearityModel : public DataModel {
 public:
  LinearityModel() : DataModel("LinearityModel", "linearity") {}
  std::string primary_array_name() const override { return "coeffs"; }
};

/// A new, empty model of class `model_type` ("RampModel", ...). Unknown class names give a
/// generic DataModel with that class name and the core schema (referencefile schema if
/// `reference` is set) that keeps every HDU.
std::shared_ptr<DataModel> create_model(const std::string& model_type, bool reference = false);

/// Which parts of a file `open`/`open_as` read. The default reads everything. `arrays` limits
/// the arrays read to the named ones (schema names: "data", "dq", ...); an empty list reads the
/// metadata only. A limited read skips the tables not named (DQ_DEF comes with DQ) and the HDUs
/// the schema does not know, and marks the model partial, so it cannot be saved over a complete
/// file by mistake.
/// `planes` (with `arrays`) reads only leading-axis planes [first, first + count) of the named
/// array, e.g. the dark frames a science readout uses; the array's first axis is then `count`.
/// `window` (with `arrays`) reads only rows [y0, y0 + ny) and columns [x0, x0 + nx) of every
/// array read that has two or more axes (every leading plane), e.g. a band of a reference file
/// that a step streams; those arrays' last two axes are then (ny, nx).
struct OpenOptions {
  std::optional<std::vector<std::string>> arrays;
  struct PlaneRange {
    std::string array;
    std::int64_t first = 0, count = 0;
  };
  std::optional<PlaneRange> planes;
  struct Window {
    std::int64_t y0 = 0, ny = 0, x0 = 0, nx = 0;
  };
  std::optional<Window> window;
  bool wants(std::string_view array) const;
  bool limited() const { return arrays.has_value(); }
};

/// True for a FITS file name (.fits, .fits.gz, .fit, .fts, any case).
bool is_fits_name(const std::filesystem::path& path);

/// Opens a .fits/.fits.gz or .asdf file, choosing the class as stdatamodels does: DATAMODL
/// (meta.model_type), else 4-D SCI without DQ -> RampModel, else REFTYPE -> the reference model
/// of that type, else by SCI ndim (2 ImageModel, 3 CubeModel, 4 RampModel). Throws IoError naming
/// the file (and the HDU/keyword) for unreadable or malformed input.
std::shared_ptr<DataModel> open(const std::filesystem::path& path, const OpenOptions& options = {});

/// Opens `path` as class `model_type` regardless of DATAMODL (e.g. "DarkModel").
std::shared_ptr<DataModel> open_as(const std::filesystem::path& path, const std::string& model_type,
                                   const OpenOptions& options = {});

/// A new model of class `model_type` holding a copy of `model`'s metadata, tables, extra FITS
/// content and arrays; arrays the target schema defines are converted to its dtype (e.g.
/// Level1bModel uint16 data -> RampModel float32), others are shared. meta.model_type is updated.
/// Throws ValidationError if an array has the wrong number of dimensions for the target.
std::shared_ptr<DataModel> convert_model(const DataModel& model, const std::string& model_type);

/// Python's str() of a double (shortest round-trip repr: "0.5", "1e-05", "100.0", "inf").
std::string python_float_str(double v);

}  // namespace stpipe::models
