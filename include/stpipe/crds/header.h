// Dataset headers for CRDS lookups: value conditioning, FITS keyword translation, JSON header
// files.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace stpipe::crds {

/// A lookup header: upper-case keys (JWST data-model paths such as "META.INSTRUMENT.DETECTOR",
/// or FITS keywords) mapped to values as text.
using Header = std::map<std::string, std::string>;

/// CRDS value conditioning: strip and upper-case; numbers as Python's str(float()) ("1" ->
/// "1.0"); N/A, NOT APPLICABLE, NOT_APPLICABLE, (), -2147483648.0 -> "N/A"; ANY -> "*";
/// TRUE/T -> "T", FALSE/F -> "F"; 4294967295 -> "-1.0".
std::string condition_value(const std::string& value);

/// Upper-cases keys, translates FITS keywords to data-model paths (jwst_fits_keywords() plus
/// `extra_keywords`; keys starting "META." are kept), and conditions every value.
Header condition_header(const Header& header,
                        const std::map<std::string, std::string>* extra_keywords = nullptr);

/// FITS keyword -> JWST data-model path for every keyword the JWST rules match on
/// (e.g. "DETECTOR" -> "META.INSTRUMENT.DETECTOR", "DATE-OBS" -> "META.OBSERVATION.DATE").
const std::map<std::string, std::string>& jwst_fits_keywords();

/// Converts a JSON object to a header: nested objects are flattened into dotted paths
/// ({"meta": {"instrument": {"name": "NIRCAM"}}} -> META.INSTRUMENT.NAME), strings, numbers and
/// booleans become text as Python's str() writes them; arrays and nulls are dropped.
/// Throws ValidationError if `j` is not an object.
Header header_from_json(const nlohmann::json& j);

/// Reads a JSON header file (see header_from_json). Throws IoError / ValidationError naming it.
Header load_json_header(const std::filesystem::path& path);

}  // namespace stpipe::crds
