#!/usr/bin/env bash
# Detector1 on a simulated 1 x 10 x 2048 x 2048 NIRCam exposure (uint16 Level1b raw file) through
# strun with the offline CRDS cache, measured in one run of this script:
#   - memory bandwidth (bench/membw_bench, in-place read+write on every core);
#   - per step: the kernel alone (bench/kernels_a_bench, kernels_b_bench: the same 2048^2 x 10
#     arrays in memory), its bandwidth bound (bytes the step must move / bandwidth) and the ratio;
#     and the whole step inside strun (median of RUNS), which adds reading its reference files;
#   - the pipeline total and peak RSS (/usr/bin/time -v), against the ramp's size in float32.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
RUNS=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BUILD/bin/stpipe" simulate --output-dir . --size 2048 2048 --nints 1 --ngroups 10 --seed 11 \
  --name big >/dev/null
export CRDS_PATH="$tmp/crds_cache"
"$BUILD/bench/membw_bench" --benchmark_format=json >membw.json 2>/dev/null
"$BUILD/bench/kernels_a_bench" --benchmark_format=json --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true >ka.json 2>/dev/null
"$BUILD/bench/kernels_b_bench" --benchmark_format=json >kb.json 2>/dev/null
for i in $(seq "$RUNS"); do
  /usr/bin/time -v "$BUILD/bin/strun" Detector1Pipeline big_uncal.fits --log-file="run$i.log" \
    --log-stream=null 2>"time$i.txt"
done
/usr/bin/python3 - "$RUNS" <<'PY'
import json, re, statistics, sys
runs = int(sys.argv[1])

def medians(path):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            out[b["run_name"]] = b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0}[b["time_unit"]]
    return out

bw = [b for b in json.load(open("membw.json"))["benchmarks"]
      if b.get("aggregate_name") == "median"][0]["bytes_per_second"] / 1e9
kern = {**medians("ka.json"), **medians("kb.json")}
bench_of = {"dq_init": "BM_dq_init/real_time", "saturation": "BM_saturation/1/real_time",
            "ipc": "BM_ipc/real_time", "superbias": "BM_superbias/real_time",
            "linearity": "BM_linearity/real_time", "dark_current": "BM_dark_current/real_time",
            "jump": "BM_Jump/iterations:3/repeats:5/real_time",
            "ramp_fit": "BM_RampFit/iterations:3/repeats:5/real_time"}
# MB each step must move at 2048^2 x 10 groups (specs/detector1-algorithms.md 5.2).
need = {"dq_init": 134, "saturation": 336, "ipc": 336, "superbias": 403, "linearity": 512,
        "dark_current": 554, "jump": 319, "ramp_fit": 445}
steps, total, rss = {}, [], []
for i in range(1, runs + 1):
    for line in open(f"run{i}.log"):
        m = re.search(r"stpipe\.Detector1Pipeline\.(\w+) - INFO - Step \w+ done \(([0-9.]+) s\)", line)
        if m:
            steps.setdefault(m.group(1), []).append(float(m.group(2)))
        m = re.search(r"stpipe\.Detector1Pipeline - INFO - Step Detector1Pipeline done \(([0-9.]+) s\)", line)
        if m:
            total.append(float(m.group(1)))
    t = open(f"time{i}.txt").read()
    rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)))
print(f"memory bandwidth (in-place read+write, same run): {bw:.1f} GB/s")
print(f"{'step':<13}{'kernel ms':>10}{'bound ms':>10}{'ratio':>7}{'step in strun ms':>18}")
ksum = ssum = 0.0
for step, mb in need.items():
    k = kern.get(bench_of[step], float("nan"))
    s = statistics.median(steps[step]) * 1000 if step in steps else float("nan")
    bound = mb / 1000 / bw * 1000
    ksum += k
    ssum += s
    print(f"{step:<13}{k:>10.1f}{bound:>10.1f}{k / bound:>7.1f}{s:>18.1f}")
print(f"{'sum':<13}{ksum:>10.1f}{'':>17}{ssum:>18.1f}")
print(f"pipeline total in strun (reading the raw file and every reference, writing rate and "
      f"rateints): {statistics.median(total) * 1000:.0f} ms (median of {runs})")
cube = 10 * 2048 * 2048 * 4 / 1e6
ramp = cube + 10 * 2048 * 2048 / 1e6 + 2048 * 2048 * 4 / 1e6  # + groupdq (u8) + pixeldq (u32)
sat = ramp + 3 * 2048 * 2048 * 4 / 1e6  # + saturation's threshold, its DQ and the superbias
med = statistics.median(rss) * 1024 / 1e6  # /usr/bin/time reports KiB; MB here are 10^6 bytes
print(f"peak RSS: {med:.0f} MB = {med / cube:.2f} x the ramp in float32 ({cube:.0f} MB); the ramp "
      f"with groupdq and pixeldq is {ramp:.0f} MB ({ramp / cube:.2f} x); with saturation's three "
      f"reference planes {sat:.0f} MB ({sat / cube:.2f} x)")
PY
