// DQ_DEF "dynamic" flags of reference files: file DQ values <-> standard JWST pixel flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "stpipe/models/array.h"
#include "stpipe/models/datamodel.h"

namespace stpipe::models {

/// Value of a standard JWST pixel DQ flag by name ("SATURATED" -> 2), nullopt if unknown.
std::optional<std::uint32_t> standard_dq_flag(std::string_view name);

/// On load: rewrites `dq` of a model holding a DQ_DEF table so that every pixel with
/// (dq & VALUE) != 0 gets the standard flag named NAME (as stdatamodels' dynamic_mask does);
/// unknown names are reported through warn() and ignored. No-op without dq or dq_def.
void decompress_dq(DataModel& model);

/// On save: the file form of `dq`: for each DQ_DEF row, pixels with (dq & standard NAME) != 0
/// get VALUE; standard flags not listed are dropped. Returns nullopt without dq or dq_def.
std::optional<Array> compress_dq(const DataModel& model);

}  // namespace stpipe::models
