#!/usr/bin/env bash
# Runs every benchmark program and script; results to stdout (see README "Performance").
set -uo pipefail
BUILD=${1:-build}
for b in "$BUILD"/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_counters_tabular=true 2>/dev/null || echo "(failed: $b)"
done
for s in bench/*.sh; do
  [ "$(basename "$s")" = run_all.sh ] && continue
  echo "== $(basename "$s")"
  bash "$s" "$BUILD" || echo "(failed: $s)"
done
