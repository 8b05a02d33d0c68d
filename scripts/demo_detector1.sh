#!/usr/bin/env bash
# make demo, main job: simulate a NIRCam exposure with known truth (and its reference files in a
# CRDS-style cache), run Detector1Pipeline on it through strun offline, compare with the truth;
# then run the real FGS exposure from ../shared through GuiderPipeline.
set -euo pipefail
BIN=$1
OUT=$2
PY=/usr/bin/python3
HERE="$(cd "$(dirname "$0")" && pwd)"
SIZE=${DEMO_SIZE:-1024}

mkdir -p "$OUT/nircam"
cd "$OUT/nircam"
"$BIN/stpipe" simulate --output-dir . --instrument NIRCAM --detector NRCA1 --size "$SIZE" "$SIZE" \
  --nints 1 --ngroups 10 --sources 60 --seed 2026 --name demo >simulate.log
export CRDS_PATH="$OUT/nircam/crds_cache"
unset CRDS_SERVER_URL CRDS_CONTEXT
t0=$(date +%s%N)
"$BIN/strun" Detector1Pipeline demo_uncal.fits --save_calibrated_ramp=True \
  --log-file=detector1.log --log-stream=null
t1=$(date +%s%N)
echo "stpipe-cpp demo: Detector1Pipeline on a simulated NIRCam NRCA1 exposure (1 x 10 x $SIZE x $SIZE), offline CRDS cache"
echo "  strun wall time: $(( (t1 - t0) / 1000000 )) ms"
"$PY" "$HERE/demo_summary.py" detector1 detector1.log demo_truth.json demo_truth_rate.fits \
  demo_rate.fits demo_ramp.fits

RAW="$HERE/../../shared/data/jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits"
if [ -f "$RAW" ]; then
  mkdir -p "$OUT/fgs"
  cd "$OUT/fgs"
  # No real FGS mask, flat, gain or read noise is at hand: the simulator makes full-frame ones
  # for GUIDER2.
  "$BIN/stpipe" simulate --output-dir refs --instrument FGS --detector GUIDER2 --size 128 128 \
    --nints 1 --ngroups 2 --seed 7 --full-frame-refs >simulate.log
  R=refs/crds_cache/references/jwst/fgs
  "$BIN/strun" GuiderPipeline "$RAW" --steps.dq_init.override_mask="$(ls $R/*mask*)" \
    --steps.flat_field.override_flat="$(ls $R/*flat*)" \
    --steps.guider_cds.override_gain="$(ls $R/*gain*)" \
    --steps.guider_cds.override_readnoise="$(ls $R/*readnoise*)" --log-file=guider.log \
    --log-stream=null
  echo
  echo "GuiderPipeline on the real FGS exposure $(basename "$RAW")"
  "$PY" "$HERE/demo_summary.py" guider guider.log "$OUT/fgs/"*_cal.fits
else
  echo "(../shared/data absent: the real FGS exposure is skipped)"
fi
echo
echo "outputs in $OUT"
