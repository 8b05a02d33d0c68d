#!/usr/bin/env bash
# Builds fuzz/fits_header_fuzz.cpp with clang++-14 (libFuzzer + ASan/UBSan) into DIR and runs it
# for SECONDS (default 10) on seeds made from small real FITS files.
# Usage: fuzz/run_fits_fuzz.sh DIR [SECONDS=10]   (exit status non-zero if a crash is found)
set -euo pipefail
OUT=${1:?usage: run_fits_fuzz.sh BUILD_DIR [SECONDS]}
SECS=${2:-10}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CXX=${CXX_FUZZ:-clang++-14}
mkdir -p "$OUT/generated/stpipe" "$OUT/fits_corpus" "$OUT/obj"
OUT="$(cd "$OUT" && pwd)"
printf '#pragma once\n#define STPIPE_VERSION_STRING "fuzz"\nnamespace stpipe {\ninline constexpr const char* kVersion = "fuzz";\n}\n' \
  >"$OUT/generated/stpipe/version.h"
FLAGS=(-std=c++20 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
       -I"$ROOT/include" -I"$ROOT/src" -I"$OUT/generated")
objs=()
for src in "$ROOT"/src/models/*.cpp "$ROOT"/src/io/*.cpp "$ROOT"/src/asdf/*.cpp "$ROOT"/src/util/*.cpp; do
  o="$OUT/obj/$(basename "$(dirname "$src")")_$(basename "$src" .cpp).o"
  if [ ! -f "$o" ] || [ "$src" -nt "$o" ]; then "$CXX" "${FLAGS[@]}" -c "$src" -o "$o"; fi
  objs+=("$o")
done
"$CXX" "${FLAGS[@]}" -fsanitize=fuzzer "$ROOT/fuzz/fits_header_fuzz.cpp" "${objs[@]}" \
  $(pkg-config --libs cfitsio) -lyaml-cpp -lz -lcrypto -o "$OUT/fits_header_fuzz"
# Seeds: a minimal hand-made FITS file, plus small real files from ../shared when present.
python3 - "$OUT/fits_corpus/seed_min.fits" <<'PY'
import sys
cards = ["SIMPLE  =                    T", "BITPIX  =                    8", "NAXIS   =                    0",
         "EXTEND  =                    T", "DATAMODL= 'ImageModel'", "INSTRUME= 'NIRCAM'", "END"]
hdr = "".join(c.ljust(80) for c in cards).ljust(2880)
sci = ["XTENSION= 'IMAGE   '", "BITPIX  =                  -32", "NAXIS   =                    2",
       "NAXIS1  =                    2", "NAXIS2  =                    2", "PCOUNT  =                    0",
       "GCOUNT  =                    1", "EXTNAME = 'SCI     '", "END"]
ext = "".join(c.ljust(80) for c in sci).ljust(2880)
open(sys.argv[1], "wb").write((hdr + ext).encode() + b"\0" * 2880)
PY
for f in stdatamodels/stdatamodels172_mask.fits stdatamodels/stdatamodels172_image.fits \
         jwst/reference/jwst_nirspec_ipc_with_asdf_extension.fits; do
  [ -f "$ROOT/../shared/data/$f" ] && cp "$ROOT/../shared/data/$f" "$OUT/fits_corpus/" || true
done
export STPIPE_SCHEMA_DIR="$ROOT/schemas"
# CFITSIO itself callocs what a corrupt header declares (e.g. huge column counts) and handles a NULL
# return as MEMORY_ALLOCATION; let ASan return NULL there too instead of aborting.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
"$OUT/fits_header_fuzz" -max_total_time="$SECS" -max_len=32768 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/fits_corpus"
