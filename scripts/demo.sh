#!/usr/bin/env bash
# make demo: runs the main job on the embedded default through strun and prints a summary.
set -euo pipefail
BUILD=${1:-build}
HERE="$(cd "$(dirname "$0")" && pwd)"
BIN="$(cd "$BUILD" && pwd)/bin"
OUT=${DEMO_OUT:-$(pwd)/demo_out}
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"

if "$BIN/stpipe" list Detector1Pipeline 2>/dev/null | grep -q Detector1Pipeline && \
   "$BIN/stpipe" simulate --help >/dev/null 2>&1; then
  exec bash "$HERE/demo_detector1.sh" "$BIN" "$OUT"
fi

# Bootstrap demo (framework only): a small linear pipeline on a small JSON exposure.
echo '{"meta": {"instrument": {"name": "DEMO"}}, "data": [1.0, 2.0, 3.0, 4.0]}' > demo_uncal.json
"$BIN/strun" calwebb_arithmetic demo_uncal.json --steps.multiply.factor=3 --log-file=demo.log \
  --log-stream=null
echo "stpipe-cpp demo: ArithmeticPipeline (add, multiply, offset) on demo_uncal.json"
grep -E "Step (add|multiply|offset) done" demo.log | sed -E 's/.* - (stpipe[^ ]*) - INFO - /  /'
echo "  output: $OUT/demo_arithmeticpipeline.json"
python3 -c "import json;d=json.load(open('demo_arithmeticpipeline.json'));print('  data:', d['data']);print('  cal_step:', d['meta']['cal_step'])" 2>/dev/null || cat demo_arithmeticpipeline.json
