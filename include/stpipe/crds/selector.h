// CRDS selectors (Match, UseAfter, SelectVersion, ClosestTime, Bracket, GeometricallyNearest,
// VersionAfter) compiled from a mapping's selector tree, and the CRDS date parser.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "stpipe/crds/header.h"
#include "stpipe/crds/mapping.h"
#include "stpipe/util/error.h"

namespace stpipe::crds {

/// A failed lookup CRDS treats as "try the next candidate" (CrdsLookupError: no match, no
/// USEAFTER date early enough).
class LookupError : public ReferenceFileError {
 public:
  explicit LookupError(const std::string& what) : ReferenceFileError(what) {}
};

/// Any other failure while selecting (invalid header value, bad date): ends the lookup.
class SelectionError : public ReferenceFileError {
 public:
  explicit SelectionError(const std::string& what) : ReferenceFileError(what) {}
};

/// Parses a date/time as CRDS does (YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY, with optional
/// HH:MM[:SS[.ffffff]], 'T' separated, alphabetic months) and formats it
/// "YYYY-MM-DD HH:MM:SS[.ffffff]". Throws SelectionError with CRDS's message.
std::string reformat_date(const std::string& date);

/// Options that apply to every selector of one rmap.
struct SelectorOptions {
  std::string rmap_name;
  PyValue substitutions;       ///< kDict {PARKEY: {old: new}} merged with CRDS defaults
  bool merge_overlaps = true;  ///< false: equal-weight Match candidates are an error
};

/// A compiled selector. choose() walks nested selectors and returns the terminal value (a
/// filename string, a tuple of them, a dict, 'N/A' or 'OMIT'); it throws LookupError or
/// SelectionError. `trace` (optional) receives one line per decision for --explain.
class Selector {
 public:
  virtual ~Selector() = default;
  /// Chooses for a conditioned header. Throws LookupError / SelectionError.
  virtual PyValue choose(const Header& header, std::vector<std::string>* trace) const = 0;
  /// Every terminal file name this selector (and its nested ones) can return.
  virtual void collect_names(std::set<std::string>& names) const = 0;
  /// Class name as written in rmaps ("Match", "UseAfter", ...).
  virtual std::string class_name() const = 0;
  /// Parkeys of this level.
  const std::vector<std::string>& parameters() const { return parameters_; }

 protected:
  std::vector<std::string> parameters_;
};

/// Compiles `value` (a `Name({...})` call or plain dict) at nesting `level` of `parkey`
/// (the rmap's tuple of parkey tuples). The selector refers to terminal values inside `value`,
/// which must outlive it. Throws ReferenceFileError naming the rmap when the tree is malformed.
std::shared_ptr<Selector> compile_selector(const PyValue& value, const PyValue& parkey,
                                           std::size_t level, const SelectorOptions& options);

}  // namespace stpipe::crds
