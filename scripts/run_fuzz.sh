#!/usr/bin/env bash
# Builds the libFuzzer targets (FITS header -> metadata, ASDF tree reader) with clang++-14 and
# runs each briefly (FUZZ_SECONDS, default 10). Set STPIPE_SKIP_FUZZ=1 to skip.
set -uo pipefail
BUILD=${1:-build}
SECS=${FUZZ_SECONDS:-10}
if [ -n "${STPIPE_SKIP_FUZZ:-}" ]; then echo "fuzz: skipped (STPIPE_SKIP_FUZZ set)"; exit 0; fi
if ! command -v clang++-14 >/dev/null; then echo "fuzz: clang++-14 not installed, skipped"; exit 0; fi
status=0
for t in fits asdf; do
  log="$BUILD/fuzz/$t.log"
  mkdir -p "$BUILD/fuzz"
  if bash "fuzz/run_${t}_fuzz.sh" "$BUILD/fuzz/$t" "$SECS" >"$log" 2>&1; then
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1)
    echo "fuzz $t: no crash (${runs:-see $log})"
  else
    echo "fuzz $t: FAILED (see $log)"
    tail -20 "$log"
    status=1
  fi
done
exit $status
