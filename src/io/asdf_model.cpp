// Plain .asdf model files: metadata tree and arrays as binary blocks (via the asdf area).
#include <cstring>

#include "stpipe/asdf/asdf_file.h"
#include "stpipe/asdf/asdf_writer.h"
#include "stpipe/asdf/ndarray.h"
#include "stpipe/io/fits.h"
#include "stpipe/util/error.h"

namespace stpipe::io {

namespace fs = std::filesystem;
using models::Array;
using models::DType;
using models::Json;

std::string asdf_model_type(const fs::path& path) {
  asdf::AsdfFile file = asdf::AsdfFile::open(path);
  const Json& t = file.tree();
  if (t.contains("meta") && t["meta"].is_object() && t["meta"].contains("model_type") &&
      t["meta"]["model_type"].is_string())
    return t["meta"]["model_type"].get<std::string>();
  return "";
}

void read_asdf(const fs::path& path, models::DataModel& model) {
  asdf::AsdfFile file = asdf::AsdfFile::open(path);
  const Json& t = file.tree();
  for (auto it = t.begin(); it != t.end(); ++it) {
    const std::string& key = it.key();
    if (key == "asdf_library" || key == "history") continue;
    if (asdf::is_ndarray(it.value())) {
      asdf::NdArrayInfo info;
      try {
        info = file.resolve(it.value());
      } catch (const std::exception& e) {
        throw IoError(path.string() + ": array " + key + ": " + e.what());
      }
      if (info.datatype.kind == asdf::ScalarKind::kStructured ||
          info.source == asdf::ArraySource::kExternal)
        continue;
      auto dt = models::dtype_from_name(info.datatype.name);
      if (!dt)
        throw IoError(path.string() + ": array " + key + ": unsupported datatype " +
                      info.datatype.name);
      Array a = Array::allocate(*dt, info.shape);
      try {
        file.read_array(info, std::span<std::byte>(static_cast<std::byte*>(a.raw()), a.nbytes()));
      } catch (const std::exception& e) {
        throw IoError(path.string() + ": array " + key + ": " + e.what());
      }
      try {
        model.set_array(key, std::move(a));
      } catch (const std::exception& e) {
        throw IoError(path.string() + ": array " + key + ": " + e.what());
      }
    } else if (key == "meta" && it.value().is_object()) {
      model.tree()["meta"] = it.value();
    } else {
      model.tree()[key] = it.value();
    }
  }
  for (auto& problem : model.validate()) {
    std::string msg = path.filename().string() + ": " + problem;
    model.load_warnings().push_back(msg);
    models::warn(msg);
  }
}

void write_asdf(const models::DataModel& model, const fs::path& path) {
  asdf::AsdfWriter writer;
  Json tree = Json::object();
  for (auto it = model.tree().begin(); it != model.tree().end(); ++it) tree[it.key()] = it.value();
  for (auto& name : model.array_names()) {
    const Array& a = model.array(name);
    std::string tn =
        a.dtype() == DType::kBool8 ? "bool8" : std::string(models::dtype_name(a.dtype()));
    tree[name] = writer.add_array(
        asdf::DataType::from_name(tn), a.shape(),
        std::span<const std::byte>(static_cast<const std::byte*>(a.raw()), a.nbytes()));
  }
  writer.write(path, tree);
}

}  // namespace stpipe::io
