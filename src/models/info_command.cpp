// `stpipe info FILE [--json]` and `stpipe convert IN OUT`.
#include <iostream>

#include "stpipe/cli/commands.h"
#include "stpipe/models/datamodel.h"
#include "stpipe/util/error.h"

namespace stpipe::cli {

namespace {

using models::Json;

void flatten(const Json& node, const std::string& key, Json& out) {
  if (node.is_object() && !node.contains("__tag__")) {
    for (auto it = node.begin(); it != node.end(); ++it)
      flatten(it.value(), key + "." + it.key(), out);
  } else {
    out[key] = node;
  }
}

// Collects warnings for the lifetime of the object instead of printing them.
class WarningCollector {
 public:
  WarningCollector() {
    old_ = models::set_warning_handler([this](const std::string& m) { messages.push_back(m); });
  }
  ~WarningCollector() { models::set_warning_handler(old_); }
  std::vector<std::string> messages;

 private:
  models::WarningHandler old_;
};

int fail(const std::exception& e) {
  std::cerr << "stpipe: error: " << e.what() << "\n";
  if (auto* se = dynamic_cast<const stpipe::Error*>(&e)) {
    int code = static_cast<int>(se->exit_code());
    return code == 1 ? 3 : code;
  }
  return 3;
}

Json shape_json(const std::vector<std::int64_t>& shape) {
  Json s = Json::array();
  for (auto d : shape) s.push_back(d);
  return s;
}

}  // namespace

int info_command(const std::vector<std::string>& args) {
  bool json = false;
  std::string file;
  for (auto& a : args) {
    if (a == "--json")
      json = true;
    else if (a == "-h" || a == "--help") {
      std::cout
          << "usage: stpipe info FILE [--json]\n"
             "Prints the model type, main metadata, arrays and tables of a FITS or ASDF file.\n";
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "stpipe info: unknown option " << a << "\nusage: stpipe info FILE [--json]\n";
      return 2;
    } else if (file.empty())
      file = a;
    else {
      std::cerr << "stpipe info: too many arguments\nusage: stpipe info FILE [--json]\n";
      return 2;
    }
  }
  if (file.empty()) {
    std::cerr << "usage: stpipe info FILE [--json]\n";
    return 2;
  }
  WarningCollector warnings;
  std::shared_ptr<models::DataModel> m;
  try {
    m = models::open(file);
  } catch (const std::exception& e) {
    return fail(e);
  }
  if (json) {
    Json out = Json::object();
    out["file"] = file;
    out["model_type"] = m->model_type();
    out["schema"] = m->schema_name();
    Json meta = Json::object();
    if (m->tree().contains("meta")) flatten(m->tree()["meta"], "meta", meta);
    out["meta"] = meta;
    Json arrays = Json::object();
    for (auto& n : m->array_names()) {
      const auto& a = m->array(n);
      arrays[n] = {{"shape", shape_json(a.shape())},
                   {"dtype", std::string(models::dtype_name(a.dtype()))}};
    }
    out["arrays"] = arrays;
    Json tables = Json::object();
    for (auto& n : m->table_names()) {
      const auto& t = m->table(n);
      Json cols = Json::array();
      for (auto& c : t.columns()) cols.push_back(c.name);
      tables[n] = {{"rows", t.rows()}, {"columns", cols}};
    }
    out["tables"] = tables;
    Json extra = Json::array();
    for (auto& h : m->fits_extras().hdus) {
      Json e = {{"extname", h.extname}, {"extver", h.extver}};
      if (h.image)
        e["shape"] = shape_json(h.image->shape()),
        e["dtype"] = std::string(models::dtype_name(h.image->dtype()));
      if (h.table) e["rows"] = h.table->rows();
      extra.push_back(e);
    }
    out["extra_hdus"] = extra;
    out["warnings"] = warnings.messages;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  auto show = [&](const char* label, const char* path) {
    auto v = m->get_meta(path);
    std::cout << "  " << label << ": ";
    if (!v)
      std::cout << "-";
    else if (v->is_string())
      std::cout << v->get<std::string>();
    else
      std::cout << v->dump();
    std::cout << "\n";
  };
  std::cout << file << "\n";
  std::cout << "  model type: " << m->model_type() << " (schema " << m->schema_name() << ")\n";
  show("instrument", "meta.instrument.name");
  show("detector", "meta.instrument.detector");
  show("exposure type", "meta.exposure.type");
  show("subarray", "meta.subarray.name");
  show("readout pattern", "meta.exposure.readpatt");
  show("nints", "meta.exposure.nints");
  show("ngroups", "meta.exposure.ngroups");
  show("date", "meta.observation.date");
  if (m->is_reference()) {
    show("reftype", "meta.reftype");
    show("useafter", "meta.useafter");
  }
  std::cout << "arrays:\n";
  for (auto& n : m->array_names()) {
    const auto& a = m->array(n);
    std::cout << "  " << n << "  " << a.shape_string() << "  " << models::dtype_name(a.dtype())
              << "\n";
  }
  if (!m->table_names().empty()) std::cout << "tables:\n";
  for (auto& n : m->table_names())
    std::cout << "  " << n << "  " << m->table(n).rows() << " rows x "
              << m->table(n).columns().size() << " columns\n";
  if (!m->fits_extras().hdus.empty()) std::cout << "other HDUs:\n";
  for (auto& h : m->fits_extras().hdus) {
    std::cout << "  " << h.extname << "," << h.extver;
    if (h.image)
      std::cout << "  " << h.image->shape_string() << "  " << models::dtype_name(h.image->dtype());
    if (h.table) std::cout << "  table, " << h.table->rows() << " rows";
    std::cout << "\n";
  }
  if (!warnings.messages.empty()) {
    std::cout << "validation warnings:\n";
    for (auto& w : warnings.messages) std::cout << "  " << w << "\n";
  }
  return 0;
}

int convert_command(const std::vector<std::string>& args) {
  std::vector<std::string> pos;
  for (auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << "usage: stpipe convert IN OUT\nConverts between .fits and .asdf model files.\n";
      return 0;
    }
    if (!a.empty() && a[0] == '-') {
      std::cerr << "stpipe convert: unknown option " << a << "\nusage: stpipe convert IN OUT\n";
      return 2;
    }
    pos.push_back(a);
  }
  if (pos.size() != 2) {
    std::cerr << "usage: stpipe convert IN OUT\n";
    return 2;
  }
  try {
    auto m = models::open(pos[0]);
    m->save(pos[1]);
  } catch (const std::exception& e) {
    return fail(e);
  }
  return 0;
}

}  // namespace stpipe::cli
