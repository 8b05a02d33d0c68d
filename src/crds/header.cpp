// CRDS header conditioning, FITS keyword translation and JSON header files.
#include "stpipe/crds/header.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <regex>

#include "stpipe/crds/mapping.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"
#include "stpipe/util/strings.h"

namespace stpipe::crds {

namespace {

// CRDS's NUMBER_RE: ^([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?|[+-]?[0-9]+\.)$
bool is_crds_number(const std::string& v) {
  std::size_t n = v.size(), k = 0;
  if (n == 0) return false;
  if (v[k] == '+' || v[k] == '-') ++k;
  std::size_t int_start = k;
  while (k < n && std::isdigit(static_cast<unsigned char>(v[k]))) ++k;
  std::size_t int_digits = k - int_start;
  if (k == n) return int_digits > 0;
  if (v[k] == '.') {
    ++k;
    std::size_t frac_start = k;
    while (k < n && std::isdigit(static_cast<unsigned char>(v[k]))) ++k;
    std::size_t frac_digits = k - frac_start;
    if (frac_digits == 0) return k == n && int_digits > 0;  // "12."
  } else if (int_digits == 0) {
    return false;
  }
  if (k == n) return true;
  if (v[k] != 'e' && v[k] != 'E') return false;
  ++k;
  if (k < n && (v[k] == '+' || v[k] == '-')) ++k;
  std::size_t exp_start = k;
  while (k < n && std::isdigit(static_cast<unsigned char>(v[k]))) ++k;
  return k == n && k > exp_start;
}

void flatten(const nlohmann::json& j, const std::string& prefix, Header& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? to_upper(it.key()) : prefix + "." + to_upper(it.key());
    const auto& v = it.value();
    if (v.is_object()) {
      flatten(v, key, out);
    } else if (v.is_string()) {
      out[key] = v.get<std::string>();
    } else if (v.is_boolean()) {
      out[key] = v.get<bool>() ? "True" : "False";
    } else if (v.is_number_integer()) {
      out[key] = v.is_number_unsigned() ? std::to_string(v.get<unsigned long long>())
                                        : std::to_string(v.get<long long>());
    } else if (v.is_number_float()) {
      out[key] = python_float_str(v.get<double>());
    }
  }
}

}  // namespace

std::string condition_value(const std::string& value) {
  std::string v = to_upper(strip(value));
  if (is_crds_number(v)) {
    try {
      v = python_float_str(std::stod(v));
    } catch (const std::exception&) {
      // out of range: keep as written
    }
  }
  if (v == "-2147483648.0" || v == "()" || v == "N/A" || v == "NOT APPLICABLE" ||
      v == "NOT_APPLICABLE")
    v = "N/A";
  if (v == "ANY") {
    v = "*";
  } else if (v == "4294967295.0") {
    v = "-1.0";
  } else if (v == "T" || v == "TRUE") {
    v = "T";
  } else if (v == "F" || v == "FALSE") {
    v = "F";
  }
  return v;
}

const std::map<std::string, std::string>& jwst_fits_keywords() {
  static const std::map<std::string, std::string> kTable = {
      {"BAND", "META.INSTRUMENT.BAND"},       {"CAL_VER", "META.CALIBRATION_SOFTWARE_VERSION"},
      {"CHANNEL", "META.INSTRUMENT.CHANNEL"}, {"CORONMSK", "META.INSTRUMENT.CORONAGRAPH"},
      {"DATE-OBS", "META.OBSERVATION.DATE"},  {"DETECTOR", "META.INSTRUMENT.DETECTOR"},
      {"EXP_TYPE", "META.EXPOSURE.TYPE"},     {"FILTER", "META.INSTRUMENT.FILTER"},
      {"GRATING", "META.INSTRUMENT.GRATING"}, {"INSTRUME", "META.INSTRUMENT.NAME"},
      {"LAMP", "META.INSTRUMENT.LAMP_STATE"}, {"MODULE", "META.INSTRUMENT.MODULE"},
      {"NGROUPS", "META.EXPOSURE.NGROUPS"},   {"NINTS", "META.EXPOSURE.NINTS"},
      {"PUPIL", "META.INSTRUMENT.PUPIL"},     {"READPATT", "META.EXPOSURE.READPATT"},
      {"SUBARRAY", "META.SUBARRAY.NAME"},     {"SUBSIZE1", "META.SUBARRAY.XSIZE"},
      {"SUBSIZE2", "META.SUBARRAY.YSIZE"},    {"SUBSTRT1", "META.SUBARRAY.XSTART"},
      {"SUBSTRT2", "META.SUBARRAY.YSTART"},   {"TIME-OBS", "META.OBSERVATION.TIME"},
      {"TSOVISIT", "META.VISIT.TSOVISIT"},
  };
  return kTable;
}

Header condition_header(const Header& header, const std::map<std::string, std::string>* extra) {
  const auto& table = jwst_fits_keywords();
  Header out;
  for (const auto& [key, value] : header) {
    std::string k = to_upper(strip(key));
    if (k.rfind("META.", 0) != 0) {
      if (extra) {
        auto e = extra->find(k);
        if (e != extra->end()) k = to_upper(e->second);
      }
      auto t = table.find(k);
      if (t != table.end()) k = t->second;
    }
    out[k] = condition_value(value);
  }
  return out;
}

Header header_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw ValidationError("A CRDS header must be a JSON object");
  Header out;
  flatten(j, "", out);
  return out;
}

Header load_json_header(const std::filesystem::path& path) {
  std::string text = read_text_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw ValidationError("Header file '" + path.string() + "' is not valid JSON: " + e.what());
  }
  if (!j.is_object())
    throw ValidationError("Header file '" + path.string() + "' must hold a JSON object");
  return header_from_json(j);
}

}  // namespace stpipe::crds
