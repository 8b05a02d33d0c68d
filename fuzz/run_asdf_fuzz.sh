#!/usr/bin/env bash
# Builds fuzz/asdf_tree_fuzz.cpp with clang++-14 (libFuzzer + ASan) into DIR and runs it briefly.
# Usage: fuzz/run_asdf_fuzz.sh DIR [SECONDS=10]   (exit status non-zero if a crash is found)
set -euo pipefail
OUT=${1:?usage: run_asdf_fuzz.sh BUILD_DIR [SECONDS]}
SECS=${2:-10}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CXX=${CXX_FUZZ:-clang++-14}
mkdir -p "$OUT/generated/stpipe" "$OUT/corpus"
OUT="$(cd "$OUT" && pwd)"
printf '#pragma once\n#define STPIPE_VERSION_STRING "fuzz"\nnamespace stpipe {\ninline constexpr const char* kVersion = "fuzz";\n}\n' \
  >"$OUT/generated/stpipe/version.h"
"$CXX" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$ROOT/include" -I"$ROOT/src" -I"$OUT/generated" \
  "$ROOT/fuzz/asdf_tree_fuzz.cpp" "$ROOT"/src/asdf/*.cpp "$ROOT"/src/util/*.cpp \
  -lyaml-cpp -lz -lcrypto -o "$OUT/asdf_tree_fuzz"
# Seeds: small hand-made files, plus the real ASDF file from ../shared when it is there.
printf '#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%%YAML 1.1\n%%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\na: {b: [1, 2.5, x, null, true]}\nc: !core/ndarray-1.0.0 {data: [[1, 2], [3, 4]], datatype: int16}\n...\n' >"$OUT/corpus/seed_tree"
printf '#ASDF 1.0.0\n%%YAML 1.1\n---\nd: !core/ndarray-1.0.0 {source: 0, datatype: uint8, byteorder: big, shape: ["*"], strides: [1]}\n...\n\323BLK\0\60\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\4\0\0\0\0\0\0\0\4\0\0\0\0\0\0\0\4\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0abcd#ASDF BLOCK INDEX\n%%YAML 1.1\n---\n- 80\n...\n' >"$OUT/corpus/seed_block"
for f in "$ROOT/../shared/data/stdatamodels/stdatamodels172_image.asdf"; do
  [ -f "$f" ] && cp "$f" "$OUT/corpus/" || true
done
"$OUT/asdf_tree_fuzz" -max_total_time="$SECS" -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus"
