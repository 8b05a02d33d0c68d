"""Summaries printed by `make demo`: step times, rate image against truth, cosmic rays, guide star."""
import json
import re
import sys

import warnings

import numpy as np
from astropy.io import fits

warnings.filterwarnings("ignore", category=RuntimeWarning)


def step_times(log_path):
    rows = []
    for line in open(log_path):
        m = re.search(r" - stpipe\.\w+\.(\w+) - INFO - Step \w+ done \(([0-9.]+) s\)", line)
        if m:
            rows.append((m.group(1), float(m.group(2))))
        m = re.search(r" - stpipe\.(\w+) - INFO - Step \w+ done \(([0-9.]+) s\)", line)
        if m and "." not in m.group(1):
            rows.append(("total (" + m.group(1) + ")", float(m.group(2))))
    return rows


def detector1(log_path, truth_json, truth_rate, rate_path, ramp_path):
    print("  steps run:")
    for name, t in step_times(log_path):
        print(f"    {name:<28s} {t * 1000:8.1f} ms")
    truth = json.load(open(truth_json))
    with fits.open(truth_rate) as t, fits.open(rate_path) as r:
        true = t["SCI"].data.astype(np.float64)
        rate = r["SCI"].data.astype(np.float64)
        err = r["ERR"].data.astype(np.float64)
        dq = r["DQ"].data
    good = (dq & 1 == 0) & np.isfinite(rate) & (err > 0)
    z = (rate[good] - true[good]) / err[good]
    print(f"  rate image vs truth ({good.sum()} good pixels of {rate.size}):")
    print(f"    median (rate - truth)/sigma = {np.median(z):+.3f}")
    print(f"    fraction within 3 sigma     = {np.mean(np.abs(z) < 3):.4f}  (Gaussian: 0.9973)")
    with fits.open(ramp_path) as ramp:
        gdq = ramp["GROUPDQ"].data
    crs = truth["cosmic_rays"]
    found = sum(1 for c in crs if gdq[c["integration"], c["group"], c["y"], c["x"]] & 4)
    big = [c for c in crs if c["amplitude"] >= 200]
    found_big = sum(1 for c in big if gdq[c["integration"], c["group"], c["y"], c["x"]] & 4)
    flagged = int(np.count_nonzero(gdq & 4))
    print(f"  cosmic rays: {found} of {len(crs)} injected hits flagged JUMP_DET at their group "
          f"({found_big} of {len(big)} above 200 DN); {flagged} group-pixels flagged in all "
          "(hits plus their 4 neighbours)")
    print(f"  saturated pixels in the truth: {truth['saturated_pixels']}")
    print(f"  outputs: {rate_path}, {rate_path.replace('_rate', '_rateints')}, {ramp_path}")


def guider(log_path, cal_path):
    for name, t in step_times(log_path):
        print(f"    {name:<28s} {t * 1000:8.1f} ms")
    with fits.open(cal_path) as f:
        data = f["SCI"].data.astype(np.float64)
        err = f["ERR"].data.astype(np.float64)
        hdr = f[0].header
    img = np.nanmedian(data, axis=0) if data.ndim == 3 else data
    y, x = np.unravel_index(np.nanargmax(img), img.shape)
    win = img[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4]
    yy, xx = np.mgrid[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4]
    w = np.clip(win - np.nanmedian(img), 0, None)
    cy, cx = (w * yy).sum() / w.sum(), (w * xx).sum() / w.sum()
    xs, ys = hdr.get("SUBSTRT1", 1), hdr.get("SUBSTRT2", 1)
    print(f"  guide star: subarray pixel (x, y) = ({cx:.2f}, {cy:.2f}), full-frame "
          f"({cx + xs:.2f}, {cy + ys:.2f}) (1-based start {xs}, {ys}); peak {img[y, x]:.1f} DN/s "
          f"in a {img.shape[1]}x{img.shape[0]} image of {data.shape[0] if data.ndim == 3 else 1} integration(s)")
    e = err[:, y, x] if err.ndim == 3 else err[y, x]
    print(f"  ERR at the peak {np.nanmedian(e):.1f} DN/s (S/N {img[y, x] / np.nanmedian(e):.0f}); "
          f"median ERR of the image {np.nanmedian(err):.1f} DN/s")
    print(f"  output: {cal_path}")


if __name__ == "__main__":
    if sys.argv[1] == "detector1":
        detector1(*sys.argv[2:7])
    else:
        guider(sys.argv[2], sys.argv[3])
