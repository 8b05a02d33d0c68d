// JWST data-quality bit values (stdatamodels dqflags), for pixel DQ (uint32) and group DQ (uint8).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

namespace stpipe::dq {

inline constexpr std::uint32_t kGood = 0;
inline constexpr std::uint32_t kDoNotUse = 1u << 0;
inline constexpr std::uint32_t kSaturated = 1u << 1;
inline constexpr std::uint32_t kJumpDet = 1u << 2;
inline constexpr std::uint32_t kDropout = 1u << 3;
inline constexpr std::uint32_t kOutlier = 1u << 4;
inline constexpr std::uint32_t kPersistence = 1u << 5;
inline constexpr std::uint32_t kAdFloor = 1u << 6;
inline constexpr std::uint32_t kChargeLoss = 1u << 7;
inline constexpr std::uint32_t kReserved = 1u << 8;
inline constexpr std::uint32_t kNonScience = 1u << 9;
inline constexpr std::uint32_t kDead = 1u << 10;
inline constexpr std::uint32_t kHot = 1u << 11;
inline constexpr std::uint32_t kWarm = 1u << 12;
inline constexpr std::uint32_t kLowQe = 1u << 13;
inline constexpr std::uint32_t kRc = 1u << 14;
inline constexpr std::uint32_t kTelegraph = 1u << 15;
inline constexpr std::uint32_t kNonlinear = 1u << 16;
inline constexpr std::uint32_t kBadRefPixel = 1u << 17;
inline constexpr std::uint32_t kNoFlatField = 1u << 18;
inline constexpr std::uint32_t kNoGainValue = 1u << 19;
inline constexpr std::uint32_t kNoLinCorr = 1u << 20;
inline constexpr std::uint32_t kNoSatCheck = 1u << 21;
inline constexpr std::uint32_t kUnreliableBias = 1u << 22;
inline constexpr std::uint32_t kUnreliableDark = 1u << 23;
inline constexpr std::uint32_t kUnreliableSlope = 1u << 24;
inline constexpr std::uint32_t kUnreliableFlat = 1u << 25;
inline constexpr std::uint32_t kOpen = 1u << 26;
inline constexpr std::uint32_t kAdjOpen = 1u << 27;
inline constexpr std::uint32_t kFluxEstimated = 1u << 28;
inline constexpr std::uint32_t kMsaFailedOpen = 1u << 29;
inline constexpr std::uint32_t kOtherBadPixel = 1u << 30;
inline constexpr std::uint32_t kReferencePixel = 1u << 31;

/// Pixel flag names and values in bit order (GOOD omitted), for DQ_DEF tables and mnemonics.
inline constexpr std::pair<std::string_view, std::uint32_t> kPixelFlags[] = {
    {"DO_NOT_USE", kDoNotUse},
    {"SATURATED", kSaturated},
    {"JUMP_DET", kJumpDet},
    {"DROPOUT", kDropout},
    {"OUTLIER", kOutlier},
    {"PERSISTENCE", kPersistence},
    {"AD_FLOOR", kAdFloor},
    {"CHARGELOSS", kChargeLoss},
    {"RESERVED", kReserved},
    {"NON_SCIENCE", kNonScience},
    {"DEAD", kDead},
    {"HOT", kHot},
    {"WARM", kWarm},
    {"LOW_QE", kLowQe},
    {"RC", kRc},
    {"TELEGRAPH", kTelegraph},
    {"NONLINEAR", kNonlinear},
    {"BAD_REF_PIXEL", kBadRefPixel},
    {"NO_FLAT_FIELD", kNoFlatField},
    {"NO_GAIN_VALUE", kNoGainValue},
    {"NO_LIN_CORR", kNoLinCorr},
    {"NO_SAT_CHECK", kNoSatCheck},
    {"UNRELIABLE_BIAS", kUnreliableBias},
    {"UNRELIABLE_DARK", kUnreliableDark},
    {"UNRELIABLE_SLOPE", kUnreliableSlope},
    {"UNRELIABLE_FLAT", kUnreliableFlat},
    {"OPEN", kOpen},
    {"ADJ_OPEN", kAdjOpen},
    {"FLUX_ESTIMATED", kFluxEstimated},
    {"MSA_FAILED_OPEN", kMsaFailedOpen},
    {"OTHER_BAD_PIXEL", kOtherBadPixel},
    {"REFERENCE_PIXEL", kReferencePixel},
};

}  // namespace stpipe::dq
