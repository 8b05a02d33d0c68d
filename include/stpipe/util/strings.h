// Small string helpers used across areas (ASCII case folding, whitespace stripping).
#pragma once

#include <cctype>
#include <string>

namespace stpipe {

/// ASCII upper case.
inline std::string to_upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// ASCII lower case.
inline std::string to_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Removes leading and trailing whitespace (space, tab, newline, CR, FF, VT), as Python's strip().
inline std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  std::size_t a = s.find_first_not_of(ws);
  if (a == std::string::npos) return "";
  std::size_t b = s.find_last_not_of(ws);
  return s.substr(a, b - a + 1);
}

}  // namespace stpipe
