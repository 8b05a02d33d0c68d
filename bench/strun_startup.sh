#!/usr/bin/env bash
# Wall time of `strun --version` and of strun running a 1-step pipeline on a tiny input:
# median of N runs (default 21), measured with the shell's clock in milliseconds.
set -euo pipefail
BUILD=${1:-build}
N=${2:-21}
STRUN="$(cd "$BUILD" && pwd)/bin/strun"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo '{"meta": {}, "data": [1, 2, 3]}' > "$tmp/tiny.json"
median_ms() {
  local times=()
  for _ in $(seq "$N"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}
cd "$tmp"
echo "strun --version:                 $(median_ms "$STRUN" --version) ms (median of $N)"
echo "strun AddStep tiny.json (1 step): $(median_ms "$STRUN" AddStep tiny.json) ms (median of $N)"
