#!/usr/bin/env bash
# Builds everything in BUILD with JOBS jobs, printing only warnings and errors; fails if the build does.
set -uo pipefail
BUILD=${1:-build}
JOBS=${2:-$(nproc)}
cmake --build "$BUILD" -j "$JOBS" 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^-- |^g?make\[[0-9]+\]: (Entering|Leaving)'
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "build failed (cmake --build $BUILD exited $status)" >&2
  exit "$status"
fi
test -x "$BUILD/bin/strun" && test -x "$BUILD/bin/stpipe"
