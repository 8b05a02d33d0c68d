#!/usr/bin/env bash
# Model I/O on a 1 x 10 x 2048 x 2048 raw exposure (Level1b, uint16 on disk): open it as a
# RampModel (float32 in memory) and save that (float32 on disk); MB/s against `cat FILE >
# /dev/null` and `dd` writing the same number of bytes, measured in the same run, and peak
# memory (/usr/bin/time -v) against the array's bytes. Medians of RUNS. The files sit in the
# page cache (warm), for us and for cat alike; writes are compared with dd both without and
# with fsync, and our save does no fsync (atomic rename only), so compare with the first.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
RUNS=${2:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BUILD/bin/stpipe" simulate --output-dir . --size 2048 2048 --nints 1 --ngroups 10 --seed 3 \
  --name io >/dev/null
IN=io_uncal.fits
cat "$IN" >/dev/null  # warm the cache
for r in $(seq "$RUNS"); do
  s=$(date +%s%N); cat "$IN" >/dev/null; e=$(date +%s%N)
  echo "cat $(((e - s) / 1000))e-6" >>t.txt
  /usr/bin/time -f "%M" -o m.txt "$BUILD/bench/model_io" open "$IN" >o.txt
  echo "open $(cut -d' ' -f1 o.txt) $(cat m.txt) $(cut -d' ' -f2 o.txt)" >>t.txt
  rm -f out.fits
  /usr/bin/time -f "%M" -o m.txt "$BUILD/bench/model_io" save "$IN" out.fits >o.txt
  echo "save $(cut -d' ' -f1 o.txt) $(cat m.txt) $(stat -c %s out.fits)" >>t.txt
  bytes=$(stat -c %s out.fits)
  s=$(date +%s%N); dd if=/dev/zero of=dd.bin bs=1M count=$((bytes / 1048576)) 2>/dev/null
  e=$(date +%s%N); echo "dd $(((e - s) / 1000))e-6" >>t.txt; rm -f dd.bin
  s=$(date +%s%N); dd if=/dev/zero of=dd.bin bs=1M count=$((bytes / 1048576)) conv=fsync \
    2>/dev/null
  e=$(date +%s%N); echo "ddsync $(((e - s) / 1000))e-6" >>t.txt; rm -f dd.bin
done
/usr/bin/python3 - "$(stat -c %s "$IN")" <<'PY'
import statistics, sys
in_bytes = int(sys.argv[1])
rows = {}
for line in open("t.txt"):
    k, *v = line.split()
    rows.setdefault(k, []).append([float(x) for x in v])
med = lambda k, i=0: statistics.median(r[i] for r in rows[k])
out_bytes = med("save", 2)
array = med("open", 2)
cat_mb = in_bytes / med("cat") / 1e6
dd_mb = out_bytes / med("dd") / 1e6
dds_mb = out_bytes / med("ddsync") / 1e6
open_mb = in_bytes / med("open") / 1e6
save_mb = out_bytes / med("save") / 1e6
print(f"input {in_bytes / 1e6:.0f} MB uint16 FITS; array in memory {array / 1e6:.0f} MB float32; "
      f"output {out_bytes / 1e6:.0f} MB float32 FITS (medians of {len(rows['open'])})")
print(f"open: {med('open'):.3f} s = {open_mb:.0f} MB/s of file; cat {cat_mb:.0f} MB/s -> "
      f"{open_mb / cat_mb * 100:.0f}%; peak RSS {med('open', 1) / 1000:.0f} MB = "
      f"{med('open', 1) * 1000 / array:.2f} x the array")
print(f"save: {med('save'):.3f} s = {save_mb:.0f} MB/s; dd {dd_mb:.0f} MB/s -> "
      f"{save_mb / dd_mb * 100:.0f}% (dd with fsync {dds_mb:.0f} MB/s); peak RSS "
      f"{med('save', 1) / 1000:.0f} MB = {med('save', 1) * 1000 / array:.2f} x the array")
PY
