// Plain .asdf model files: metadata tree and arrays as binary blocks (via the asdf area).
#include <cstring>

#include "io/table_records.h"
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

namespace {

// extra_fits, as stdatamodels keeps FITS content outside the schema in ASDF:
//   extra_fits: {PRIMARY: {header: [[KEY, value, comment], ...], history: [...]},
//                NAME[,VER]: {header: [...], data: <ndarray: image, or records for a table>}}
Json cards_json(const std::vector<models::Card>& cards) {
  Json list = Json::array();
  for (const auto& c : cards) list.push_back(Json::array({c.keyword, c.value, c.comment}));
  return list;
}

std::vector<models::Card> cards_from(const Json& list) {
  std::vector<models::Card> out;
  if (!list.is_array()) return out;
  for (const auto& e : list) {
    if (!e.is_array() || e.empty() || !e[0].is_string()) continue;
    models::Card c;
    c.keyword = e[0].get<std::string>();
    if (e.size() > 1) c.value = e[1];
    if (e.size() > 2 && e[2].is_string()) c.comment = e[2].get<std::string>();
    out.push_back(std::move(c));
  }
  return out;
}

Json extra_fits_tree(const models::FitsExtras& x, asdf::AsdfWriter& writer) {
  Json extra = Json::object();
  for (const auto& [hdu, cards] : x.cards)
    if (!cards.empty()) extra[hdu]["header"] = cards_json(cards);
  if (!x.history.empty()) extra["PRIMARY"]["history"] = x.history;
  for (const auto& h : x.hdus) {
    std::string key = h.extname.empty() ? "HDU" : h.extname;
    if (h.extver != 1) key += "," + std::to_string(h.extver);
    Json& e = extra[key];
    if (!h.header.empty()) e["header"] = cards_json(h.header);
    if (h.image) {
      const Array& a = *h.image;
      std::string tn =
          a.dtype() == DType::kBool8 ? "bool8" : std::string(models::dtype_name(a.dtype()));
      e["data"] = writer.add_array(
          asdf::DataType::from_name(tn), a.shape(),
          std::span<const std::byte>(static_cast<const std::byte*>(a.raw()), a.nbytes()));
    } else if (h.table) {
      auto fields = table_fields(*h.table);
      e["data"] = writer.add_records(fields, static_cast<std::int64_t>(h.table->rows()),
                                     table_records(*h.table, fields));
    }
  }
  return extra;
}

void read_extra_fits(const asdf::AsdfFile& file, const Json& extra, models::FitsExtras& x,
                     const fs::path& path) {
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    const Json& e = it.value();
    if (!e.is_object()) continue;
    auto cards = e.contains("header") ? cards_from(e["header"]) : std::vector<models::Card>{};
    if (it.key() == "PRIMARY" && e.contains("history") && e["history"].is_array())
      for (const auto& h : e["history"])
        if (h.is_string()) x.history.push_back(h.get<std::string>());
    if (!e.contains("data") || !asdf::is_ndarray(e["data"])) {
      if (!cards.empty()) x.cards[it.key()] = std::move(cards);
      continue;
    }
    models::ExtraHdu h;
    const std::string& key = it.key();
    const auto comma = key.find(',');
    h.extname = key.substr(0, comma);
    if (h.extname == "HDU") h.extname.clear();
    if (comma != std::string::npos) h.extver = std::atoi(key.c_str() + comma + 1);
    h.header = std::move(cards);
    try {
      asdf::NdArrayInfo info = file.resolve(e["data"]);
      if (info.source == asdf::ArraySource::kExternal) continue;
      std::vector<std::byte> bytes(info.nbytes());
      file.read_array(info, bytes);
      if (info.datatype.kind == asdf::ScalarKind::kStructured) {
        h.table = records_table(info, bytes);
      } else {
        auto dt = models::dtype_from_name(info.datatype.name);
        if (!dt) throw IoError("unsupported datatype " + info.datatype.name);
        Array a = Array::uninitialized(*dt, info.shape);
        std::memcpy(a.raw(), bytes.data(), a.nbytes());
        h.image = std::move(a);
      }
    } catch (const std::exception& ex) {
      throw IoError(path.string() + ": extra_fits." + key + ": " + ex.what());
    }
    x.hdus.push_back(std::move(h));
  }
}

}  // namespace

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
      if (info.source == asdf::ArraySource::kExternal) continue;
      if (info.datatype.kind == asdf::ScalarKind::kStructured) {  // a table
        try {
          std::vector<std::byte> records(info.nbytes());
          file.read_array(info, records);
          model.set_table(key, records_table(info, records));
        } catch (const std::exception& e) {
          throw IoError(path.string() + ": table " + key + ": " + e.what());
        }
        continue;
      }
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
    } else if (key == "extra_fits" && it.value().is_object()) {
      read_extra_fits(file, it.value(), model.fits_extras(), path);
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
  for (auto it = model.tree().begin(); it != model.tree().end(); ++it)
    if (it.key() != "extra_fits") tree[it.key()] = it.value();
  for (auto& name : model.array_names()) {
    const Array& a = model.array(name);
    std::string tn =
        a.dtype() == DType::kBool8 ? "bool8" : std::string(models::dtype_name(a.dtype()));
    tree[name] = writer.add_array(
        asdf::DataType::from_name(tn), a.shape(),
        std::span<const std::byte>(static_cast<const std::byte*>(a.raw()), a.nbytes()));
  }
  for (auto& name : model.table_names()) {
    const models::Table& t = model.table(name);
    auto fields = table_fields(t);
    auto records = table_records(t, fields);
    tree[name] = writer.add_records(fields, static_cast<std::int64_t>(t.rows()), records);
  }
  Json extra = extra_fits_tree(model.fits_extras(), writer);
  if (!extra.empty()) tree["extra_fits"] = std::move(extra);
  writer.write(path, tree);
}

}  // namespace stpipe::io
