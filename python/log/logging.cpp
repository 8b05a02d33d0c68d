// Binding of stpipe/log/logging.h: C++ log records go to Python's `logging` (one exclusive
// callback, so nothing is printed twice), and Python steps log through the C++ loggers.
#include "stpipe/log/logging.h"

#include "binding.h"

namespace stpipe::python {

namespace {

int python_level(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return 5;
    case spdlog::level::debug:
      return 10;
    case spdlog::level::info:
      return 20;
    case spdlog::level::warn:
      return 30;
    case spdlog::level::err:
      return 40;
    default:
      return 50;
  }
}

spdlog::level::level_enum spdlog_level(int l) {
  if (l <= 5) return spdlog::level::trace;
  if (l <= 10) return spdlog::level::debug;
  if (l <= 20) return spdlog::level::info;
  if (l <= 30) return spdlog::level::warn;
  if (l <= 40) return spdlog::level::err;
  return spdlog::level::critical;
}

bool g_forwarding = false;

/// Sends one C++ record to logging.getLogger(name).log(level, msg).
void forward(const std::string& name, spdlog::level::level_enum level, const std::string& msg) {
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return;
  py::gil_scoped_acquire gil;
  try {
    static auto* get_logger = new py::object(py::module_::import("logging").attr("getLogger"));
    (*get_logger)(name).attr("log")(python_level(level), "%s", msg);
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("stpipe_cpp logging bridge");
  }
}

void set_forwarding(bool on) {
  g_forwarding = on;
  if (on) {
    log::set_record_callback(forward, /*exclusive=*/true);
  } else {
    log::set_record_callback(nullptr, false);
  }
}

}  // namespace

void sync_log_level() {
  if (!g_forwarding) return;
  static auto* get_logger = new py::object(py::module_::import("logging").attr("getLogger"));
  int level = (*get_logger)("stpipe").attr("getEffectiveLevel")().cast<int>();
  auto want = spdlog_level(level);
  if (log::current_config().level != want) {
    log::LogConfig c = log::current_config();
    c.level = want;
    log::configure(c);
  }
}

void wrap_logging(py::module_& m) {
  set_forwarding(true);
  m.def("_set_python_logging", &set_forwarding, py::arg("on"),
        "Route C++ log records to Python's logging (True, the default when imported from "
        "Python) or to the C++ handlers (False, as under strun).");
  m.def(
      "_log",
      [](const std::string& name, int level, const std::string& msg) {
        auto lg = log::get(name);
        lg->log(spdlog_level(level), "{}", msg);
      },
      py::arg("name"), py::arg("level"), py::arg("message"),
      py::call_guard<py::gil_scoped_release>(),
      "Logs a message through the C++ logger `name` (what a Python step's self.log uses).");
  m.def(
      "configure_logging",
      [](const std::string& level, std::vector<std::string> handlers, const std::string& format) {
        log::LogConfig c = log::current_config();
        if (!level.empty()) c.level = log::parse_level(level);
        if (!handlers.empty()) c.handlers = std::move(handlers);
        if (!format.empty()) c.format = format;
        log::configure(c);
      },
      py::arg("level") = "", py::arg("handlers") = std::vector<std::string>{},
      py::arg("format") = "", "Sets the C++ logging level, handlers and format.");
}

}  // namespace stpipe::python
