// Helpers for the core tests: JSON datasets on disk and quiet logging.
#pragma once

#include <fstream>
#include <string>

#include "stpipe/core/json_product.h"
#include "stpipe/core/step.h"
#include "stpipe/log/logging.h"
#include "test_support.h"

namespace stpipe::testing {

/// Writes {"meta": {...}, "data": [...]} to `path`.
inline void write_dataset(const std::filesystem::path& path, std::vector<double> data,
                          nlohmann::ordered_json meta = nlohmann::ordered_json::object()) {
  nlohmann::ordered_json doc;
  doc["meta"] = meta;
  doc["data"] = data;
  std::ofstream(path) << doc.dump(2);
}

inline std::vector<double> data_of(const Datum& d) {
  auto p = std::dynamic_pointer_cast<JsonProduct>(d.product());
  std::vector<double> out;
  for (const auto& x : p->data()) out.push_back(x.get<double>());
  return out;
}

inline std::vector<double> data_of_file(const std::filesystem::path& path) {
  auto p = JsonProduct::open(path);
  std::vector<double> out;
  for (const auto& x : p->data()) out.push_back(x.get<double>());
  return out;
}

/// Sends log records to a string for the test's lifetime.
class LogCapture {
 public:
  LogCapture() {
    log::LogConfig c;
    c.handlers = {"null"};
    c.level = spdlog::level::debug;
    log::configure(c);
    log::set_record_callback([this](const std::string& name, spdlog::level::level_enum,
                                    const std::string& msg) { text_ += name + ": " + msg + "\n"; },
                             true);
  }
  ~LogCapture() {
    log::set_record_callback(nullptr, false);
    log::configure(log::LogConfig{});
  }
  const std::string& text() const { return text_; }
  bool contains(const std::string& s) const { return text_.find(s) != std::string::npos; }

 private:
  std::string text_;
};

/// Changes the working directory for a scope.
class ChangeDir {
 public:
  explicit ChangeDir(const std::filesystem::path& p) : old_(std::filesystem::current_path()) {
    std::filesystem::current_path(p);
  }
  ~ChangeDir() { std::filesystem::current_path(old_); }

 private:
  std::filesystem::path old_;
};

}  // namespace stpipe::testing
