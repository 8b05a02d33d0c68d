// Binding of stpipe/core/product.h and json_product.h: Product, JsonProduct (.data list,
// .meta dict), and the conversions of step arguments and results (Datum) and JSON values.
#include "stpipe/core/product.h"

#include <vector>

#include "binding.h"
#include "stpipe/core/json_product.h"
#include "stpipe/util/error.h"

namespace stpipe::python {

namespace {

std::vector<ProductConverter>& converters() {
  static std::vector<ProductConverter> c;
  return c;
}

}  // namespace

void add_product_converter(ProductConverter c) { converters().push_back(c); }

nlohmann::ordered_json to_json(py::handle obj) {
  using J = nlohmann::ordered_json;
  if (obj.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(obj)) return obj.cast<bool>();
  if (py::isinstance<py::int_>(obj)) return obj.cast<long long>();
  if (py::isinstance<py::float_>(obj)) return obj.cast<double>();
  if (py::isinstance<py::str>(obj)) return obj.cast<std::string>();
  if (py::isinstance<py::dict>(obj)) {
    J out = J::object();
    for (auto kv : obj.cast<py::dict>())
      out[py::str(kv.first).cast<std::string>()] = to_json(kv.second);
    return out;
  }
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    J out = J::array();
    for (auto item : obj) out.push_back(to_json(item));
    return out;
  }
  if (py::hasattr(obj, "__fspath__"))
    return py::module_::import("os").attr("fspath")(obj).cast<std::string>();
  // numpy scalars and arrays: through their Python equivalents.
  if (py::hasattr(obj, "tolist")) return to_json(obj.attr("tolist")());
  throw py::type_error("Cannot use a value of type '" +
                       std::string(py::str(py::type::of(obj).attr("__name__"))) +
                       "' as a parameter");
}

py::object from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(j.get<long long>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(j.get<unsigned long long>());
    case nlohmann::json::value_t::number_float:
      return py::float_(j.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      py::list out;
      for (const auto& v : j) out.append(from_json(v));
      return out;
    }
    case nlohmann::json::value_t::object: {
      py::dict out;
      for (auto it = j.begin(); it != j.end(); ++it) out[py::str(it.key())] = from_json(it.value());
      return out;
    }
    default:
      throw py::type_error("Unsupported JSON value");
  }
}

Datum to_datum(py::handle obj) {
  if (obj.is_none()) return {};
  if (py::isinstance<py::str>(obj)) return Datum(obj.cast<std::string>());
  if (py::hasattr(obj, "__fspath__")) {
    return Datum(py::module_::import("os").attr("fspath")(obj).cast<std::string>());
  }
  if (py::isinstance<Product>(obj)) return Datum(obj.cast<ProductPtr>());
  for (const auto& c : converters()) {
    if (auto p = c.to_product(obj)) return Datum(p);
  }
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    std::vector<Datum> items;
    for (auto item : obj) items.push_back(to_datum(item));
    return Datum(std::move(items));
  }
  throw py::type_error(
      "A step input must be a file name, a model or product, or a list of them; got '" +
      std::string(py::str(py::type::of(obj).attr("__name__"))) + "'");
}

py::object from_datum(const Datum& d) {
  if (d.empty()) return py::none();
  if (d.is_path()) return py::str(d.path());
  if (d.is_list()) {
    py::list out;
    for (const auto& item : d.list()) out.append(from_datum(item));
    return out;
  }
  for (const auto& c : converters()) {
    if (auto o = c.from_product(d.product())) return o;
  }
  return py::cast(d.product());
}

void wrap_product(py::module_& m) {
  py::class_<Product, std::shared_ptr<Product>>(m, "Product",
                                                "An in-memory dataset a step reads and returns.")
      .def_property_readonly("type_name", &Product::type_name)
      .def_property("filename", &Product::filename, &Product::set_filename)
      .def(
          "save", [](Product& p, const std::string& path) { p.save(path); }, py::arg("path"),
          py::call_guard<py::gil_scoped_release>(),
          "Writes the product (format from the extension).")
      .def("cal_step", &Product::cal_step, py::arg("key"), "meta.cal_step.<key>, or None.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](py::object, py::args) { return false; });

  py::class_<JsonProduct, Product, std::shared_ptr<JsonProduct>>(
      m, "JsonProduct", "A JSON dataset {\"meta\": {...}, \"data\": [numbers]}.")
      .def(py::init([](py::object doc) {
             if (doc.is_none()) return std::make_shared<JsonProduct>();
             auto j = to_json(doc);
             if (!j.is_object()) throw py::type_error("JsonProduct needs a dict");
             if (!j.contains("meta")) j["meta"] = nlohmann::ordered_json::object();
             if (!j.contains("data")) j["data"] = nlohmann::ordered_json::array();
             return std::make_shared<JsonProduct>(std::move(j));
           }),
           py::arg("doc") = py::none())
      .def_static(
          "open", [](const std::string& path) { return JsonProduct::open(path); }, py::arg("path"),
          py::call_guard<py::gil_scoped_release>())
      .def_property(
          "data", [](JsonProduct& p) { return from_json(p.data()); },
          [](JsonProduct& p, py::object v) { p.doc()["data"] = to_json(v); },
          "The data list (a copy; assign to change it).")
      .def_property(
          "meta", [](JsonProduct& p) { return from_json(p.doc()["meta"]); },
          [](JsonProduct& p, py::object v) { p.doc()["meta"] = to_json(v); },
          "The meta dict (a copy; assign to change it).")
      .def_property(
          "doc", [](JsonProduct& p) { return from_json(p.doc()); },
          [](JsonProduct& p, py::object v) { p.doc() = to_json(v); })
      .def("__repr__", [](JsonProduct& p) {
        return "<JsonProduct " + (p.filename().empty() ? std::string("in memory") : p.filename()) +
               ">";
      });
}

}  // namespace stpipe::python
