// Binding of stpipe/models/datamodel.h: DataModel and its typed classes with attribute access
// (m.meta.instrument.name, m.data as a numpy view), models.open/save; models cross into steps as
// the core's ModelProduct.
#include "stpipe/models/datamodel.h"

#include <cstdint>

#include "binding.h"
#include "models/numpy_array.h"
#include "stpipe/core/model_product.h"

namespace stpipe::python {

namespace {

using models::DataModel;
using ModelPtr = std::shared_ptr<DataModel>;

ProductPtr model_to_product(py::handle obj) {
  if (!py::isinstance<DataModel>(obj)) return nullptr;
  return std::make_shared<ModelProduct>(obj.cast<ModelPtr>());
}

py::object product_to_model(const ProductPtr& p) {
  if (auto* mp = dynamic_cast<ModelProduct*>(p.get())) return py::cast(mp->shared_model());
  return py::object();
}

py::object attribute(py::object self, const std::string& name) {
  DataModel& m = self.cast<DataModel&>();
  if (m.has_array(name)) return to_numpy(m.array(name));
  if (const auto* e = m.schema().array(name); e && !e->is_table) {
    // As stdatamodels: a schema array is allocated (default-filled) on first access.
    return to_numpy(m.ensure_array(name));
  }
  if (auto v = m.get_meta(name)) return from_json(*v);
  throw py::attribute_error("'" + m.model_type() + "' has no attribute '" + name + "'");
}

void set_attribute(py::object self, const std::string& name, py::object value) {
  DataModel& m = self.cast<DataModel&>();
  bool is_array_name =
      m.has_array(name) || (m.schema().array(name) && !m.schema().array(name)->is_table);
  if (!name.empty() && name[0] != '_' && (is_array_name || py::isinstance<py::array>(value))) {
    py::array arr = py::module_::import("numpy").attr("asarray")(value);
    m.set_array(name, from_numpy(arr));
    return;
  }
  py::module_::import("builtins").attr("object").attr("__setattr__")(self, name, value);
}

template <class M>
void bind_model_class(py::module_& mm, const char* name) {
  py::class_<M, DataModel, std::shared_ptr<M>>(mm, name).def(py::init<>());
}

}  // namespace

void wrap_datamodel(py::module_& m) {
  add_product_converter({model_to_product, product_to_model});
  py::module_ mm = m.def_submodule("models", "Data models (C++ model layer)");

  py::class_<DataModel, std::shared_ptr<DataModel>>(mm, "DataModel", py::dynamic_attr(),
                                                    "A data model: schema, metadata tree, arrays.")
      .def(py::init<std::string, std::string>(), py::arg("model_type") = "JwstDataModel",
           py::arg("schema") = "core")
      .def_property_readonly("model_type", &DataModel::model_type)
      .def_property_readonly("schema_name", &DataModel::schema_name)
      .def_property_readonly("is_reference", &DataModel::is_reference)
      .def_property_readonly("primary_array_name", &DataModel::primary_array_name)
      .def(
          "get_meta",
          [](const DataModel& d, const std::string& path) -> py::object {
            auto v = d.get_meta(path);
            return v ? from_json(*v) : py::none();
          },
          py::arg("path"), "The value at a dotted path ('meta.instrument.name'), or None.")
      .def(
          "set_meta",
          [](DataModel& d, const std::string& path, py::object v) {
            return d.set_meta(path, to_json(v));
          },
          py::arg("path"), py::arg("value"),
          "Sets a value after schema validation; False (and a warning) if invalid, ValueError when "
          "strict.")
      .def("remove_meta", [](DataModel& d, const std::string& p) { d.remove_meta(p); })
      .def("schema_has", [](const DataModel& d, const std::string& p) { return d.schema_has(p); })
      .def("schema_node",
           [](const DataModel& d, const std::string& p) -> py::object {
             const auto* n = d.schema().node(p);
             return n ? from_json(*n) : py::none();
           })
      .def_property_readonly("tree", [](const DataModel& d) { return from_json(d.tree()); })
      .def_property("strict_validation", &DataModel::strict_validation,
                    &DataModel::set_strict_validation)
      .def("validate", &DataModel::validate)
      .def("has_array", [](const DataModel& d, const std::string& n) { return d.has_array(n); })
      .def_property_readonly("array_names", &DataModel::array_names)
      .def(
          "get_array", [](DataModel& d, const std::string& n) { return to_numpy(d.array(n)); },
          "The array as a numpy view (no copy).")
      .def(
          "set_array",
          [](DataModel& d, const std::string& n, py::object v) {
            d.set_array(n, from_numpy(py::module_::import("numpy").attr("asarray")(v)));
          },
          "Stores an array: ndim checked against the schema (ValueError), adopted without copy "
          "when "
          "the dtype matches, converted otherwise.")
      .def("remove_array", [](DataModel& d, const std::string& n) { d.remove_array(n); })
      .def(
          "_array_address",
          [](DataModel& d, const std::string& n) {
            return reinterpret_cast<std::uintptr_t>(d.array(n).raw());
          },
          "Debug: the address of the C++ buffer of an array.")
      .def_property_readonly("table_names", &DataModel::table_names)
      .def(
          "save",
          [](DataModel& d, py::object path) {
            std::string p = py::str(py::module_::import("os").attr("fspath")(path));
            py::gil_scoped_release release;
            d.save(p);
            return p;
          },
          py::arg("path"), "Writes .fits or .asdf by extension (atomic). Returns the path.")
      .def_property_readonly("source_path",
                             [](const DataModel& d) { return d.source_path().string(); })
      .def("crds_parameters", &DataModel::crds_parameters)
      .def("clone", &DataModel::clone)
      .def("copy", &DataModel::clone)
      .def_property_readonly(
          "meta",
          [](py::object self) {
            return py::module_::import("stpipe_cpp.models").attr("MetaNode")(self, "meta");
          })
      .def("__getattr__", &attribute)
      .def("__setattr__", &set_attribute)
      .def("close", [](DataModel&) {})
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](py::object, py::args) { return false; })
      .def("__repr__", [](const DataModel& d) {
        std::string s = "<" + d.model_type();
        if (d.has_array(d.primary_array_name()))
          s += d.array(d.primary_array_name()).shape_string();
        if (!d.source_path().empty()) s += " from " + d.source_path().filename().string();
        return s + ">";
      });

#define STPIPE_BIND_MODEL(Class) bind_model_class<models::Class>(mm, #Class);
  STPIPE_BIND_MODEL(RampModel)
  STPIPE_BIND_MODEL(Level1bModel)
  STPIPE_BIND_MODEL(ImageModel)
  STPIPE_BIND_MODEL(CubeModel)
  STPIPE_BIND_MODEL(SaturationModel)
  STPIPE_BIND_MODEL(SuperBiasModel)
  STPIPE_BIND_MODEL(DarkModel)
  STPIPE_BIND_MODEL(DarkMIRIModel)
  STPIPE_BIND_MODEL(GainModel)
  STPIPE_BIND_MODEL(ReadnoiseModel)
  STPIPE_BIND_MODEL(IPCModel)
  STPIPE_BIND_MODEL(FlatModel)
  STPIPE_BIND_MODEL(ResetModel)
  STPIPE_BIND_MODEL(LastFrameModel)
  STPIPE_BIND_MODEL(MaskModel)
  STPIPE_BIND_MODEL(LinearityModel)
#undef STPIPE_BIND_MODEL

  mm.def(
      "open",
      [](py::object path) {
        std::string p = py::str(py::module_::import("os").attr("fspath")(path));
        ModelPtr model;
        {
          py::gil_scoped_release release;
          model = models::open(p);
        }
        return model;
      },
      py::arg("path"), "Opens a .fits or .asdf file as the model class stdatamodels would choose.");
  mm.def(
      "open_as",
      [](py::object path, const std::string& model_type) {
        std::string p = py::str(py::module_::import("os").attr("fspath")(path));
        py::gil_scoped_release release;
        return models::open_as(p, model_type);
      },
      py::arg("path"), py::arg("model_type"));
  mm.def("create_model", &models::create_model, py::arg("model_type"),
         py::arg("reference") = false);
  mm.def("convert_model", &models::convert_model, py::arg("model"), py::arg("model_type"),
         "The model as another class (e.g. Level1bModel -> RampModel); arrays converted to the "
         "target schema's dtype, others shared.");
}

}  // namespace stpipe::python
