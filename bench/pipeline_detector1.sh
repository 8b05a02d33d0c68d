#!/usr/bin/env bash
# Detector1 on a simulated 1 x 10 x 2048 x 2048 NIRCam exposure through strun, offline CRDS cache:
# per-step median time over RUNS runs, the step's memory-bandwidth bound from the bandwidth
# measured in the same run (bench/membw_bench), the ratio, and peak RSS from /usr/bin/time -v.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
RUNS=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BUILD/bin/stpipe" simulate --output-dir . --size 2048 2048 --nints 1 --ngroups 10 --seed 11 \
  --name big >/dev/null
export CRDS_PATH="$tmp/crds_cache"
bw=$("$BUILD/bench/membw_bench" --benchmark_format=json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print([b for b in d["benchmarks"] if b["name"].endswith("_median")][0]["bytes_per_second"] / 1e9)')
for i in $(seq "$RUNS"); do
  /usr/bin/time -v "$BUILD/bin/strun" Detector1Pipeline big_uncal.fits --log-file="run$i.log" \
    --log-stream=null 2>"time$i.txt"
done
/usr/bin/python3 - "$bw" "$RUNS" <<'PY'
import re, statistics, sys
bw, runs = float(sys.argv[1]), int(sys.argv[2])
# MB each step must move at 2048^2 x 10 groups (specs/detector1-algorithms.md 5.2).
need = {"dq_init": 134, "saturation": 336, "ipc": 336, "superbias": 403, "linearity": 512,
        "dark_current": 554, "jump": 319, "ramp_fit": 445}
times, total, rss = {}, [], []
for i in range(1, runs + 1):
    for line in open(f"run{i}.log"):
        m = re.search(r"stpipe\.Detector1Pipeline\.(\w+) - INFO - Step \w+ done \(([0-9.]+) s\)", line)
        if m:
            times.setdefault(m.group(1), []).append(float(m.group(2)))
        m = re.search(r"stpipe\.Detector1Pipeline - INFO - Step Detector1Pipeline done \(([0-9.]+) s\)", line)
        if m:
            total.append(float(m.group(1)))
    t = open(f"time{i}.txt").read()
    rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)))
print(f"memory bandwidth (in-place read+write, same run): {bw:.1f} GB/s")
print(f"{'step':<14}{'median ms':>11}{'bound ms':>10}{'ratio':>8}")
steps_sum = 0.0
for step, mb in need.items():
    if step not in times:
        continue
    med = statistics.median(times[step]) * 1000
    steps_sum += med
    bound = mb / 1000 / bw * 1000
    print(f"{step:<14}{med:>11.1f}{bound:>10.1f}{med / bound:>8.1f}")
print(f"{'sum of steps':<14}{steps_sum:>11.1f}")
print(f"pipeline total (incl. reading the 2048^2 x 10 input and references, writing rate/rateints): "
      f"{statistics.median(total) * 1000:.0f} ms (median of {runs})")
cube_mb = 10 * 2048 * 2048 * 4 / 1e6
print(f"peak RSS: {statistics.median(rss) / 1000:.0f} MB (input ramp in float32: {cube_mb:.0f} MB, "
      f"ratio {statistics.median(rss) / 1000 / cube_mb:.2f})")
PY
