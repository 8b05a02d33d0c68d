// Model tables <-> ASDF structured (record) arrays (internal to the io area).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "stpipe/asdf/ndarray.h"
#include "stpipe/models/array.h"

namespace stpipe::io {

/// One field per column: numeric columns by dtype (vector cells get a shape), text columns as
/// [ascii, width]; little-endian; offsets packed.
std::vector<asdf::Field> table_fields(const models::Table& table);

/// The table's rows as packed native records of `fields` (text padded with NULs, as numpy).
std::vector<std::byte> table_records(const models::Table& table,
                                     const std::vector<asdf::Field>& fields);

/// A table from native records of `info`'s structured datatype (ascii and ucs4 fields become
/// text columns, trailing NULs and blanks removed). Throws IoError for complex, nested or
/// unnamed fields.
models::Table records_table(const asdf::NdArrayInfo& info, std::span<const std::byte> records);

}  // namespace stpipe::io
