// Binding of stpipe/core/step.h: Step and Pipeline (with trampolines for Python subclasses),
// call/build/run releasing the GIL, parameters as attributes, FunctionWrapper for hooks.
#include "stpipe/core/step.h"

#include <filesystem>

#include "binding.h"
#include "core/py_step.h"

namespace stpipe::python {

namespace {

namespace fs = std::filesystem;

/// The trampoline of a step object, or nullptr for a plain C++ step.
template <class F>
bool with_trampoline(Step* s, F&& f) {
  if (auto* p = dynamic_cast<PyStep*>(s)) {
    f(p->info, p->owner_self);
    return true;
  }
  if (auto* p = dynamic_cast<PyStepT<Pipeline>*>(s)) {
    f(p->info, p->owner_self);
    return true;
  }
  return false;
}

CallOptions make_options(py::object config_file, py::object overrides) {
  CallOptions o;
  if (!config_file.is_none())
    o.config_file = fs::path(
        py::str(py::module_::import("os").attr("fspath")(config_file)).cast<std::string>());
  if (!overrides.is_none()) {
    o.overrides = to_json(overrides);
    if (!o.overrides.is_object()) throw py::type_error("overrides must be a dict");
  }
  return o;
}

PyClassInfo read_info(py::dict d) {
  PyClassInfo i;
  i.class_name = d["class_name"].cast<std::string>();
  i.aliases = d["aliases"].cast<std::vector<std::string>>();
  i.spec = d["spec"].cast<std::string>();
  i.reftypes = d["reference_file_types"].cast<std::vector<std::string>>();
  i.cal_step_key = d["cal_step_key"].cast<std::string>();
  i.doc = d["doc"].cast<std::string>();
  i.step_defs = d["step_defs"].cast<std::vector<std::pair<std::string, std::string>>>();
  i.is_linear = d["is_linear"].cast<bool>();
  return i;
}

/// Access to the protected parameter tree (read-only).
struct StepAccess : Step {
  static bool has_param(const Step& s, const std::string& key) {
    return static_cast<const StepAccess&>(s).params_.contains(key);
  }
};

py::object get_attribute(py::object self, const std::string& key) {
  Step& s = self.cast<Step&>();
  if (StepAccess::has_param(s, key)) return from_json(s.param(key));
  if (auto* p = dynamic_cast<Pipeline*>(&s)) {
    for (const auto& [n, sub] : p->steps()) {
      if (n == key) return py::cast(sub.get(), py::return_value_policy::reference_internal, self);
    }
  }
  throw py::attribute_error("'" + std::string(py::str(py::type::of(self).attr("__name__"))) +
                            "' object has no attribute or parameter '" + key + "'");
}

}  // namespace

std::unique_ptr<Step> take_ownership(py::object obj) {
  auto* inst = reinterpret_cast<py::detail::instance*>(obj.ptr());
  auto v_h = inst->get_value_and_holder();
  if (!inst->owned || !v_h.holder_constructed()) {
    throw StepError("This Python step object is already owned by a C++ pipeline");
  }
  Step* raw = v_h.value_ptr<Step>();
  bool ok = with_trampoline(raw, [&](PyClassInfo&, py::object& self) { self = obj; });
  if (!ok) throw StepError("Only Python step objects can be handed to C++");
  v_h.holder<std::unique_ptr<Step>>().release();
  v_h.set_holder_constructed(false);
  inst->owned = false;
  return std::unique_ptr<Step>(raw);
}

py::object give_to_python(std::unique_ptr<Step> step) {
  py::object self;
  with_trampoline(step.get(), [&](PyClassInfo&, py::object& s) { self = s; });
  if (self) {
    auto* inst = reinterpret_cast<py::detail::instance*>(self.ptr());
    auto v_h = inst->get_value_and_holder();
    new (std::addressof(v_h.holder<std::unique_ptr<Step>>())) std::unique_ptr<Step>(step.release());
    v_h.set_holder_constructed(true);
    inst->owned = true;
    Step* raw = v_h.value_ptr<Step>();
    with_trampoline(raw, [&](PyClassInfo&, py::object& s) { s = py::object(); });
    return self;
  }
  if (dynamic_cast<Pipeline*>(step.get())) {
    return py::cast(std::unique_ptr<Pipeline>(static_cast<Pipeline*>(step.release())));
  }
  return py::cast(std::move(step));
}

PyFunctionStep::PyFunctionStep(py::object func, std::string qualname)
    : func_(std::move(func)), qualname_(std::move(qualname)) {}

PyFunctionStep::~PyFunctionStep() {
  if (Py_IsInitialized()) {
    py::gil_scoped_acquire gil;
    func_ = py::object();
  } else {
    func_.release();
  }
}

Datum PyFunctionStep::process(const Datum& input) {
  py::gil_scoped_acquire gil;
  py::object r;
  try {
    r = func_(from_datum(input));
  } catch (py::error_already_set& e) {
    stash_python_error(e);
    throw;
  }
  if (r.is_none()) return input;
  return to_datum(r);
}

void wrap_step(py::module_& m) {
  py::class_<Step, PyStep, std::unique_ptr<Step>> step(
      m, "Step", "A configurable unit of work (C++ core; subclass stpipe_cpp.Step in Python).");
  step.def(py::init_alias<>())
      .def("_set_class_info",
           [](Step& s, py::dict d) {
             if (!with_trampoline(&s, [&](PyClassInfo& i, py::object&) { i = read_info(d); })) {
               throw py::type_error("not a Python step");
             }
           })
      .def(
          "_configure",
          [](Step& s, py::object config_file, py::object overrides, const std::string& name) {
            CallOptions o = make_options(config_file, overrides);
            std::vector<ConfigLayer> layers;
            std::string nm = name;
            if (o.config_file) {
              ConfigLayer l;
              l.source = ParamSource::kConfigFile;
              l.origin = o.config_file->string();
              l.tree = load_config_file(*o.config_file);
              if (nm.empty() && l.tree.contains("name") && l.tree["name"].is_string())
                nm = l.tree["name"];
              l.context.base_dir = fs::absolute(*o.config_file).parent_path();
              layers.push_back(std::move(l));
            }
            ConfigLayer k;
            k.source = ParamSource::kOverride;
            k.origin = "call arguments";
            k.tree = o.overrides;
            layers.push_back(std::move(k));
            py::gil_scoped_release release;
            Step::configure(s, layers, nm);
          },
          py::arg("config_file") = py::none(), py::arg("overrides") = py::none(),
          py::arg("name") = "",
          "Configures the step from a config file and keyword overrides (ConfigError if invalid).")
      .def(
          "run",
          [](Step& s, py::object input) {
            sync_log_level();
            Datum in = to_datum(input);
            Datum out;
            {
              py::gil_scoped_release release;
              out = s.run(in);
            }
            return from_datum(out);
          },
          py::arg("input") = py::none(), "Runs the step: hooks, skip, process, saving, logging.")
      .def("__call__", [](py::object self, py::object input) { return self.attr("run")(input); })
      .def_property_readonly("name", &Step::name)
      .def_property_readonly("class_name", &Step::class_name)
      .def_property_readonly("qualified_name", &Step::qualified_name)
      .def_property_readonly("class_aliases", &Step::aliases)
      .def_property_readonly("spec_text", &Step::spec)
      .def_property_readonly("cal_step_key", &Step::cal_step_key)
      .def_property_readonly("is_pipeline", &Step::is_pipeline)
      .def_property_readonly("elapsed_seconds", &Step::elapsed_seconds)
      .def_property_readonly("was_skipped", &Step::was_skipped)
      .def_property_readonly("parent", &Step::parent, py::return_value_policy::reference)
      .def(
          "get_pars", [](const Step& s) { return from_json(s.get_pars()); },
          "Every parameter (pipelines: sub-steps under 'steps'), as stpipe's get_pars.")
      .def("param", [](const Step& s, const std::string& k) { return from_json(s.param(k)); })
      .def(
          "set", [](Step& s, const std::string& k, py::object v) { s.set(k, to_json(v)); },
          "Sets a parameter, checked against the spec (ConfigError if invalid).")
      .def(
          "source_of",
          [](const Step& s, const std::string& k) { return source_name(s.source_of(k)); },
          "Where a parameter's value came from: default, config file, command line...")
      .def("save_parameters",
           [](const Step& s, py::object path) {
             s.save_parameters(
                 py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>());
           })
      .def("describe", [](const Step& s) { return describe_parameters(s); })
      .def("reference_path", &Step::reference_path)
      .def_property_readonly("reference_file_types", &Step::reference_file_types)
      .def(
          "make_output_path",
          [](const Step& s, const std::string& base, const std::string& ext,
             std::optional<std::string> suffix, std::optional<int> idx) {
            return s.make_output_path(base, ext, suffix, idx).string();
          },
          py::arg("basepath") = "", py::arg("ext") = "", py::arg("suffix") = py::none(),
          py::arg("idx") = py::none())
      .def(
          "save_model",
          [](Step& s, py::object model, std::optional<int> idx, bool force,
             std::optional<std::string> suffix) {
            Datum d = to_datum(model);
            if (!d.is_product()) throw py::type_error("save_model needs a model or product");
            py::gil_scoped_release release;
            return s.save_model(*d.product(), idx, force, suffix).string();
          },
          py::arg("model"), py::arg("idx") = py::none(), py::arg("force") = false,
          py::arg("suffix") = py::none(),
          "Saves a product if saving is asked for (or force); returns the path.")
      .def("open_model",
           [](const Step& s, py::object input) {
             Datum d = to_datum(input);
             ProductPtr p;
             {
               py::gil_scoped_release release;
               p = s.open_model(d);
             }
             return from_datum(Datum(p));
           })
      .def("input_filename", &Step::input_filename)
      .def("__getattr__", &get_attribute)
      .def("__setattr__", [](py::object self, const std::string& key, py::object value) {
        Step& s = self.cast<Step&>();
        if (!key.empty() && key[0] != '_' && StepAccess::has_param(s, key)) {
          s.set(key, to_json(value));
          return;
        }
        py::module_::import("builtins").attr("object").attr("__setattr__")(self, key, value);
      });

  py::class_<Pipeline, Step, PyPipeline, std::unique_ptr<Pipeline>>(
      m, "Pipeline", "A Step made of named sub-steps.")
      .def(py::init_alias<>())
      .def("step", &Pipeline::step, py::return_value_policy::reference_internal)
      .def_property_readonly("steps",
                             [](py::object self) {
                               py::dict out;
                               for (const auto& [n, sub] : self.cast<Pipeline&>().steps()) {
                                 out[py::str(n)] = py::cast(
                                     sub.get(), py::return_value_policy::reference_internal, self);
                               }
                               return out;
                             })
      .def_property_readonly("step_defs", &Pipeline::step_defs)
      .def_property_readonly("is_linear", &Pipeline::is_linear)
      .def("set_start_step", &Pipeline::set_start_step)
      .def("set_end_step", &Pipeline::set_end_step)
      .def_property_readonly("completed_steps", &Pipeline::completed_steps)
      .def_property_readonly("state_file",
                             [](const Pipeline& p) { return p.state_file().string(); });

  m.def(
      "call",
      [](const std::string& class_name, py::object input, py::object config_file,
         py::object overrides, bool save_results) {
        sync_log_level();
        CallOptions o = make_options(config_file, overrides);
        o.save_results = save_results;
        Datum in = to_datum(input);
        Datum out;
        {
          py::gil_scoped_release release;
          out = Step::call(class_name, in, o);
        }
        return from_datum(out);
      },
      py::arg("class_name"), py::arg("input"), py::arg("config_file") = py::none(),
      py::arg("overrides") = py::none(), py::arg("save_results") = false,
      "Step.call: builds `class_name` from every parameter layer and runs it on `input`.");
  m.def(
      "build",
      [](const std::string& class_name, py::object config_file, py::object overrides) {
        CallOptions o = make_options(config_file, overrides);
        std::unique_ptr<Step> s;
        {
          py::gil_scoped_release release;
          s = Step::build(class_name, Datum{}, o);
        }
        return give_to_python(std::move(s));
      },
      py::arg("class_name"), py::arg("config_file") = py::none(), py::arg("overrides") = py::none(),
      "A configured instance of a registered class (config file, then overrides).");
  m.def(
      "resume_pipeline",
      [](py::object state_file, py::object overrides) {
        CallOptions o = make_options(py::none(), overrides);
        std::string path = py::str(py::module_::import("os").attr("fspath")(state_file));
        Datum out;
        {
          py::gil_scoped_release release;
          out = resume_pipeline(path, o);
        }
        return from_datum(out);
      },
      py::arg("state_file"), py::arg("overrides") = py::none());
  m.def("load_config_file", [](py::object path) {
    return from_json(load_config_file(
        py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>()));
  });
  m.def("open_product", [](py::object path) {
    std::string p = py::str(py::module_::import("os").attr("fspath")(path));
    ProductPtr prod;
    {
      py::gil_scoped_release release;
      prod = open_product(p);
    }
    return from_datum(Datum(prod));
  });
  m.attr("standard_spec") = kStandardSpec;
}

}  // namespace stpipe::python
