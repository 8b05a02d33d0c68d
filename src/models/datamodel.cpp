// DataModel: metadata access and validation, arrays, tables, CRDS parameters, class selection.
#include "stpipe/models/datamodel.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>

#include "stpipe/io/fits.h"
#include "stpipe/util/error.h"

namespace stpipe::models {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ warnings

namespace {
std::mutex g_warn_mutex;
WarningHandler& handler_ref() {
  static WarningHandler h = [](const std::string& m) { std::cerr << "WARNING: " << m << "\n"; };
  return h;
}

bool env_true(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return false;
  std::string s(v);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "1" || s == "true" || s == "t" || s == "yes" || s == "y";
}

std::vector<std::string> split_path(std::string_view dotted) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto dot = dotted.find('.', start);
    out.emplace_back(
        dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

const Json* find_path(const Json& tree, std::string_view dotted) {
  const Json* cur = &tree;
  for (auto& seg : split_path(dotted)) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(seg);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void flatten_meta(const Json& node, const std::string& key,
                  std::map<std::string, std::string>& out) {
  if (node.is_object()) {
    if (node.contains("__tag__")) return;
    for (auto it = node.begin(); it != node.end(); ++it)
      flatten_meta(it.value(), key + "." + upper(it.key()), out);
  } else if (node.is_string()) {
    out[key] = node.get<std::string>();
  } else if (node.is_boolean()) {
    out[key] = node.get<bool>() ? "True" : "False";
  } else if (node.is_number_integer()) {
    out[key] = node.is_number_unsigned() ? std::to_string(node.get<std::uint64_t>())
                                         : std::to_string(node.get<std::int64_t>());
  } else if (node.is_number_float()) {
    out[key] = python_float_str(node.get<double>());
  }
}

std::string utc_now_isot() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

WarningHandler set_warning_handler(WarningHandler handler) {
  std::lock_guard<std::mutex> lock(g_warn_mutex);
  WarningHandler old = handler_ref();
  handler_ref() = std::move(handler);
  return old;
}

void warn(const std::string& message) {
  WarningHandler h;
  {
    std::lock_guard<std::mutex> lock(g_warn_mutex);
    h = handler_ref();
  }
  if (h) h(message);
}

std::string python_float_str(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, r.ptr);
  bool neg = s[0] == '-';
  if (neg) s.erase(0, 1);
  auto e = s.find('e');
  int exp = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char c : s.substr(0, e))
    if (c != '.') digits += c;
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exp + 1) {
      out = digits +
            std::string(static_cast<std::size_t>(exp + 1 - static_cast<int>(digits.size())), '0') +
            ".0";
    } else {
      out = digits.substr(0, static_cast<std::size_t>(exp + 1)) + "." +
            digits.substr(static_cast<std::size_t>(exp + 1));
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += eb;
  }
  return neg ? "-" + out : out;
}

// ------------------------------------------------------------------ DataModel

DataModel::DataModel(std::string model_type, std::string schema_name)
    : model_type_(std::move(model_type)), schema_(Schema::load(schema_name)) {
  strict_ = env_true("STPIPE_STRICT_VALIDATION");
  tree_["meta"] = Json::object();
}

bool DataModel::is_reference() const { return schema_->node("meta.reftype") != nullptr; }

std::optional<Json> DataModel::get_meta(std::string_view dotted) const {
  const Json* v = find_path(tree_, dotted);
  if (!v || v->is_null()) return std::nullopt;
  return *v;
}

std::string DataModel::meta_string(std::string_view dotted, const std::string& fallback) const {
  const Json* v = find_path(tree_, dotted);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

std::int64_t DataModel::meta_int(std::string_view dotted, std::int64_t fallback) const {
  const Json* v = find_path(tree_, dotted);
  return v && v->is_number_integer() ? v->get<std::int64_t>() : fallback;
}

double DataModel::meta_double(std::string_view dotted, double fallback) const {
  const Json* v = find_path(tree_, dotted);
  return v && v->is_number() ? v->get<double>() : fallback;
}

bool DataModel::schema_has(std::string_view dotted) const {
  return schema_->node(dotted) != nullptr;
}

bool DataModel::set_meta(std::string_view dotted, const Json& value) {
  if (value.is_null()) {
    remove_meta(dotted);
    return true;
  }
  if (const Json* node = schema_->node(dotted)) {
    if (auto problem = Schema::check(*node, value)) {
      std::string msg =
          "While validating " + std::string(dotted) + " the following error occurred: " + *problem;
      if (strict_) throw ValidationError(model_type_ + ": " + msg);
      warn(model_type_ + ": " + msg + " (value not stored)");
      return false;
    }
  }
  Json* cur = &tree_;
  auto segs = split_path(dotted);
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    Json& next = (*cur)[segs[i]];
    if (!next.is_object()) next = Json::object();
    cur = &next;
  }
  (*cur)[segs.back()] = value;
  return true;
}

void DataModel::remove_meta(std::string_view dotted) {
  auto segs = split_path(dotted);
  Json* cur = &tree_;
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    if (!cur->is_object() || !cur->contains(segs[i])) return;
    cur = &(*cur)[segs[i]];
  }
  if (cur->is_object()) cur->erase(segs.back());
}

std::vector<std::string> DataModel::validate() const {
  std::vector<std::string> problems;
  for (auto& k : schema_->keywords()) {
    const Json* v = find_path(tree_, k.path);
    if (!v || !k.node) continue;
    if (auto p = Schema::check(*k.node, *v))
      problems.push_back("While validating " + k.path + " the following error occurred: " + *p);
  }
  for (auto& [name, arr] : arrays_) {
    const ArrayEntry* e = schema_->array(name);
    if (!e) continue;
    if (e->ndim >= 0 && static_cast<int>(arr.ndim()) != e->ndim)
      problems.push_back(name + ": Array has wrong number of dimensions.  Expected " +
                         std::to_string(e->ndim) + ", got " + std::to_string(arr.ndim()));
    if (e->dtype && *e->dtype != arr.dtype())
      problems.push_back(name + ": dtype " + std::string(dtype_name(arr.dtype())) +
                         " is not the schema's " + std::string(dtype_name(*e->dtype)));
  }
  return problems;
}

bool DataModel::has_array(std::string_view name) const {
  return arrays_.find(name) != arrays_.end();
}

Array& DataModel::array(std::string_view name) {
  auto it = arrays_.find(name);
  if (it == arrays_.end())
    throw ValidationError(model_type_ + " has no array '" + std::string(name) + "'");
  return it->second;
}

const Array& DataModel::array(std::string_view name) const {
  auto it = arrays_.find(name);
  if (it == arrays_.end())
    throw ValidationError(model_type_ + " has no array '" + std::string(name) + "'");
  return it->second;
}

void DataModel::set_array(const std::string& name, Array arr) {
  if (const ArrayEntry* e = schema_->array(name)) {
    if (e->is_table) throw ValidationError(model_type_ + "." + name + " is a table, not an array");
    if (e->ndim >= 0 && static_cast<int>(arr.ndim()) != e->ndim)
      throw ValidationError(model_type_ + "." + name +
                            ": Array has wrong number of dimensions.  Expected " +
                            std::to_string(e->ndim) + ", got " + std::to_string(arr.ndim()));
    if (e->max_ndim >= 0 && static_cast<int>(arr.ndim()) > e->max_ndim)
      throw ValidationError(model_type_ + "." + name +
                            ": Array has wrong number of dimensions.  Expected <= " +
                            std::to_string(e->max_ndim) + ", got " + std::to_string(arr.ndim()));
    if (e->dtype && *e->dtype != arr.dtype()) arr = arr.cast(*e->dtype);
  }
  arrays_[name] = std::move(arr);
}

Array& DataModel::ensure_array(const std::string& name, std::vector<std::int64_t> shape) {
  if (auto it = arrays_.find(name); it != arrays_.end()) return it->second;
  const ArrayEntry* e = schema_->array(name);
  if (!e || e->is_table) throw ValidationError(model_type_ + " schema has no array '" + name + "'");
  if (shape.empty()) {
    std::string primary = primary_array_name();
    auto p = arrays_.find(primary);
    if (p == arrays_.end())
      throw ValidationError(model_type_ + ": cannot allocate '" + name + "' without a shape: no '" +
                            primary + "' array");
    shape = p->second.shape();
    if (e->ndim >= 0 && static_cast<int>(shape.size()) >= e->ndim)
      shape.erase(shape.begin(), shape.end() - e->ndim);
  }
  Array a = Array::full(e->dtype.value_or(DType::kFloat32), shape, e->default_value.value_or(0.0));
  set_array(name, std::move(a));
  return arrays_[name];
}

void DataModel::remove_array(std::string_view name) {
  auto it = arrays_.find(name);
  if (it != arrays_.end()) arrays_.erase(it);
}

void DataModel::remove_table(std::string_view name) {
  if (auto it = tables_.find(name); it != tables_.end()) tables_.erase(it);
}

std::vector<std::string> DataModel::array_names() const {
  std::vector<std::string> out;
  for (auto& e : schema_->arrays())
    if (!e.is_table && has_array(e.name)) out.push_back(e.name);
  for (auto& [name, a] : arrays_)
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  return out;
}

bool DataModel::has_table(std::string_view name) const {
  return tables_.find(name) != tables_.end();
}

Table& DataModel::table(std::string_view name) {
  auto it = tables_.find(name);
  if (it == tables_.end())
    throw ValidationError(model_type_ + " has no table '" + std::string(name) + "'");
  return it->second;
}

const Table& DataModel::table(std::string_view name) const {
  auto it = tables_.find(name);
  if (it == tables_.end())
    throw ValidationError(model_type_ + " has no table '" + std::string(name) + "'");
  return it->second;
}

void DataModel::set_table(const std::string& name, Table t) { tables_[name] = std::move(t); }

std::vector<std::string> DataModel::table_names() const {
  std::vector<std::string> out;
  for (auto& e : schema_->arrays())
    if (e.is_table && has_table(e.name)) out.push_back(e.name);
  for (auto& [name, t] : tables_)
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  return out;
}

std::map<std::string, std::string> DataModel::crds_parameters() const {
  std::map<std::string, std::string> out;
  if (tree_.contains("meta")) flatten_meta(tree_["meta"], "META", out);
  return out;
}

void DataModel::save(const fs::path& path) {
  std::string ext = path.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool fits = ext == ".fits" || ext == ".fit" || ext == ".fts";
  bool asdf = ext == ".asdf";
  if (!fits && !asdf)
    throw IoError("cannot save " + path.string() + ": unknown file type '" + ext +
                  "' (use .fits or .asdf)");
  if (partial_)
    throw IoError("cannot save " + path.string() + ": the " + model_type_ + " read from " +
                  source_path_.string() +
                  " holds only part of the file (opened with a limited set of arrays)");
  tree_["meta"]["filename"] = path.filename().string();
  tree_["meta"]["model_type"] = model_type_;
  tree_["meta"]["date"] = utc_now_isot();
  if (fits)
    io::write_fits(*this, path, !is_reference());
  else
    io::write_asdf(*this, path);
}

std::shared_ptr<DataModel> DataModel::clone() const {
  auto m = create_model(model_type_, is_reference());
  static_cast<DataModel&>(*m) = *this;
  for (auto& [name, a] : m->arrays_) a = a.copy();
  for (auto& h : m->extras_.hdus)
    if (h.image) h.image = h.image->copy();
  return m;
}

// ------------------------------------------------------------------ factories and open()

namespace {
using Factory = std::shared_ptr<DataModel> (*)();
template <class M>
std::shared_ptr<DataModel> make() {
  return std::make_shared<M>();
}
const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> r = {
      {"RampModel", &make<RampModel>},
      {"Level1bModel", &make<Level1bModel>},
      {"ImageModel", &make<ImageModel>},
      {"CubeModel", &make<CubeModel>},
      {"RampFitOutputModel", &make<RampFitOutputModel>},
      {"MaskModel", &make<MaskModel>},
      {"SaturationModel", &make<SaturationModel>},
      {"SuperBiasModel", &make<SuperBiasModel>},
      {"DarkModel", &make<DarkModel>},
      {"DarkMIRIModel", &make<DarkMIRIModel>},
      {"GainModel", &make<GainModel>},
      {"ReadnoiseModel", &make<ReadnoiseModel>},
      {"LinearityModel", &make<LinearityModel>},
      {"IPCModel", &make<IPCModel>},
      {"FlatModel", &make<FlatModel>},
      {"ResetModel", &make<ResetModel>},
      {"LastFrameModel", &make<LastFrameModel>}};
  return r;
}

std::string class_for_reftype(const std::string& reftype, int sci_ndim) {
  std::string r = upper(reftype);
  if (r == "MASK") return "MaskModel";
  if (r == "SATURATION") return "SaturationModel";
  if (r == "SUPERBIAS") return "SuperBiasModel";
  if (r == "DARK") return sci_ndim == 4 ? "DarkMIRIModel" : "DarkModel";
  if (r == "GAIN") return "GainModel";
  if (r == "READNOISE") return "ReadnoiseModel";
  if (r == "LINEARITY") return "LinearityModel";
  if (r == "IPC") return "IPCModel";
  if (r == "FLAT") return "FlatModel";
  if (r == "RESET") return "ResetModel";
  if (r == "LASTFRAME") return "LastFrameModel";
  switch (sci_ndim) {
    case 2:
      return "ReferenceImageModel";
    case 3:
      return "ReferenceCubeModel";
    case 4:
      return "ReferenceQuadModel";
    default:
      return "ReferenceFileModel";
  }
}

}  // namespace

bool is_fits_name(const fs::path& p) {
  std::string s = p.filename().string();
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto suf : {".fits", ".fits.gz", ".fit", ".fts"})
    if (s.ends_with(suf)) return true;
  return false;
}

std::shared_ptr<DataModel> create_model(const std::string& model_type, bool reference) {
  auto& r = registry();
  if (auto it = r.find(model_type); it != r.end()) return it->second();
  return std::make_shared<DataModel>(model_type.empty() ? "JwstDataModel" : model_type,
                                     reference ? "referencefile" : "core");
}

std::shared_ptr<DataModel> convert_model(const DataModel& model, const std::string& model_type) {
  auto out = create_model(model_type, model.is_reference());
  out->tree() = model.tree();
  if (!out->tree().contains("meta") || !out->tree()["meta"].is_object())
    out->tree()["meta"] = Json::object();
  out->tree()["meta"]["model_type"] = out->model_type();
  out->fits_extras() = model.fits_extras();
  out->set_source_path(model.source_path());
  out->set_strict_validation(model.strict_validation());
  for (auto& name : model.table_names()) out->set_table(name, model.table(name));
  for (auto& name : model.array_names()) out->set_array(name, model.array(name));
  return out;
}

bool OpenOptions::wants(std::string_view array) const {
  return !arrays || std::find(arrays->begin(), arrays->end(), array) != arrays->end();
}

namespace {

// Applies a limited OpenOptions to a model read in full (the .asdf path): drops what was not
// asked for and cuts the plane range.
void limit_model(DataModel& model, const OpenOptions& o) {
  if (!o.limited()) return;
  for (auto& name : model.array_names())
    if (!o.wants(name)) model.remove_array(name);
  for (auto& name : model.table_names())
    if (!o.wants(name) && !(name == "dq_def" && o.wants("dq"))) model.remove_table(name);
  model.fits_extras().hdus.clear();
  if (o.planes && model.has_array(o.planes->array)) {
    Array& a = model.array(o.planes->array);
    auto shape = a.shape();
    if (shape.empty() || o.planes->first < 0 || o.planes->count < 0 ||
        o.planes->first + o.planes->count > shape[0])
      throw IoError(model.source_path().string() + ": array " + o.planes->array + " has shape " +
                    a.shape_string() + ": cannot read planes [" + std::to_string(o.planes->first) +
                    ", " + std::to_string(o.planes->first + o.planes->count) + ")");
    const std::size_t plane = a.nbytes() / static_cast<std::size_t>(shape[0]);
    shape[0] = o.planes->count;
    Array cut = Array::allocate(a.dtype(), shape);
    std::memcpy(cut.raw(), static_cast<const char*>(a.raw()) + plane * o.planes->first,
                cut.nbytes());
    model.set_array(o.planes->array, std::move(cut));
  }
  if (o.window) {
    const auto& w = *o.window;
    for (auto& name : model.array_names()) {
      const Array& a = model.array(name);
      if (a.ndim() < 2) continue;
      auto shape = a.shape();
      const std::size_t nd = shape.size();
      if (w.y0 < 0 || w.x0 < 0 || w.ny < 0 || w.nx < 0 || w.y0 + w.ny > shape[nd - 2] ||
          w.x0 + w.nx > shape[nd - 1])
        throw IoError(model.source_path().string() + ": array " + name + " has shape " +
                      a.shape_string() + ": cannot read rows [" + std::to_string(w.y0) + ", " +
                      std::to_string(w.y0 + w.ny) + ") and columns [" + std::to_string(w.x0) +
                      ", " + std::to_string(w.x0 + w.nx) + ")");
      const std::int64_t rows = shape[nd - 2], cols = shape[nd - 1];
      const std::size_t item = dtype_size(a.dtype());
      shape[nd - 2] = w.ny;
      shape[nd - 1] = w.nx;
      Array cut = Array::allocate(a.dtype(), shape);
      const std::int64_t planes =
          rows * cols == 0 ? 0 : static_cast<std::int64_t>(a.size()) / (rows * cols);
      const char* src = static_cast<const char*>(a.raw());
      char* dst = static_cast<char*>(cut.raw());
      for (std::int64_t p = 0; p < planes; ++p)
        for (std::int64_t y = 0; y < w.ny; ++y)
          std::memcpy(dst + ((p * w.ny + y) * w.nx) * item,
                      src + ((p * rows + w.y0 + y) * cols + w.x0) * item, w.nx * item);
      model.set_array(name, std::move(cut));
    }
  }
  model.set_partial(true);
}

}  // namespace

std::shared_ptr<DataModel> open_as(const fs::path& path, const std::string& model_type,
                                   const OpenOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IoError("cannot open " + path.string() + ": no such file");
  std::shared_ptr<DataModel> model;
  if (path.extension() == ".asdf") {
    model = create_model(model_type);
    model->set_source_path(path);
    io::read_asdf(path, *model);
    limit_model(*model, options);
  } else {
    io::FitsSummary s = io::summarize_fits(path);
    model = create_model(model_type, !s.reftype.empty());
    model->set_source_path(path);
    io::read_fits(path, *model, options);
  }
  return model;
}

std::shared_ptr<DataModel> open(const fs::path& path, const OpenOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IoError("cannot open " + path.string() + ": no such file");
  if (path.extension() == ".asdf") {
    std::string type = io::asdf_model_type(path);
    if (type.empty()) {
      warn("model_type not found. Opening " + path.filename().string() + " as a JwstDataModel");
      type = "JwstDataModel";
    }
    return open_as(path, type, options);
  }
  if (!is_fits_name(path)) {
    // Not named like FITS: still try FITS (the reader reports a clear error if it is not).
  }
  io::FitsSummary s = io::summarize_fits(path);
  std::string type = s.datamodl;
  if (type.empty()) {
    const io::HduInfo* sci = s.find("SCI");
    int ndim = sci ? static_cast<int>(sci->shape.size()) : 0;
    if (ndim == 4 && !s.find("DQ"))
      type = "RampModel";
    else if (!s.reftype.empty())
      type = class_for_reftype(s.reftype, ndim);
    else if (ndim == 2)
      type = "ImageModel";
    else if (ndim == 3)
      type = "CubeModel";
    else if (ndim == 4)
      type = "QuadModel";
    else if (!sci)
      type = "JwstDataModel";
    else
      throw IoError("cannot choose a model class for " + path.string() + ": SCI has " +
                    std::to_string(ndim) + " dimensions and there is no DATAMODL");
    warn("model_type not found. Opening " + path.filename().string() + " as a " + type);
  }
  auto model = create_model(type, !s.reftype.empty());
  model->set_source_path(path);
  io::read_fits(path, *model, options);
  return model;
}

}  // namespace stpipe::models
