// Model tables <-> ASDF structured arrays (see table_records.h).
#include "io/table_records.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "stpipe/util/error.h"

namespace stpipe::io {

using models::Column;
using models::DType;
using models::Table;

std::vector<asdf::Field> table_fields(const Table& table) {
  std::vector<asdf::Field> fields;
  for (const auto& c : table.columns()) {
    asdf::Field f;
    f.name = c.name;
    if (c.is_text) {
      f.type =
          asdf::DataType::string_type(asdf::ScalarKind::kAscii, std::max<std::size_t>(c.width, 1));
    } else {
      f.type = asdf::DataType::from_name(c.dtype == DType::kBool8 ? "bool8"
                                                                  : models::dtype_name(c.dtype));
      if (c.repeat != 1) f.shape = {c.repeat};
    }
    fields.push_back(std::move(f));
  }
  asdf::pack_fields(fields);
  return fields;
}

std::vector<std::byte> table_records(const Table& table, const std::vector<asdf::Field>& fields) {
  const std::size_t rows = table.rows();
  std::size_t record = 0;
  for (const auto& f : fields) record = std::max(record, f.offset + f.size());
  std::vector<std::byte> out(rows * record, std::byte{0});
  const auto& cols = table.columns();
  for (std::size_t k = 0; k < cols.size() && k < fields.size(); ++k) {
    const Column& c = cols[k];
    const asdf::Field& f = fields[k];
    for (std::size_t r = 0; r < rows; ++r) {
      std::byte* dst = out.data() + r * record + f.offset;
      if (c.is_text) {
        const std::string& s = r < c.text.size() ? c.text[r] : std::string();
        std::memcpy(dst, s.data(), std::min(s.size(), f.size()));
      } else {
        const std::size_t cell = f.size();
        if ((r + 1) * cell <= c.bytes.size()) std::memcpy(dst, c.bytes.data() + r * cell, cell);
      }
    }
  }
  return out;
}

Table records_table(const asdf::NdArrayInfo& info, std::span<const std::byte> records) {
  if (info.shape.size() != 1)
    throw IoError("a table must be a 1-D structured array, got " +
                  std::to_string(info.shape.size()) + " dimensions");
  const std::size_t rows = static_cast<std::size_t>(info.shape[0]);
  const std::size_t record = info.datatype.itemsize;
  if (records.size() < rows * record)
    throw IoError("table data holds " + std::to_string(records.size()) + " bytes, " +
                  std::to_string(rows) + " records need " + std::to_string(rows * record));
  Table t;
  for (const auto& f : info.fields) {
    if (f.name.empty()) throw IoError("a table field has no name");
    Column c;
    c.name = f.name;
    if (f.type.kind == asdf::ScalarKind::kAscii || f.type.kind == asdf::ScalarKind::kUcs4) {
      if (!f.shape.empty())
        throw IoError("field " + f.name + ": arrays of strings are not supported");
      c.is_text = true;
      c.width = f.type.length;
      for (std::size_t r = 0; r < rows; ++r) {
        const auto* p =
            reinterpret_cast<const unsigned char*>(records.data() + r * record + f.offset);
        std::string s;
        if (f.type.kind == asdf::ScalarKind::kAscii) {
          s.assign(reinterpret_cast<const char*>(p), f.type.length);
        } else {
          for (std::size_t i = 0; i < f.type.length; ++i) {
            std::uint32_t cp;
            std::memcpy(&cp, p + 4 * i, 4);
            s.push_back(cp < 128 ? static_cast<char>(cp) : '?');
          }
        }
        s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
        while (!s.empty() && s.back() == ' ') s.pop_back();
        c.text.push_back(std::move(s));
      }
    } else {
      auto dt = models::dtype_from_name(f.type.name);
      if (!dt) throw IoError("field " + f.name + ": unsupported datatype " + f.type.name);
      c.dtype = *dt;
      c.repeat = 1;
      for (auto d : f.shape) c.repeat *= d;
      const std::size_t cell = f.size();
      c.bytes.resize(rows * cell);
      for (std::size_t r = 0; r < rows; ++r)
        std::memcpy(c.bytes.data() + r * cell, records.data() + r * record + f.offset, cell);
    }
    t.add_column(std::move(c), rows);
  }
  return t;
}

}  // namespace stpipe::io
