#!/usr/bin/env bash
# 16 simulated 1 x 10 x 512 x 512 exposures through Detector1Pipeline, in one run of this script:
# one exposure alone (strun, in-process), the batch sequentially (strun @list -j 1), with -j 2,
# and on a Dask LocalCluster of 2 worker processes (stpipe_cpp.batch.run); medians of RUNS.
# Peak memory per process from /usr/bin/time -v (for a batch: the largest strun process).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
RUNS=${2:-3}
N=16
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
for i in $(seq $N); do
  "$BUILD/bin/stpipe" simulate --output-dir . --size 512 512 --nints 1 --ngroups 10 --seed "$i" \
    --name "x$i" --crds-cache ./crds >/dev/null
  echo "x${i}_uncal.fits" >>list.txt
done
export CRDS_PATH="$tmp/crds" STPIPE_STRUN="$BUILD/bin/strun"
export PYTHONPATH="$BUILD/python${PYTHONPATH:+:$PYTHONPATH}"
timed() {  # label command...: appends "label seconds maxrss_kb" to times.txt
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o t.txt "$@" >/dev/null 2>run.err || { cat run.err; exit 1; }
  echo "$label $(cat t.txt)" >>times.txt
}
for r in $(seq "$RUNS"); do
  rm -rf o1 oseq oj2
  timed single "$BUILD/bin/strun" Detector1Pipeline x1_uncal.fits --output_dir=o1 --log-stream=null
  timed seq "$BUILD/bin/strun" Detector1Pipeline @list.txt -j 1 --output_dir=oseq
  timed j2 "$BUILD/bin/strun" Detector1Pipeline @list.txt -j 2 --output_dir=oj2
done
# Dask's worker processes re-import the main module: it must be a file, run under __main__.
cat >bench_dask.py <<'PY'
import os, statistics, sys, time
from dask.distributed import Client, LocalCluster
from stpipe_cpp import batch


def main():
  runs, n = int(sys.argv[1]), int(sys.argv[2])
  t0 = time.perf_counter()
  cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
  client = Client(cluster)
  startup = time.perf_counter() - t0
  files = [f"x{i}_uncal.fits" for i in range(1, n + 1)]
  dask_t = []
  for r in range(runs):
      t0 = time.perf_counter()
      res = batch.run("Detector1Pipeline", files, client=client, output_dir=f"odask{r}")
      dask_t.append(time.perf_counter() - t0)
      assert all(x["status"] == "ok" for x in res), res
  client.close()
  cluster.close()
  rows = {}
  for line in open("times.txt"):
      label, sec, kb = line.split()
      rows.setdefault(label, []).append((float(sec), int(kb)))
  med = lambda label: statistics.median(s for s, _ in rows[label])
  rss = lambda label: statistics.median(k for _, k in rows[label]) / 1000
  single, seq, j2, dk = med("single"), med("seq"), med("j2"), statistics.median(dask_t)
  print(f"{n} exposures of 1 x 10 x 512 x 512 (Detector1Pipeline), {os.cpu_count()} cores, "
        f"median of {runs}")
  print(f"{'engine':<34}{'wall s':>8}{'speed-up':>10}{'per exposure s':>16}{'overhead ms':>13}")
  print(f"{'one exposure alone (in-process)':<34}{single:>8.2f}{'':>10}{single:>16.3f}{'':>13}")
  for label, t, width in (("strun @list -j 1 (processes)", seq, 1),
                          ("strun @list -j 2 (processes)", j2, 2),
                          ("Dask LocalCluster, 2 workers", dk, 2)):
      per = t * width / n  # busy time of one slot per exposure
      print(f"{label:<34}{t:>8.2f}{seq / t:>10.2f}{t / n:>16.3f}{(per - single) * 1000:>13.0f}")
  print(f"peak RSS per process: one exposure {rss('single'):.0f} MB; -j 1 batch {rss('seq'):.0f} MB; "
        f"-j 2 batch {rss('j2'):.0f} MB (largest strun process)")
  print(f"Dask cluster start (not in the times above): {startup:.2f} s")
  print("overhead = wall x slots / exposures - one exposure alone: what the engine adds to each")


if __name__ == "__main__":
  main()
PY
/usr/bin/python3 bench_dask.py "$RUNS" "$N"
