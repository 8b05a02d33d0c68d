// A loaded CRDS context (.pmap -> .imap -> .rmap closure) and the best-reference computation.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stpipe/crds/header.h"
#include "stpipe/crds/mapping.h"
#include "stpipe/crds/selector.h"

namespace stpipe::crds {

/// The answer for one reference type.
struct BestRef {
  enum class Kind {
    kFile,           ///< one file: files[0]
    kFiles,          ///< several files (tuple value, Bracket), in the mapping's order
    kFileMap,        ///< a dict value: keys[i] -> files[i]
    kNotApplicable,  ///< N/A: the step does not apply (CRDS "NOT FOUND n/a")
    kOmit,           ///< OMIT: the type is left out of results
    kError,          ///< lookup failed: message says why (CRDS "NOT FOUND <message>")
  };
  Kind kind = Kind::kError;
  std::vector<std::string> files;
  std::vector<std::string> keys;
  std::string message;
  std::string rmap;  ///< the rmap consulted, if any

  bool ok() const { return kind == Kind::kFile || kind == Kind::kFiles || kind == Kind::kFileMap; }
  /// The single file name ("" unless kind == kFile).
  std::string filename() const { return kind == Kind::kFile ? files[0] : std::string(); }
  /// CRDS's text form: the file name, "NOT FOUND n/a", or "NOT FOUND <message>".
  std::string crds_string() const;
};

/// One .rmap: the compiled selector plus the header rules (relevance, omit, substitutions).
class ReferenceMapping {
 public:
  /// Compiles a parsed rmap (kept: the rules refer into it). Throws ReferenceFileError on
  /// malformed selectors.
  explicit ReferenceMapping(MappingFile file);
  const std::string& name() const { return name_; }
  /// Reference type in lower case, e.g. "dark".
  const std::string& filekind() const { return filekind_; }
  const std::string& instrument() const { return instrument_; }
  /// Parkeys this rmap needs (parkey levels, reffile_switch, extra_keys, JWST extra keys).
  const std::vector<std::string>& required_parkeys() const { return required_; }
  /// Every reference file name the rules can select (N/A and OMIT excluded), sorted.
  std::vector<std::string> reference_names() const;
  /// Best reference for a conditioned header (not minimized). Never throws for lookup
  /// failures: they come back as kError. `trace` receives --explain lines.
  BestRef get_best_ref(const Header& header, std::vector<std::string>* trace = nullptr) const;

 private:
  std::string name_, filekind_, instrument_, reffile_required_;
  std::string relevance_expr_, omit_expr_;
  std::vector<std::pair<std::string, std::string>> parkey_relevance_;
  std::vector<std::string> required_;
  std::shared_ptr<const MappingFile> file_;
  std::shared_ptr<Selector> selector_;
};

/// Supplies a mapping's text by basename; throws (e.g. ReferenceFileError) when unavailable.
using MappingSource = std::function<std::string(const std::string& name)>;

/// Per-type explanation of a best_references() call.
struct Explanation {
  std::map<std::string, std::vector<std::string>> lines;  ///< reftype -> trace lines
};

/// A loaded context: a .pmap with its imaps and rmaps, a single .imap, or a single .rmap.
/// Immutable after loading; safe to share between threads.
class Context {
 public:
  /// Loads `name` (a mapping basename) and its whole closure through `source`. Mapping
  /// checksums are verified unless `check_checksum` is false. Throws ReferenceFileError naming
  /// the first mapping that is missing or bad.
  static Context load(const std::string& name, const MappingSource& source,
                      bool check_checksum = true);
  /// Loads a context from a directory of mappings (basename lookups inside `dir`).
  static Context load_from_directory(const std::string& name, const std::string& dir,
                                     bool check_checksum = true);

  const std::string& name() const { return name_; }
  /// "PIPELINE", "INSTRUMENT" or "REFERENCE".
  const std::string& kind() const { return kind_; }
  /// Observatory in lower case ("jwst").
  const std::string& observatory() const { return observatory_; }
  /// Every mapping in the closure (this one first, then sorted).
  std::vector<std::string> mapping_names() const;
  /// Every reference file any rule of the closure can select, sorted.
  std::vector<std::string> reference_names() const;
  /// The rmap for an instrument and type, or nullptr (type N/A, OMIT or unknown).
  const ReferenceMapping* rmap(const std::string& instrument, const std::string& reftype) const;

  /// The header CRDS actually matches on: the instrument's required parkeys only, missing
  /// ones as "UNDEFINED". `header` must be conditioned. Throws ReferenceFileError if the
  /// instrument is missing or unknown.
  Header minimize_header(const Header& header) const;

  /// Best references for `header` (raw: it is conditioned and minimized here). `reftypes`
  /// are case-insensitive; empty means every type of the instrument. OMIT types are left out;
  /// N/A and failures come back per type. Throws ReferenceFileError only when the whole call
  /// fails (unknown instrument, missing instrument keyword). `fits_keywords` adds FITS keyword
  /// translations to the built-in JWST table.
  std::map<std::string, BestRef> best_references(
      const Header& header, const std::vector<std::string>& reftypes,
      Explanation* explain = nullptr,
      const std::map<std::string, std::string>* fits_keywords = nullptr) const;

 private:
  struct Imap {
    std::string name;
    std::vector<std::string> parkeys;          // the imap's own parkey (REFTYPE) and extra keys
    std::map<std::string, std::string> types;  // lower reftype -> rmap name | N/A | OMIT
  };
  const Imap& imap_for(const Header& header, std::string* instrument) const;
  std::vector<std::string> required_parkeys(const Imap& imap) const;

  std::string name_, kind_, observatory_;
  std::string instrument_key_ = "META.INSTRUMENT.NAME";
  std::map<std::string, std::string> instruments_;  // lower instrument -> imap name
  std::map<std::string, Imap> imaps_;
  std::map<std::string, std::shared_ptr<ReferenceMapping>> rmaps_;
  std::string single_imap_;  // when the context is an imap
  std::string single_rmap_;  // when the context is an rmap
};

}  // namespace stpipe::crds
