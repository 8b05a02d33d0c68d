// FITS reading and writing of DataModels through CFITSIO (keywords by schema, arrays straight
// into model buffers, tables, unknown cards/HDUs kept, the ASDF extension with _fits_hash).
#include "stpipe/io/fits.h"

#include <fcntl.h>
#include <fitsio.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "io/table_records.h"
#include "stpipe/asdf/asdf_file.h"
#include "stpipe/asdf/asdf_writer.h"
#include "stpipe/asdf/ndarray.h"
#include "stpipe/models/dynamic_dq.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"

namespace stpipe::io {

namespace fs = std::filesystem;
using models::Array;
using models::Card;
using models::Column;
using models::DataModel;
using models::DType;
using models::Json;
using models::Table;

// CFITSIO's byte writer (declared in its internal fitsio2.h, exported by the library).
extern "C" int ffpbyt(fitsfile* fptr, LONGLONG nbytes, void* buffer, int* status);

namespace {

// ------------------------------------------------------------------ CFITSIO helpers

std::string cfitsio_message(int status) {
  char text[FLEN_STATUS] = {0};
  fits_get_errstatus(status, text);
  std::string msg = text;
  char line[FLEN_ERRMSG];
  std::string detail;
  while (fits_read_errmsg(line)) {
    if (detail.empty()) detail = line;
  }
  if (!detail.empty() && detail != msg) msg += " (" + detail + ")";
  return msg;
}

[[noreturn]] void fail(const std::string& file, const std::string& where, int status) {
  throw IoError(file + ": " + where + ": " + cfitsio_message(status));
}

class FitsFile {
 public:
  FitsFile(const fs::path& path, int mode) : path_(path.string()) {
    int status = 0;
    if (fits_open_diskfile(&f_, path_.c_str(), mode, &status)) {
      f_ = nullptr;
      fail(path_, "not a readable FITS file", status);
    }
  }
  static FitsFile create(const fs::path& path) { return FitsFile(path); }
  FitsFile(FitsFile&& o) noexcept : f_(o.f_), path_(std::move(o.path_)) { o.f_ = nullptr; }
  ~FitsFile() {
    if (f_) {
      int status = 0;
      fits_close_file(f_, &status);
    }
  }
  void close() {
    int status = 0;
    if (f_ && fits_close_file(f_, &status)) {
      f_ = nullptr;
      fail(path_, "closing", status);
    }
    f_ = nullptr;
  }
  fitsfile* get() const { return f_; }
  const std::string& path() const { return path_; }

 private:
  explicit FitsFile(const fs::path& path) : path_(path.string()) {
    int status = 0;
    if (fits_create_diskfile(&f_, path_.c_str(), &status)) {
      f_ = nullptr;
      fail(path_, "cannot create", status);
    }
  }
  fitsfile* f_ = nullptr;
  std::string path_;
};

int image_typecode(DType t) {
  switch (t) {
    case DType::kBool8:
    case DType::kUint8:
      return TBYTE;
    case DType::kInt8:
      return TSBYTE;
    case DType::kInt16:
      return TSHORT;
    case DType::kUint16:
      return TUSHORT;
    case DType::kInt32:
      return TINT;
    case DType::kUint32:
      return TUINT;
    case DType::kInt64:
      return TLONGLONG;
    case DType::kUint64:
      return TULONGLONG;
    case DType::kFloat32:
      return TFLOAT;
    case DType::kFloat64:
      return TDOUBLE;
  }
  return TBYTE;
}

int image_bitpix(DType t) {
  switch (t) {
    case DType::kBool8:
    case DType::kUint8:
      return BYTE_IMG;
    case DType::kInt8:
      return SBYTE_IMG;
    case DType::kInt16:
      return SHORT_IMG;
    case DType::kUint16:
      return USHORT_IMG;
    case DType::kInt32:
      return LONG_IMG;
    case DType::kUint32:
      return ULONG_IMG;
    case DType::kInt64:
      return LONGLONG_IMG;
    case DType::kUint64:
      return ULONGLONG_IMG;
    case DType::kFloat32:
      return FLOAT_IMG;
    case DType::kFloat64:
      return DOUBLE_IMG;
  }
  return BYTE_IMG;
}

std::optional<DType> dtype_of_equivtype(int eq) {
  switch (eq) {
    case BYTE_IMG:
      return DType::kUint8;
    case SBYTE_IMG:
      return DType::kInt8;
    case SHORT_IMG:
      return DType::kInt16;
    case USHORT_IMG:
      return DType::kUint16;
    case LONG_IMG:
      return DType::kInt32;
    case ULONG_IMG:
      return DType::kUint32;
    case LONGLONG_IMG:
      return DType::kInt64;
    case ULONGLONG_IMG:
      return DType::kUint64;
    case FLOAT_IMG:
      return DType::kFloat32;
    case DOUBLE_IMG:
      return DType::kFloat64;
  }
  return std::nullopt;
}

bool is_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat64; }

std::string asdf_type_name(DType t) {
  return t == DType::kBool8 ? "bool8" : std::string(models::dtype_name(t));
}

bool structural(const std::string& k) {
  static const std::set<std::string> fixed = {
      "SIMPLE",  "BITPIX",   "NAXIS",   "EXTEND",   "XTENSION", "PCOUNT", "GCOUNT",   "BSCALE",
      "BZERO",   "BLANK",    "DATAMAX", "DATAMIN",  "EXTNAME",  "EXTVER", "EXTLEVEL", "GROUPS",
      "TFIELDS", "CHECKSUM", "DATASUM", "CONTINUE", "HISTORY",  "ZIMAGE", "THEAP"};
  if (fixed.count(k)) return true;
  static const char* prefixes[] = {"NAXIS", "TTYPE", "TFORM", "TUNIT", "TSCAL", "TZERO", "TNULL",
                                   "TDISP", "TDIM",  "TBCOL", "PTYPE", "PSCAL", "PZERO"};
  for (auto p : prefixes) {
    std::size_t n = std::strlen(p);
    if (k.size() > n && k.compare(0, n, p) == 0 &&
        std::all_of(k.begin() + static_cast<long>(n), k.end(),
                    [](char c) { return c >= '0' && c <= '9'; }))
      return true;
  }
  return false;
}

struct HduHeader {
  std::string extname;
  int extver = 1;
  int hdutype = IMAGE_HDU;
};

HduHeader read_hdu_identity(const FitsFile& f, int index) {
  HduHeader h;
  int status = 0;
  fits_get_hdu_type(f.get(), &h.hdutype, &status);
  char value[FLEN_VALUE] = {0};
  if (fits_read_key(f.get(), TSTRING, "EXTNAME", value, nullptr, &status) == 0) {
    h.extname = value;
    while (!h.extname.empty() && h.extname.back() == ' ') h.extname.pop_back();
  } else {
    status = 0;
    fits_clear_errmsg();
    if (index == 0) h.extname = "PRIMARY";
  }
  int ver = 1;
  if (fits_read_key(f.get(), TINT, "EXTVER", &ver, nullptr, &status) == 0)
    h.extver = ver;
  else {
    status = 0;
    fits_clear_errmsg();
  }
  return h;
}

void move_to(const FitsFile& f, int index) {
  int status = 0, type = 0;
  if (fits_movabs_hdu(f.get(), index + 1, &type, &status))
    fail(f.path(), "HDU " + std::to_string(index), status);
}

int num_hdus(const FitsFile& f) {
  int status = 0, n = 0;
  if (fits_get_num_hdus(f.get(), &n, &status)) fail(f.path(), "counting HDUs", status);
  return n;
}

std::vector<std::int64_t> image_shape(const FitsFile& f, const std::string& where, int* bitpix_out,
                                      int* equiv_out) {
  int status = 0, bitpix = 0, naxis = 0;
  LONGLONG naxes[9] = {0};
  if (fits_get_img_paramll(f.get(), 9, &bitpix, &naxis, naxes, &status))
    fail(f.path(), where, status);
  if (naxis > 9)
    throw IoError(f.path() + ": " + where + ": NAXIS " + std::to_string(naxis) + " is more than 9");
  int eq = bitpix;
  if (fits_get_img_equivtype(f.get(), &eq, &status)) fail(f.path(), where, status);
  if (bitpix_out) *bitpix_out = bitpix;
  if (equiv_out) *equiv_out = eq;
  std::vector<std::int64_t> shape;
  for (int i = naxis - 1; i >= 0; --i) shape.push_back(naxes[i]);
  return shape;
}

// ------------------------------------------------------------------ header cards

Json parse_card_value(const FitsFile& f, const std::string& key, const char* raw, bool* is_long) {
  std::string v = raw;
  *is_long = false;
  if (v.empty()) return Json();
  int status = 0;
  char type = 0;
  if (fits_get_keytype(const_cast<char*>(raw), &type, &status)) {
    fits_clear_errmsg();
    return Json(v);
  }
  switch (type) {
    case 'C': {
      std::string s;
      for (std::size_t i = 1; i + 1 < v.size(); ++i) {
        s += v[i];
        if (v[i] == '\'' && v[i + 1] == '\'') ++i;
      }
      while (!s.empty() && s.back() == ' ') s.pop_back();
      if (!s.empty() && s.back() == '&') {
        char* longstr = nullptr;
        int st = 0;
        if (fits_read_key_longstr(f.get(), key.c_str(), &longstr, nullptr, &st) == 0 && longstr) {
          s = longstr;
          *is_long = true;
        }
        if (longstr) fits_free_memory(longstr, &st);
        fits_clear_errmsg();
      }
      return Json(s);
    }
    case 'L':
      return Json(v.find('T') != std::string::npos);
    case 'I': {
      errno = 0;
      char* end = nullptr;
      long long x = std::strtoll(v.c_str(), &end, 10);
      if (errno == 0) return Json(static_cast<std::int64_t>(x));
      return Json(std::strtod(v.c_str(), nullptr));
    }
    case 'F': {
      std::replace(v.begin(), v.end(), 'D', 'E');
      return Json(std::strtod(v.c_str(), nullptr));
    }
    default:
      return Json(v);
  }
}

void set_path(Json& tree, const std::string& dotted, Json value) {
  Json* cur = &tree;
  std::size_t start = 0;
  while (true) {
    auto dot = dotted.find('.', start);
    std::string seg =
        dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      (*cur)[seg] = std::move(value);
      return;
    }
    Json& next = (*cur)[seg];
    if (!next.is_object()) next = Json::object();
    cur = &next;
    start = dot + 1;
  }
}

const Json* get_path(const Json& tree, const std::string& dotted) {
  const Json* cur = &tree;
  std::size_t start = 0;
  while (true) {
    auto dot = dotted.find('.', start);
    std::string seg =
        dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(seg);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Reads the current HDU's cards: schema keywords into the tree, the rest into `extra`.
void read_cards(const FitsFile& f, const models::Schema& schema, const std::string& hduname,
                Json& tree, std::vector<Card>& extra, std::vector<std::string>* history) {
  int status = 0, nkeys = 0, more = 0;
  if (fits_get_hdrspace(f.get(), &nkeys, &more, &status))
    fail(f.path(), "HDU " + hduname + " header", status);
  char key[FLEN_KEYWORD], value[FLEN_VALUE], comment[FLEN_COMMENT];
  for (int i = 1; i <= nkeys; ++i) {
    key[0] = value[0] = comment[0] = 0;
    if (fits_read_keyn(f.get(), i, key, value, comment, &status)) {
      std::string where = "HDU " + hduname + " card " + std::to_string(i);
      fail(f.path(), where, status);
    }
    std::string k = key;
    if (k.empty()) continue;  // blank cards (section titles)
    if (k == "HISTORY") {
      if (history) history->push_back(comment);
      continue;
    }
    if (structural(k)) continue;
    if (k == "COMMENT") {
      // CFITSIO writes these two itself when it creates a primary HDU: do not duplicate them.
      std::string text = comment;
      if (text.find("FITS (Flexible Image Transport System) format is") != std::string::npos ||
          text.find("and Astrophysics', volume 376, page 359") != std::string::npos)
        continue;
      extra.push_back({k, Json(), comment});
      continue;
    }
    bool is_long = false;
    Json v = parse_card_value(f, k, value, &is_long);
    if (const models::KeywordEntry* e = schema.keyword(hduname, k)) {
      set_path(tree, e->path, std::move(v));
    } else {
      extra.push_back({k, std::move(v), comment});
    }
  }
}

std::string clean_ascii(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += (c >= 32 && c < 127) ? static_cast<char>(c) : '?';
  return out;
}

void write_card(const FitsFile& f, const std::string& key, const Json& value,
                const std::string& comment_in, const std::string& hduname) {
  int status = 0;
  std::string comment = clean_ascii(comment_in);
  if (comment.size() > 72) comment.resize(72);
  const char* c = comment.empty() ? nullptr : comment.c_str();
  if (key == "COMMENT") {
    fits_write_comment(f.get(), comment.c_str(), &status);
  } else if (value.is_null()) {
    fits_update_key_null(f.get(), key.c_str(), c, &status);
  } else if (value.is_boolean()) {
    fits_update_key_log(f.get(), key.c_str(), value.get<bool>() ? 1 : 0, c, &status);
  } else if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      std::string text = std::to_string(value.get<std::uint64_t>());
      char card[FLEN_CARD];
      fits_make_key(const_cast<char*>(key.c_str()), const_cast<char*>(text.c_str()),
                    const_cast<char*>(c ? c : ""), card, &status);
      fits_update_card(f.get(), key.c_str(), card, &status);
    } else {
      fits_update_key_lng(f.get(), key.c_str(), static_cast<LONGLONG>(value.get<std::int64_t>()), c,
                          &status);
    }
  } else if (value.is_number_float()) {
    double d = value.get<double>();
    if (!std::isfinite(d)) {
      models::warn(f.path() + ": HDU " + hduname + ": keyword " + key +
                   " has non-finite value, not written");
      return;
    }
    std::string text = models::python_float_str(d);
    for (auto& ch : text)
      if (ch == 'e') ch = 'E';
    char card[FLEN_CARD];
    fits_make_key(const_cast<char*>(key.c_str()), const_cast<char*>(text.c_str()),
                  const_cast<char*>(c ? c : ""), card, &status);
    fits_update_card(f.get(), key.c_str(), card, &status);
  } else if (value.is_string()) {
    std::string s = clean_ascii(value.get<std::string>());
    if (s.size() > 68) {
      fits_write_key_longwarn(f.get(), &status);
      fits_write_key_longstr(f.get(), key.c_str(), s.c_str(), c, &status);
    } else {
      fits_update_key_str(f.get(), key.c_str(), s.c_str(), c, &status);
    }
  } else {
    return;  // objects/arrays are not FITS keyword values
  }
  if (status) fail(f.path(), "HDU " + hduname + ": writing keyword " + key, status);
}

void write_schema_cards(const FitsFile& f, const DataModel& m, const std::string& hduname) {
  for (auto& e : m.schema().keywords()) {
    if (e.hdu != hduname) continue;
    const Json* v = get_path(m.tree(), e.path);
    if (!v || v->is_null() || v->is_object() || v->is_array()) continue;
    write_card(f, e.keyword, *v, e.title, hduname);
  }
  auto it = m.fits_extras().cards.find(hduname);
  if (it != m.fits_extras().cards.end())
    for (auto& card : it->second) write_card(f, card.keyword, card.value, card.comment, hduname);
}

// ------------------------------------------------------------------ data

// Throws IoError if the current HDU claims more data bytes than the file holds (a truncated or
// corrupt header), before anything that large is allocated. Compressed files are not checked.
void check_data_size(const FitsFile& f, const std::string& where, long double bytes) {
  const std::string& p = f.path();
  if (p.size() > 3 && p.compare(p.size() - 3, 3, ".gz") == 0) return;
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) return;
  LONGLONG head = 0, data = 0, end = 0;
  int status = 0;
  if (fits_get_hduaddrll(f.get(), &head, &data, &end, &status)) fail(p, where, status);
  if (static_cast<long double>(data) + bytes > static_cast<long double>(size))
    throw IoError(p + ": " + where + ": the header declares " +
                  std::to_string(static_cast<double>(bytes)) +
                  " data bytes but the file holds only " + std::to_string(size) +
                  " bytes in all (truncated or corrupt file)");
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string t = "(";
  for (std::size_t k = 0; k < shape.size(); ++k) t += (k ? ", " : "") + std::to_string(shape[k]);
  return t + (shape.size() == 1 ? ",)" : ")");
}

// One contiguous run of an image's data unit: `count` elements from element `first` (from 0)
// of the stored image into element `to` of the destination array.
struct ImageRun {
  std::size_t first, to, count;
};

// An uncompressed image stored exactly as it is held in memory but big-endian (float32,
// float64, int32, int16 or uint8 with no BSCALE/BZERO scaling; uint32/uint16 with the FITS
// BZERO offset), or raw uint16 (BZERO 2^15) read as float32, read straight from the file into
// `a`: pread in 1 MiB blocks by every thread, each swapping (or converting) its block while it is
// in cache, instead of CFITSIO's single-threaded small reads and swaps. Same values as
// fits_read_img / fits_read_subset (which do not touch BLANK pixels when no null value is given;
// every uint16 is exact in float32). False when the fast path does not apply or any call fails:
// then the caller reads through CFITSIO.
bool read_image_direct(const FitsFile& f, int bitpix, int eq, const std::vector<ImageRun>& runs,
                       Array& a) {
  if constexpr (std::endian::native != std::endian::little) return false;
  const std::size_t esize = models::dtype_size(a.dtype());
  const bool same = eq == bitpix && ((bitpix == FLOAT_IMG && a.dtype() == DType::kFloat32) ||
                                     (bitpix == DOUBLE_IMG && a.dtype() == DType::kFloat64) ||
                                     (bitpix == LONG_IMG && a.dtype() == DType::kInt32) ||
                                     (bitpix == SHORT_IMG && a.dtype() == DType::kInt16) ||
                                     (bitpix == BYTE_IMG && a.dtype() == DType::kUint8));
  // Unsigned integers stored signed with BZERO 2^31 / 2^15 (DQ arrays): the stored word with
  // its sign bit flipped.
  const bool flipped = (bitpix == LONG_IMG && eq == ULONG_IMG && a.dtype() == DType::kUint32) ||
                       (bitpix == SHORT_IMG && eq == USHORT_IMG && a.dtype() == DType::kUint16);
  // Raw ramps: uint16 (stored as above) converted to float32.
  const bool to_float = bitpix == SHORT_IMG && eq == USHORT_IMG && a.dtype() == DType::kFloat32;
  if ((!same && !flipped && !to_float) || a.nbytes() < (std::size_t{4} << 20)) return false;
  const std::size_t fsize = to_float ? 2 : esize;  // bytes per stored element
  int status = 0, compressed = fits_is_compressed_image(f.get(), &status);
  if (status || compressed) return false;
  char url[FLEN_FILENAME] = "";
  if (fits_url_type(f.get(), url, &status) || std::string(url) != "file://") return false;
  double bscale = 1.0, bzero = 0.0;
  if (fits_read_key(f.get(), TDOUBLE, "BSCALE", &bscale, nullptr, &status)) status = 0;
  if (fits_read_key(f.get(), TDOUBLE, "BZERO", &bzero, nullptr, &status)) status = 0;
  const bool offset = flipped || to_float;
  const double want_zero = !offset ? 0.0 : bitpix == LONG_IMG ? 2147483648.0 : 32768.0;
  if (bscale != 1.0 || bzero != want_zero) return false;
  const std::uint32_t flip32 = flipped ? 0x80000000u : 0u;
  const std::uint16_t flip16 = flipped ? 0x8000u : 0u;
  LONGLONG head = 0, data = 0, end = 0;
  if (fits_flush_buffer(f.get(), 0, &status) ||
      fits_get_hduaddrll(f.get(), &head, &data, &end, &status))
    return false;
  // The runs in blocks of at most 1 MiB of the file (whole elements): {file offset, first
  // element in the array, elements}.
  constexpr std::size_t kBlock = std::size_t{1} << 20;
  struct Block {
    std::size_t from, to, count;
  };
  std::vector<Block> blocks;
  const std::size_t per_block = kBlock / fsize;
  for (const ImageRun& r : runs) {
    const std::size_t from = static_cast<std::size_t>(data) + r.first * fsize;
    if (from + r.count * fsize > static_cast<std::size_t>(end) || r.to + r.count > a.size())
      return false;
    for (std::size_t at = 0; at < r.count; at += per_block)
      blocks.push_back({from + at * fsize, r.to + at, std::min(per_block, r.count - at)});
  }
  const int fd = ::open(f.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  auto* dst = static_cast<unsigned char*>(a.raw());
  const auto nblocks = static_cast<std::int64_t>(blocks.size());
  int ok = 1;
#pragma omp parallel reduction(&& : ok)
  {
    std::vector<std::uint16_t> words(to_float ? per_block : 0);  // raw words before conversion
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < nblocks; ++b) {
      const Block& k = blocks[static_cast<std::size_t>(b)];
      unsigned char* q =
          to_float ? reinterpret_cast<unsigned char*>(words.data()) : dst + k.to * esize;
      const std::size_t len = k.count * fsize;
      std::size_t got = 0;
      while (ok && got < len) {
        const ssize_t r = ::pread(fd, q + got, len - got, static_cast<off_t>(k.from + got));
        if (r <= 0)
          ok = 0;
        else
          got += static_cast<std::size_t>(r);
      }
      if (!ok) continue;
      if (to_float) {
        float* out = reinterpret_cast<float*>(dst) + k.to;
        for (std::size_t i = 0; i < k.count; ++i)
          out[i] =
              static_cast<float>(static_cast<std::uint16_t>(__builtin_bswap16(words[i]) ^ 0x8000u));
      } else if (esize == 4) {
        auto* w = reinterpret_cast<std::uint32_t*>(q);
        for (std::size_t i = 0; i < k.count; ++i) w[i] = __builtin_bswap32(w[i]) ^ flip32;
      } else if (esize == 8) {
        auto* w = reinterpret_cast<std::uint64_t*>(q);
        for (std::size_t i = 0; i < k.count; ++i) w[i] = __builtin_bswap64(w[i]);
      } else if (esize == 2) {
        auto* w = reinterpret_cast<std::uint16_t*>(q);
        for (std::size_t i = 0; i < k.count; ++i)
          w[i] = static_cast<std::uint16_t>(__builtin_bswap16(w[i]) ^ flip16);
      }
    }
  }
  ::close(fd);
  return ok != 0;
}

// Reads the current image HDU as `want` (or its own type). `planes` reads only leading-axis
// planes [first, first + count); `window` only rows and columns of an image of 2+ axes.
Array read_image(const FitsFile& f, const std::string& where, std::optional<DType> want,
                 int want_ndim, const models::OpenOptions::PlaneRange* planes = nullptr,
                 const models::OpenOptions::Window* window = nullptr) {
  int bitpix = 0, eq = 0;
  auto shape = image_shape(f, where, &bitpix, &eq);
  auto native = dtype_of_equivtype(eq);
  if (!native)
    throw IoError(f.path() + ": " + where + ": unsupported BITPIX " + std::to_string(bitpix));
  DType dtype = want.value_or(*native);
  if (want && is_float(*native) && !is_float(*want))
    throw IoError(f.path() + ": " + where + ": BITPIX " + std::to_string(bitpix) +
                  " (floating point) cannot be read as " + std::string(models::dtype_name(*want)) +
                  " as the schema requires");
  if (want_ndim >= 0 && static_cast<int>(shape.size()) != want_ndim)
    throw IoError(f.path() + ": " + where + ": Array has wrong number of dimensions.  Expected " +
                  std::to_string(want_ndim) + ", got " + std::to_string(shape.size()));
  long double file_bytes = std::abs(bitpix) / 8;
  for (auto d : shape) file_bytes *= static_cast<long double>(d);
  check_data_size(f, where, file_bytes);
  LONGLONG first = 1;
  if (planes) {
    if (shape.empty() || planes->first < 0 || planes->count < 0 ||
        planes->first + planes->count > shape[0])
      throw IoError(f.path() + ": " + where + ": image of shape " + shape_text(shape) +
                    " has no planes [" + std::to_string(planes->first) + ", " +
                    std::to_string(planes->first + planes->count) + ")");
    LONGLONG plane = 1;
    for (std::size_t k = 1; k < shape.size(); ++k) plane *= shape[k];
    first += plane * planes->first;
    shape[0] = planes->count;
  }
  if (window && shape.size() >= 2) {
    const std::size_t nd = shape.size();
    const auto& w = *window;
    if (w.y0 < 0 || w.x0 < 0 || w.ny < 0 || w.nx < 0 || w.y0 + w.ny > shape[nd - 2] ||
        w.x0 + w.nx > shape[nd - 1])
      throw IoError(f.path() + ": " + where + ": image of shape " + shape_text(shape) +
                    " has no rows [" + std::to_string(w.y0) + ", " + std::to_string(w.y0 + w.ny) +
                    ") and columns [" + std::to_string(w.x0) + ", " + std::to_string(w.x0 + w.nx) +
                    ")");
    // CFITSIO counts axes fastest first, from 1; the leading planes (and `planes`) are kept.
    std::vector<long> fpix(nd), lpix(nd), inc(nd, 1);
    fpix[0] = static_cast<long>(w.x0 + 1);
    lpix[0] = static_cast<long>(w.x0 + w.nx);
    fpix[1] = static_cast<long>(w.y0 + 1);
    lpix[1] = static_cast<long>(w.y0 + w.ny);
    const LONGLONG plane0 = planes ? planes->first : 0;
    for (std::size_t k = 2; k < nd; ++k) {
      const std::int64_t len = shape[nd - 1 - k];
      fpix[k] = static_cast<long>(k == nd - 1 ? plane0 + 1 : 1);
      lpix[k] = static_cast<long>(k == nd - 1 ? plane0 + len : len);
    }
    const std::int64_t stored_ny = shape[nd - 2], stored_nx = shape[nd - 1];
    shape[nd - 2] = w.ny;
    shape[nd - 1] = w.nx;
    Array a = Array::uninitialized(dtype, shape);
    // Whole rows: one contiguous run per leading plane, read directly where the fast path
    // applies.
    std::vector<ImageRun> runs;
    if (w.x0 == 0 && w.nx == stored_nx && a.size() > 0 && (nd >= 3 || !planes)) {
      // Leading planes of the read, and the stored planes per step of the first axis.
      std::size_t nplanes = 1, inner = 1;
      for (std::size_t k = 0; k + 2 < nd; ++k) nplanes *= static_cast<std::size_t>(shape[k]);
      for (std::size_t k = 1; k + 2 < nd; ++k) inner *= static_cast<std::size_t>(shape[k]);
      const auto fny = static_cast<std::size_t>(stored_ny),
                 fnx = static_cast<std::size_t>(stored_nx);
      const std::size_t per = static_cast<std::size_t>(w.ny) * fnx;
      const std::size_t plane_base = nd >= 3 ? static_cast<std::size_t>(plane0) * inner : 0;
      for (std::size_t pl = 0; pl < nplanes; ++pl)
        runs.push_back(
            {((plane_base + pl) * fny + static_cast<std::size_t>(w.y0)) * fnx, pl * per, per});
    }
    if (a.size() > 0 && (runs.empty() || !read_image_direct(f, bitpix, eq, runs, a))) {
      int status = 0, anynul = 0;
      if (fits_read_subset(f.get(), image_typecode(dtype), fpix.data(), lpix.data(), inc.data(),
                           nullptr, a.raw(), &anynul, &status))
        fail(f.path(),
             where + ": reading rows " + std::to_string(w.y0) + ".." +
                 std::to_string(w.y0 + w.ny - 1),
             status);
    }
    return a;
  }
  Array a = Array::uninitialized(dtype, shape);  // the read fills every element
  LONGLONG n = static_cast<LONGLONG>(a.size());
  if (n > 0 && bitpix == SHORT_IMG && dtype == DType::kFloat32 && *native == DType::kUint16) {
    // Raw uint16 (BZERO 32768) as float32, the raw-to-ramp read: read directly on every thread
    // when large (read_image_direct), else the stored 16-bit words are read unscaled in chunks
    // and converted here (uint16 = word ^ 0x8000, exact in float32), a plain loop instead of
    // CFITSIO's per-pixel double arithmetic; same values.
    int status = 0, anynul = 0;
    double bscale = 1.0, bzero = 0.0;
    if (fits_read_key(f.get(), TDOUBLE, "BSCALE", &bscale, nullptr, &status)) {
      status = 0;
      bscale = 1.0;
    }
    fits_read_key(f.get(), TDOUBLE, "BZERO", &bzero, nullptr, &status);
    if (status == 0 && bscale == 1.0 && bzero == 32768.0) {
      if (read_image_direct(f, bitpix, eq,
                            {{static_cast<std::size_t>(first - 1), 0, static_cast<std::size_t>(n)}},
                            a))
        return a;
      fits_set_bscale(f.get(), 1.0, 0.0, &status);
      constexpr LONGLONG kChunk = LONGLONG{1} << 20;
      std::vector<std::int16_t> words(static_cast<std::size_t>(std::min(n, kChunk)));
      float* out = a.data<float>();
      for (LONGLONG done = 0; done < n && status == 0; done += kChunk) {
        const LONGLONG k = std::min(kChunk, n - done);
        if (fits_read_img(f.get(), TSHORT, first + done, k, nullptr, words.data(), &anynul,
                          &status))
          break;
        for (LONGLONG i = 0; i < k; ++i)
          out[done + i] = static_cast<float>(static_cast<std::uint16_t>(words[i]) ^ 0x8000u);
      }
      int restore = 0;
      fits_set_bscale(f.get(), bscale, bzero, &restore);
      if (status) fail(f.path(), where + ": reading " + std::to_string(n) + " pixels", status);
      return a;
    }
    status = 0;
  }
  if (n > 0 && !read_image_direct(
                   f, bitpix, eq,
                   {{static_cast<std::size_t>(first - 1), 0, static_cast<std::size_t>(n)}}, a)) {
    int status = 0, anynul = 0;
    if (fits_read_img(f.get(), image_typecode(dtype), first, n, nullptr, a.raw(), &anynul, &status))
      fail(f.path(), where + ": reading " + std::to_string(n) + " pixels", status);
  }
  return a;
}

// The data of the image HDU just created for `a`, stored as fits_write_img stores it (big-endian;
// uint32/uint16 with the BZERO offset, i.e. the sign bit flipped), but converted in 2 MiB pieces
// by a vectorised swap and handed to CFITSIO's byte writer, which writes pieces that large straight
// to the file past its buffers: fits_write_img converts and writes 2880-byte blocks, and the
// kernel's page cache takes large writes several times faster than small ones. CFITSIO keeps its
// own account of the file (the data fill and any header growth work as before). False, with
// nothing written, when the fast path does not apply: the caller writes through fits_write_img.
bool write_image_direct(const FitsFile& f, const Array& a) {
  if constexpr (std::endian::native != std::endian::little) return false;
  const DType t = a.dtype();
  const bool supported = t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kInt32 ||
                         t == DType::kUint32 || t == DType::kInt16 || t == DType::kUint16 ||
                         t == DType::kUint8;
  if (!supported || a.nbytes() < (std::size_t{4} << 20)) return false;
  int status = 0;
  LONGLONG head = 0, data = 0, end = 0;
  if (ffrdef(f.get(), &status) || fits_get_hduaddrll(f.get(), &head, &data, &end, &status) ||
      ffmbyt(f.get(), data, /*ignore_err=*/1, &status))
    return false;
  const std::size_t esize = models::dtype_size(t);
  constexpr std::size_t kPiece = std::size_t{2} << 20;
  thread_local std::vector<unsigned char> piece(kPiece);  // reused: no fresh pages per call
  const auto* src = static_cast<const unsigned char*>(a.raw());
  const std::size_t total = a.nbytes();
  for (std::size_t at = 0; at < total && !status; at += kPiece) {
    const std::size_t len = std::min(kPiece, total - at);
    const std::size_t n = len / esize;
    unsigned char* q = piece.data();
    std::memcpy(q, src + at, len);
    if (esize == 8) {
      auto* w = reinterpret_cast<std::uint64_t*>(q);
      for (std::size_t i = 0; i < n; ++i) w[i] = __builtin_bswap64(w[i]);
    } else if (esize == 4) {
      const std::uint32_t flip = t == DType::kUint32 ? 0x80000000u : 0u;
      auto* w = reinterpret_cast<std::uint32_t*>(q);
      for (std::size_t i = 0; i < n; ++i) w[i] = __builtin_bswap32(w[i] ^ flip);
    } else if (esize == 2) {
      const std::uint16_t flip = t == DType::kUint16 ? 0x8000u : 0u;
      auto* w = reinterpret_cast<std::uint16_t*>(q);
      for (std::size_t i = 0; i < n; ++i)
        w[i] = __builtin_bswap16(static_cast<std::uint16_t>(w[i] ^ flip));
    }
    ffpbyt(f.get(), static_cast<LONGLONG>(len), q, &status);
  }
  if (status) fail(f.path(), "writing " + std::to_string(total) + " bytes of image data", status);
  return true;
}

void write_image(const FitsFile& f, const std::string& extname, int extver, const Array& a) {
  int status = 0;
  std::vector<LONGLONG> naxes(a.shape().rbegin(), a.shape().rend());
  if (fits_create_imgll(f.get(), image_bitpix(a.dtype()), static_cast<int>(naxes.size()),
                        naxes.data(), &status))
    fail(f.path(), "creating HDU " + extname, status);
  if (!extname.empty()) {
    fits_update_key_str(f.get(), "EXTNAME", extname.c_str(), "extension name", &status);
    fits_update_key_lng(f.get(), "EXTVER", extver, "extension value", &status);
  }
  if (status) fail(f.path(), "creating HDU " + extname, status);
  if (a.size() > 0 && !write_image_direct(f, a))
    fits_write_img(f.get(), image_typecode(a.dtype()), 1, static_cast<LONGLONG>(a.size()),
                   const_cast<void*>(a.raw()), &status);
  if (status) fail(f.path(), "writing HDU " + extname, status);
}

Table read_table(const FitsFile& f, const std::string& where) {
  int status = 0, ncols = 0;
  LONGLONG nrows = 0;
  if (fits_get_num_rowsll(f.get(), &nrows, &status) || fits_get_num_cols(f.get(), &ncols, &status))
    fail(f.path(), where, status);
  {
    LONGLONG rowlen = 0;
    if (fits_read_key(f.get(), TLONGLONG, "NAXIS1", &rowlen, nullptr, &status))
      fail(f.path(), where, status);
    check_data_size(f, where, static_cast<long double>(rowlen) * static_cast<long double>(nrows));
  }
  Table t;
  for (int c = 1; c <= ncols; ++c) {
    Column col;
    char key[FLEN_KEYWORD], value[FLEN_VALUE] = {0};
    std::snprintf(key, sizeof key, "TTYPE%d", c);
    if (fits_read_key(f.get(), TSTRING, key, value, nullptr, &status) == 0)
      col.name = value;
    else {
      status = 0;
      fits_clear_errmsg();
      col.name = "col" + std::to_string(c);
    }
    std::snprintf(key, sizeof key, "TUNIT%d", c);
    value[0] = 0;
    if (fits_read_key(f.get(), TSTRING, key, value, nullptr, &status) == 0)
      col.unit = value;
    else {
      status = 0;
      fits_clear_errmsg();
    }
    int type = 0;
    LONGLONG repeat = 0, width = 0;
    if (fits_get_eqcoltypell(f.get(), c, &type, &repeat, &width, &status))
      fail(f.path(), where + " column " + col.name, status);
    std::string cw = where + " column " + col.name;
    if (type == TSTRING) {
      col.is_text = true;
      col.width = static_cast<std::size_t>(repeat);
      std::vector<std::vector<char>> bufs(static_cast<std::size_t>(nrows),
                                          std::vector<char>(col.width + 1, 0));
      std::vector<char*> ptrs;
      for (auto& b : bufs) ptrs.push_back(b.data());
      int anynul = 0;
      if (nrows > 0 && fits_read_col_str(f.get(), c, 1, 1, nrows, const_cast<char*>(""),
                                         ptrs.data(), &anynul, &status))
        fail(f.path(), cw, status);
      for (auto& b : bufs) {
        std::string s(b.data());
        while (!s.empty() && s.back() == ' ') s.pop_back();
        col.text.push_back(s);
      }
    } else {
      int rtype = 0;
      switch (type) {
        case TLOGICAL:
          col.dtype = DType::kBool8;
          rtype = TLOGICAL;
          break;
        case TBYTE:
          col.dtype = DType::kUint8;
          rtype = TBYTE;
          break;
        case TSBYTE:
          col.dtype = DType::kInt8;
          rtype = TSBYTE;
          break;
        case TSHORT:
          col.dtype = DType::kInt16;
          rtype = TSHORT;
          break;
        case TUSHORT:
          col.dtype = DType::kUint16;
          rtype = TUSHORT;
          break;
        case TINT:
        case TLONG:
          col.dtype = DType::kInt32;
          rtype = TINT;
          break;
        case TUINT:
        case TULONG:
          col.dtype = DType::kUint32;
          rtype = TUINT;
          break;
        case TLONGLONG:
          col.dtype = DType::kInt64;
          rtype = TLONGLONG;
          break;
        case TULONGLONG:
          col.dtype = DType::kUint64;
          rtype = TULONGLONG;
          break;
        case TFLOAT:
          col.dtype = DType::kFloat32;
          rtype = TFLOAT;
          break;
        case TDOUBLE:
          col.dtype = DType::kFloat64;
          rtype = TDOUBLE;
          break;
        default:
          throw IoError(f.path() + ": " + cw + ": unsupported column type code " +
                        std::to_string(type));
      }
      col.repeat = repeat;
      std::size_t n = static_cast<std::size_t>(nrows * repeat);
      col.bytes.assign(n * models::dtype_size(col.dtype), 0);
      int anynul = 0;
      if (n > 0 && fits_read_col(f.get(), rtype, c, 1, 1, static_cast<LONGLONG>(n), nullptr,
                                 col.bytes.data(), &anynul, &status))
        fail(f.path(), cw, status);
    }
    t.add_column(std::move(col), static_cast<std::size_t>(nrows));
  }
  return t;
}

std::string tform_of(const Column& c) {
  if (c.is_text) return std::to_string(std::max<std::size_t>(c.width, 1)) + "A";
  char code = 'E';
  switch (c.dtype) {
    case DType::kBool8:
      code = 'L';
      break;
    case DType::kUint8:
      code = 'B';
      break;
    case DType::kInt8:
      code = 'S';
      break;
    case DType::kInt16:
      code = 'I';
      break;
    case DType::kUint16:
      code = 'U';
      break;
    case DType::kInt32:
      code = 'J';
      break;
    case DType::kUint32:
      code = 'V';
      break;
    case DType::kInt64:
      code = 'K';
      break;
    case DType::kUint64:
      code = 'W';
      break;
    case DType::kFloat32:
      code = 'E';
      break;
    case DType::kFloat64:
      code = 'D';
      break;
  }
  return std::to_string(c.repeat) + code;
}

void write_table(const FitsFile& f, const std::string& extname, int extver, const Table& t) {
  int status = 0;
  std::vector<std::string> names, forms, units;
  for (auto& c : t.columns()) {
    names.push_back(c.name);
    forms.push_back(tform_of(c));
    units.push_back(c.unit);
  }
  std::vector<char*> pn, pf, pu;
  for (std::size_t i = 0; i < names.size(); ++i) {
    pn.push_back(names[i].data());
    pf.push_back(forms[i].data());
    pu.push_back(units[i].data());
  }
  if (fits_create_tbl(f.get(), BINARY_TBL, static_cast<LONGLONG>(t.rows()),
                      static_cast<int>(names.size()), pn.data(), pf.data(), pu.data(),
                      extname.empty() ? nullptr : extname.c_str(), &status))
    fail(f.path(), "creating table " + extname, status);
  if (!extname.empty()) fits_update_key_lng(f.get(), "EXTVER", extver, "extension value", &status);
  int ci = 0;
  for (auto& c : t.columns()) {
    ++ci;
    if (t.rows() == 0) continue;
    if (c.is_text) {
      std::vector<std::string> cells;
      for (auto& s : c.text) cells.push_back(clean_ascii(s));
      std::vector<char*> ptrs;
      for (auto& s : cells) ptrs.push_back(s.data());
      fits_write_col_str(f.get(), ci, 1, 1, static_cast<LONGLONG>(t.rows()), ptrs.data(), &status);
    } else {
      int type = c.dtype == DType::kBool8 ? TLOGICAL : image_typecode(c.dtype);
      fits_write_col(f.get(), type, ci, 1, 1, static_cast<LONGLONG>(t.rows() * c.repeat),
                     const_cast<unsigned char*>(c.bytes.data()), &status);
    }
    if (status) fail(f.path(), "writing table " + extname + " column " + c.name, status);
  }
}

// ------------------------------------------------------------------ ASDF extension

std::vector<std::uint8_t> read_asdf_hdu_bytes(const FitsFile& f, int hdutype,
                                              const std::string& where) {
  int status = 0;
  std::vector<std::uint8_t> bytes;
  if (hdutype == BINARY_TBL) {
    int col = 0;
    if (fits_get_colnum(f.get(), CASEINSEN, const_cast<char*>("ASDF_METADATA"), &col, &status))
      fail(f.path(), where + ": no ASDF_METADATA column", status);
    int type = 0;
    LONGLONG repeat = 0, width = 0;
    if (fits_get_coltypell(f.get(), col, &type, &repeat, &width, &status))
      fail(f.path(), where, status);
    if (repeat < 0 || repeat > (LONGLONG(1) << 32))
      throw IoError(f.path() + ": " + where + ": bad ASDF_METADATA size");
    check_data_size(f, where, static_cast<long double>(repeat));
    bytes.resize(static_cast<std::size_t>(repeat));
    int anynul = 0;
    if (repeat > 0 &&
        fits_read_col(f.get(), TBYTE, col, 1, 1, repeat, nullptr, bytes.data(), &anynul, &status))
      fail(f.path(), where + ": reading ASDF_METADATA", status);
  } else {
    Array a = read_image(f, where, DType::kUint8, -1);
    auto* p = static_cast<const std::uint8_t*>(a.raw());
    bytes.assign(p, p + a.nbytes());
  }
  return bytes;
}

void merge_tree(Json& dst, const Json& src, bool overwrite) {
  for (auto it = src.begin(); it != src.end(); ++it) {
    if (it.value().is_object() && !it.value().contains("__tag__") && dst.contains(it.key()) &&
        dst[it.key()].is_object()) {
      merge_tree(dst[it.key()], it.value(), overwrite);
    } else if (overwrite || !dst.contains(it.key()) || dst[it.key()].is_null()) {
      dst[it.key()] = it.value();
    }
  }
}

std::string sha256_hex(const std::vector<unsigned char>& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------------ public

const HduInfo* FitsSummary::find(const std::string& extname, int extver) const {
  for (auto& h : hdus)
    if (h.extname == extname && h.extver == extver) return &h;
  for (auto& h : hdus)
    if (h.extname == extname) return &h;
  return nullptr;
}

FitsSummary summarize_fits(const fs::path& path) {
  FitsFile f(path, READONLY);
  FitsSummary s;
  int n = num_hdus(f);
  for (int i = 0; i < n; ++i) {
    move_to(f, i);
    HduHeader id = read_hdu_identity(f, i);
    HduInfo info;
    info.index = i;
    info.extname = id.extname;
    info.extver = id.extver;
    info.is_table = id.hdutype != IMAGE_HDU;
    if (!info.is_table)
      info.shape = image_shape(f, "HDU " + std::to_string(i), &info.bitpix, nullptr);
    if (i == 0) {
      int status = 0;
      char value[FLEN_VALUE] = {0};
      if (fits_read_key(f.get(), TSTRING, "DATAMODL", value, nullptr, &status) == 0)
        s.datamodl = value;
      status = 0;
      value[0] = 0;
      if (fits_read_key(f.get(), TSTRING, "REFTYPE", value, nullptr, &status) == 0)
        s.reftype = value;
      fits_clear_errmsg();
    }
    s.hdus.push_back(std::move(info));
  }
  return s;
}

std::string fits_hash(const fs::path& path) {
  std::vector<std::pair<LONGLONG, LONGLONG>> ranges;
  {
    FitsFile f(path, READONLY);
    int n = num_hdus(f);
    for (int i = 0; i < n; ++i) {
      move_to(f, i);
      HduHeader id = read_hdu_identity(f, i);
      if (id.extname == "ASDF") continue;
      LONGLONG head = 0, data = 0, end = 0;
      int status = 0;
      if (fits_get_hduaddrll(f.get(), &head, &data, &end, &status))
        fail(f.path(), "HDU address", status);
      ranges.emplace_back(head, data);
    }
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> all;
  for (auto [a, b] : ranges) {
    std::vector<unsigned char> buf(static_cast<std::size_t>(b - a));
    in.seekg(a);
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    if (!in) throw IoError(path.string() + ": cannot read header bytes for _fits_hash");
    all.insert(all.end(), buf.begin(), buf.end());
  }
  return sha256_hex(all);
}

void read_fits(const fs::path& path, DataModel& model, const models::OpenOptions& options) {
  const bool limited = options.limited();
  // A limited read keeps the tables it is asked for, and DQ_DEF with DQ (to decompress it).
  auto wants_table = [&](const std::string& name) {
    return options.wants(name) || (name == "dq_def" && options.wants("dq"));
  };
  auto planes_of = [&](const std::string& name) -> const models::OpenOptions::PlaneRange* {
    return options.planes && options.planes->array == name ? &*options.planes : nullptr;
  };
  FitsFile f(path, READONLY);
  const models::Schema& schema = model.schema();
  models::FitsExtras& extras = model.fits_extras();
  Json& tree = model.tree();
  int n = num_hdus(f);
  std::set<std::string> loaded;
  std::optional<asdf::AsdfFile> asdf_tree;
  for (int i = 0; i < n; ++i) {
    move_to(f, i);
    HduHeader id = read_hdu_identity(f, i);
    std::string where =
        "HDU " + std::to_string(i) + (id.extname.empty() ? "" : " (" + id.extname + ")");
    if (id.extname == "ASDF" && i > 0) {
      auto bytes = read_asdf_hdu_bytes(f, id.hdutype, where);
      try {
        asdf_tree = asdf::AsdfFile::from_bytes(std::move(bytes), path.string() + "[ASDF]");
      } catch (const std::exception& e) {
        throw IoError(path.string() + ": " + where + ": corrupt ASDF extension: " + e.what());
      }
      continue;
    }
    const models::ArrayEntry* entry = i == 0 ? nullptr : schema.array_for_hdu(id.extname);
    bool schema_hdu = i == 0 || (entry && !loaded.count(entry->name));
    if (i == 0 || schema_hdu) {
      std::vector<Card>& cards = extras.cards[i == 0 ? "PRIMARY" : id.extname];
      read_cards(f, schema, i == 0 ? "PRIMARY" : id.extname, tree, cards, &extras.history);
      if (cards.empty()) extras.cards.erase(i == 0 ? "PRIMARY" : id.extname);
    }
    if (i == 0) {
      int bitpix = 0;
      auto shape = image_shape(f, where, &bitpix, nullptr);
      if (!shape.empty() && !limited) {
        models::ExtraHdu h;
        h.extname = "PRIMARY";
        h.image = read_image(f, where, std::nullopt, -1);
        extras.hdus.push_back(std::move(h));
      }
      continue;
    }
    if (schema_hdu) {
      loaded.insert(entry->name);
      if (entry->is_table) {
        if (id.hdutype == IMAGE_HDU)
          throw IoError(path.string() + ": " + where + ": expected a table, found an image");
        if (wants_table(entry->name)) model.set_table(entry->name, read_table(f, where));
      } else {
        if (id.hdutype != IMAGE_HDU)
          throw IoError(path.string() + ": " + where + ": expected an image, found a table");
        if (!options.wants(entry->name)) continue;
        int eq = 0;
        auto shape = image_shape(f, where, nullptr, &eq);
        if (shape.empty()) continue;  // header-only HDU
        Array a = read_image(f, where, entry->dtype, entry->ndim, planes_of(entry->name),
                             options.window ? &*options.window : nullptr);
        if (entry->max_ndim >= 0 && static_cast<int>(a.ndim()) > entry->max_ndim)
          throw IoError(path.string() + ": " + where +
                        ": Array has wrong number of dimensions.  Expected <= " +
                        std::to_string(entry->max_ndim) + ", got " + std::to_string(a.ndim()));
        model.set_array(entry->name, std::move(a));
      }
      continue;
    }
    if (limited) continue;  // HDUs the schema does not know: only in a full read
    models::ExtraHdu h;
    h.extname = id.extname;
    h.extver = id.extver;
    Json scratch = Json::object();
    read_cards(f, models::Schema("none", Json::object(), path), id.extname, scratch, h.header,
               nullptr);
    if (id.hdutype == IMAGE_HDU) {
      int eq = 0;
      if (!image_shape(f, where, nullptr, &eq).empty())
        h.image = read_image(f, where, std::nullopt, -1);
    } else {
      h.table = read_table(f, where);
    }
    extras.hdus.push_back(std::move(h));
  }
  f.close();

  if (asdf_tree) {
    const Json& at = asdf_tree->tree();
    if (at.contains("meta") && at["meta"].is_object()) {
      bool asdf_wins = false;
      if (at.contains("_fits_hash") && at["_fits_hash"].is_string()) {
        std::string datamodl;
        if (auto v = model.get_meta("meta.model_type"); v && v->is_string())
          datamodl = v->get<std::string>();
        asdf_wins = datamodl == model.model_type() &&
                    at["_fits_hash"].get<std::string>() == fits_hash(path);
      }
      merge_tree(tree["meta"], at["meta"], asdf_wins);
    }
    // Arrays held only in the ASDF extension's own blocks.
    for (auto it = at.begin(); it != at.end(); ++it) {
      if (model.has_array(it.key()) || !asdf::is_ndarray(it.value()) || !options.wants(it.key()))
        continue;
      try {
        asdf::NdArrayInfo info = asdf_tree->resolve(it.value());
        if (info.source == asdf::ArraySource::kExternal ||
            info.datatype.kind == asdf::ScalarKind::kStructured)
          continue;
        auto dt = models::dtype_from_name(info.datatype.name);
        if (!dt) continue;
        Array a = Array::allocate(*dt, info.shape);
        asdf_tree->read_array(info,
                              std::span<std::byte>(static_cast<std::byte*>(a.raw()), a.nbytes()));
        model.set_array(it.key(), std::move(a));
      } catch (const std::exception& e) {
        throw IoError(path.string() + ": HDU ASDF: array " + it.key() + ": " + e.what());
      }
    }
  }
  if (limited) model.set_partial(true);
  if (model.is_reference()) models::decompress_dq(model);
  for (auto& problem : model.validate()) {
    std::string msg = path.filename().string() + ": " + problem;
    model.load_warnings().push_back(msg);
    models::warn(msg);
  }
}

void write_fits(const DataModel& model, const fs::path& path, bool asdf_extension) {
  write_atomically(path, [&](const fs::path& tmp) {
    std::error_code ec;
    fs::remove(tmp, ec);
    std::vector<std::pair<std::string, std::string>> linked;  // (array name, extname)
    std::vector<std::pair<std::string, std::string>> linked_tables;
    {
      FitsFile f = FitsFile::create(tmp);
      int status = 0;
      const models::ExtraHdu* primary_data = nullptr;
      for (auto& h : model.fits_extras().hdus)
        if (h.extname == "PRIMARY" && h.image) primary_data = &h;
      if (primary_data) {
        const Array& a = *primary_data->image;
        std::vector<LONGLONG> naxes(a.shape().rbegin(), a.shape().rend());
        fits_create_imgll(f.get(), image_bitpix(a.dtype()), static_cast<int>(naxes.size()),
                          naxes.data(), &status);
        if (a.size())
          fits_write_img(f.get(), image_typecode(a.dtype()), 1, static_cast<LONGLONG>(a.size()),
                         const_cast<void*>(a.raw()), &status);
      } else {
        fits_create_img(f.get(), BYTE_IMG, 0, nullptr, &status);
      }
      if (status) fail(tmp.string(), "creating the primary HDU", status);
      write_schema_cards(f, model, "PRIMARY");
      for (auto& h : model.fits_extras().history) {
        fits_write_history(f.get(), clean_ascii(h).c_str(), &status);
        if (status) fail(tmp.string(), "writing HISTORY", status);
      }
      for (auto& e : model.schema().arrays()) {
        if (e.is_table) {
          if (!model.has_table(e.name)) continue;
          write_table(f, e.hdu, 1, model.table(e.name));
          linked_tables.emplace_back(e.name, e.hdu);
        } else {
          if (!model.has_array(e.name)) continue;
          std::optional<Array> packed;
          if (e.name == "dq" && model.is_reference()) packed = models::compress_dq(model);
          write_image(f, e.hdu, 1, packed ? *packed : model.array(e.name));
          linked.emplace_back(e.name, e.hdu);
        }
        write_schema_cards(f, model, e.hdu);
      }
      // Arrays and tables outside the schema, then unknown HDUs.
      for (auto& name : model.array_names()) {
        if (model.schema().array(name)) continue;
        std::string ext = name;
        for (auto& c : ext) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        write_image(f, ext, 1, model.array(name));
      }
      for (auto& name : model.table_names()) {
        if (model.schema().array(name)) continue;
        std::string ext = name;
        for (auto& c : ext) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        write_table(f, ext, 1, model.table(name));
        linked_tables.emplace_back(name, ext);
      }
      for (auto& h : model.fits_extras().hdus) {
        if (h.extname == "PRIMARY") continue;
        if (h.table)
          write_table(f, h.extname, h.extver, *h.table);
        else
          write_image(f, h.extname, h.extver,
                      h.image ? *h.image : Array::allocate(DType::kUint8, {}));
        if (!h.image && !h.table) {
          // header-only image: write_image made a 0-d array; fine.
        }
        for (auto& card : h.header)
          write_card(f, card.keyword, card.value, card.comment, h.extname);
      }
      f.close();
    }
    if (!asdf_extension) return;
    Json tree = Json::object();
    for (auto it = model.tree().begin(); it != model.tree().end(); ++it)
      if (it.key() != "extra_fits") tree[it.key()] = it.value();
    for (auto& [name, ext] : linked) {
      const Array& a = model.array(name);
      tree[name] = asdf::make_fits_ndarray_node(
          ext, 1, asdf::DataType::from_name(asdf_type_name(a.dtype())), a.shape());
    }
    for (auto& [name, ext] : linked_tables) {  // records in the BINTABLE, as stdatamodels
      const models::Table& t = model.table(name);
      tree[name] = asdf::make_fits_records_node(ext, 1, table_fields(t),
                                                static_cast<std::int64_t>(t.rows()));
    }
    tree["_fits_hash"] = fits_hash(tmp);
    asdf::AsdfWriter writer;
    std::string bytes = writer.to_bytes(tree);
    FitsFile f(tmp, READWRITE);
    int status = 0, type = 0;
    fits_movabs_hdu(f.get(), num_hdus(f), &type, &status);
    std::string form = std::to_string(bytes.size()) + "B";
    char* ttype[] = {const_cast<char*>("ASDF_METADATA")};
    char* tform[] = {form.data()};
    fits_create_tbl(f.get(), BINARY_TBL, 1, 1, ttype, tform, nullptr, "ASDF", &status);
    fits_write_col(f.get(), TBYTE, 1, 1, 1, static_cast<LONGLONG>(bytes.size()), bytes.data(),
                   &status);
    if (status) fail(tmp.string(), "writing the ASDF extension", status);
    f.close();
  });
}

}  // namespace stpipe::io
