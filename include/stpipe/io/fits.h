// FITS <-> DataModel through CFITSIO: keywords by schema, extensions by EXTNAME/EXTVER, the ASDF
// extension, unknown cards and HDUs kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "stpipe/models/datamodel.h"

namespace stpipe::io {

/// A short description of one HDU of a FITS file.
struct HduInfo {
  int index = 0;        ///< 0 = primary
  std::string extname;  ///< "PRIMARY" for HDU 0 without EXTNAME
  int extver = 1;
  bool is_table = false;
  int bitpix = 0;
  std::vector<std::int64_t> shape;  ///< numpy order (images only)
};

/// What models::open needs to choose a class: DATAMODL, REFTYPE, HDU list.
struct FitsSummary {
  std::string datamodl;
  std::string reftype;
  std::vector<HduInfo> hdus;
  /// The HDU named `extname` (first match), or nullptr.
  const HduInfo* find(const std::string& extname, int extver = 1) const;
};

/// Reads the primary keywords and HDU list. Throws IoError naming the file if it is not FITS.
FitsSummary summarize_fits(const std::filesystem::path& path);

/// Reads `path` into `model` (whose class and schema are already chosen). Throws IoError naming
/// the file and HDU/keyword on malformed input or arrays that cannot take the schema's type.
/// `options` limits what is read (see models::OpenOptions).
void read_fits(const std::filesystem::path& path, models::DataModel& model,
               const models::OpenOptions& options = {});

/// Writes `model` to `path` atomically (temporary file, then rename). `asdf_extension` adds the
/// ASDF BINTABLE with `_fits_hash`. Throws IoError naming the file.
void write_fits(const models::DataModel& model, const std::filesystem::path& path,
                bool asdf_extension);

/// SHA-256 (hex) of the raw header blocks of every HDU but the one named ASDF, as stdatamodels
/// computes `_fits_hash`. Throws IoError.
std::string fits_hash(const std::filesystem::path& path);

/// Reads a plain .asdf model file into `model`. Throws IoError naming the file.
void read_asdf(const std::filesystem::path& path, models::DataModel& model);
/// Writes `model` as a plain .asdf file (arrays as binary blocks) atomically. Throws IoError.
void write_asdf(const models::DataModel& model, const std::filesystem::path& path);
/// meta.model_type of an .asdf file, empty if absent. Throws IoError if unreadable.
std::string asdf_model_type(const std::filesystem::path& path);

}  // namespace stpipe::io
