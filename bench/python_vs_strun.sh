#!/usr/bin/env bash
# Detector1 on the same simulated exposure from strun and from Python (stpipe_cpp): the rate
# products must be identical; reports the median wall time of RUNS runs of each.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
RUNS=${2:-5}
SIZE=${SIZE:-1024}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BUILD/bin/stpipe" simulate --output-dir . --size "$SIZE" "$SIZE" --ngroups 10 --seed 5 --name e >/dev/null
export CRDS_PATH="$tmp/crds_cache"
mkdir -p s p
ts=()
for i in $(seq "$RUNS"); do
  t0=$(date +%s%N)
  "$BUILD/bin/strun" Detector1Pipeline e_uncal.fits --output_dir=s --log-stream=null
  t1=$(date +%s%N)
  ts+=($(( (t1 - t0) / 1000000 )))
done
PYTHONPATH="$BUILD/python" /usr/bin/python3 - "$RUNS" "${ts[@]}" <<'PY'
import statistics, sys, time
import numpy as np
from astropy.io import fits
import stpipe_cpp as sp
from stpipe_cpp.pipelines import Detector1Pipeline
runs = int(sys.argv[1]); strun_ms = [int(x) for x in sys.argv[2:]]
py_ms = []
for _ in range(runs):
    t0 = time.perf_counter()
    Detector1Pipeline.call("e_uncal.fits", save_results=True, output_dir="p")
    py_ms.append((time.perf_counter() - t0) * 1000)
with fits.open("s/e_rate.fits") as a, fits.open("p/e_rate.fits") as b:
    same = all(np.array_equal(a[n].data, b[n].data, equal_nan=True)
               for n in ("SCI", "DQ", "ERR", "VAR_POISSON", "VAR_RNOISE"))
ms, mp = statistics.median(strun_ms), statistics.median(py_ms)
print(f"Detector1 on 1 x 10 x {fits.getval('e_uncal.fits', 'NAXIS1', 1)}^2: strun {ms:.0f} ms, "
      f"Python {mp:.0f} ms (median of {runs}); Python/strun = {mp / ms:.3f}; "
      f"rate products identical: {same}")
PY
