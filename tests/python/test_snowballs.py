"""Snowball flagging (JumpStep expand_large_events) against an independent reference built on
scikit-image, the library stcal uses: label/regionprops for the regions and their moment
ellipses, draw.ellipse for the filled ellipses. The stcal algorithm is written out here from
its description; groupdq must agree except on pixels that lie on an ellipse boundary to within
1e-9, where the result hangs on the last bits of numpy's sin/cos and of BLAS-summed moments
(and so differs between numpy builds in jwst too)."""
import math
import os
import pathlib
import sys

import numpy as np
import pytest

skimage = pytest.importorskip("skimage")
from skimage import draw, measure  # noqa: E402

sp = pytest.importorskip("stpipe_cpp")
from stpipe_cpp import models  # noqa: E402
from stpipe_cpp.steps import JumpStep  # noqa: E402

SAT, JUMP, DNU = 2, 4, 1
GROUP_TIME = 10.73677


def make_gdq(seed, nints=2, ngroups=6, ny=420, nx=440, spacing=105):
    """Jump regions around (mostly) saturated cores, new in some group, plus isolated jumps.
    Events sit on a jittered grid, far enough apart that one event's grown ellipses never reach
    another's regions (a boundary pixel decided differently then stays a single pixel)."""
    rng = np.random.default_rng(seed)
    gdq = np.zeros((nints, ngroups, ny, nx), dtype=np.uint8)
    yy, xx = np.mgrid[0:ny, 0:nx]
    for i in range(nints):
        for cy0 in range(0, ny + 1, spacing):
            for cx0 in range(0, nx + 1, spacing):
                cy, cx = cy0 + rng.uniform(-8, 8), cx0 + rng.uniform(-8, 8)
                g0 = int(rng.integers(1, ngroups))
                ang = rng.uniform(0, np.pi)
                u = (yy - cy) * np.cos(ang) + (xx - cx) * np.sin(ang)
                v = -(yy - cy) * np.sin(ang) + (xx - cx) * np.cos(ang)
                a, b, ring = rng.uniform(0.5, 7), rng.uniform(0.5, 7), rng.uniform(1.5, 3.5)
                gdq[i, g0][((u / (a * ring)) ** 2 + (v / (b * ring)) ** 2 < 1)
                           & (rng.random((ny, nx)) < 0.9)] |= JUMP
                if rng.random() < 0.75:  # most have a saturated core
                    core = ((u / a) ** 2 + (v / b) ** 2 < 1) & (rng.random((ny, nx)) < 0.95)
                    gdq[i, g0:][:, core] |= SAT
        gdq[i][rng.random((ngroups, ny, nx)) < 0.002] |= JUMP
        gdq[i][rng.random((ngroups, ny, nx)) < 0.0005] |= DNU
    for flag in (SAT, DNU):  # the two-point step leaves no JUMP on SAT or DNU groups
        both = (gdq & (flag | JUMP)) == (flag | JUMP)
        gdq[both] ^= JUMP
    gdq[:, 0] &= ~np.uint8(JUMP)
    return gdq


def regions(mask, min_area):
    """((col, row), (minor - 1, major - 1), degrees) of the 8-connected regions, as stcal."""
    out = []
    for r in measure.regionprops(measure.label(mask)):
        if r.area_filled < min_area:
            continue
        a, b, _, c = r.inertia_tensor.flat
        if a - c == 0:  # scikit-image >= 0.21 (which stcal requires)
            orient = math.pi / 4 if b < 0 else -math.pi / 4
        else:
            orient = 0.5 * math.atan2(-2 * b, c - a)
        out.append(((r.centroid[1], r.centroid[0]),
                    (r.axis_minor_length - 1, r.axis_major_length - 1), np.degrees(orient)))
    return out


def ellipse_pixels(shape, e, ax1, ax2, ambiguous):
    """The filled ellipse stcal draws (ellipse_subim); marks near-boundary pixels ambiguous."""
    (col, row), _, deg = e
    yc, xc = round(col), round(row)
    r1, r2 = round(ax1 / 2), round(ax2 / 2)
    dn = max(r1, r2) + 2
    x0, x1 = max(yc - dn, 0), min(yc + dn + 1, shape[1])
    y0, y1 = max(xc - dn, 0), min(xc + dn + 1, shape[0])
    mask = np.zeros(shape, dtype=bool)
    if r1 == 0 or r2 == 0 or y1 <= y0 or x1 <= x0:
        return mask
    rot = np.radians(deg)
    rr, cc = draw.ellipse(xc - y0, yc - x0, r2, r1, shape=(y1 - y0, x1 - x0), rotation=rot)
    mask[rr + y0, cc + x0] = True
    # The same distance, to find the pixels within 1e-9 of the boundary.
    rot %= np.pi
    gy, gx = np.mgrid[y0:y1, x0:x1]
    dr, dc = gy - float(xc), gx - float(yc)
    d = ((dr * math.cos(rot) + dc * math.sin(rot)) / r2) ** 2 + \
        ((dr * math.sin(rot) - dc * math.cos(rot)) / r1) ** 2
    ambiguous[y0:y1, x0:x1] |= np.abs(d - 1) < 1e-9
    return mask


def inside(point, e):
    (ec, er), (a1, a2), deg = e
    ang = np.radians(180 - deg)
    xc, yc = point[0] - ec, point[1] - er
    xt, yt = xc * math.cos(ang) - yc * math.sin(ang), xc * math.sin(ang) + yc * math.cos(ang)
    big, small = max(a1, a2) * 0.5, min(a1, a2) * 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        return xt ** 2 / big ** 2 + yt ** 2 / small ** 2 <= 1


def reference(gdq, expand=2.0, sat_expand=4, edge=25, max_width=400, min_sat=1.0, min_jump=5.0,
              min_radius=2.5):
    gdq = gdq.copy()
    nints, ngroups, ny, nx = gdq.shape
    persist = np.zeros((nints, ny, nx), dtype=np.uint8)
    ambiguous = np.zeros(gdq.shape, dtype=bool)
    hi = max(0, ny - edge)
    for i in range(nints):
        for g in range(1, ngroups):
            cur, prev = gdq[i, g], gdq[i, g - 1]
            sat = regions((cur & SAT) & ~(prev & SAT), min_sat)
            nsat = regions((gdq[i, g + 1] & SAT) & ~(cur & SAT), min_sat) if g + 1 < ngroups else []
            jumps = regions(cur & JUMP, min_jump)
            balls = [j for j in jumps
                     if j[0][0] < edge or j[0][1] < edge or j[0][0] > hi or j[0][1] > hi
                     or any(inside(s[0], j) for s in sat + nsat)]
            amb = np.zeros((ny, nx), dtype=bool)
            for s in sat:
                if min(s[1]) > min_radius:
                    m = ellipse_pixels((ny, nx), s, min(s[1][0] + sat_expand, max_width),
                                       min(s[1][1] + sat_expand, max_width), amb)
                    gdq[i, g:, m] = SAT
                    persist[i][ellipse_pixels((ny, nx), s, s[1][0], s[1][1], amb)] = JUMP
            for j in balls:
                a1, a2 = j[1]
                if a2 < a1:
                    x1, x2 = a1 + (expand - 1) * a2, a2 * expand
                else:
                    x1, x2 = a1 * expand, a2 + (expand - 1) * a1
                x1, x2 = round(min(x1, max_width) / 2) * 2, round(min(x2, max_width) / 2) * 2
                m = ellipse_pixels((ny, nx), j, x1, x2, amb) & ((gdq[i, g] & SAT) != SAT)
                gdq[i, g][m] |= JUMP
            ambiguous[i, g:] |= amb
    last = min(int(4000 // GROUP_TIME), ngroups)
    for i in range(1, nints):
        gdq[i, 1:last] |= persist[i - 1]
        ambiguous[i, 1:last] |= ambiguous[i - 1, 1:last].any(axis=0)
    return gdq, ambiguous


def run_jump_step(gdq, tmp_path):
    nints, ngroups, ny, nx = gdq.shape
    refs = {}
    for name, cls, v in (("gain", models.GainModel, 2.0), ("readnoise", models.ReadnoiseModel, 5.0)):
        m = cls()
        m.data = np.full((ny, nx), v, dtype=np.float32)
        m.save(str(tmp_path / f"{name}.fits"))
        refs[f"override_{name}"] = str(tmp_path / f"{name}.fits")
    m = models.RampModel()
    m.data = np.full(gdq.shape, 100.0, dtype=np.float32)  # flat ramps: no new jumps
    m.groupdq = gdq.copy()
    m.pixeldq = np.zeros((ny, nx), dtype=np.uint32)
    m.meta.instrument.name, m.meta.instrument.detector = "NIRCAM", "NRCA1"
    m.meta.exposure.ngroups, m.meta.exposure.nints = ngroups, nints
    m.meta.exposure.nframes, m.meta.exposure.groupgap = 1, 0
    m.meta.exposure.group_time = m.meta.exposure.frame_time = GROUP_TIME
    r = JumpStep.call(m, expand_large_events=True, flag_4_neighbors=False, **refs)
    return np.asarray(r.groupdq)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_snowballs_equal_the_scikit_image_reference(tmp_path, seed):
    gdq = make_gdq(seed)
    want, ambiguous = reference(gdq)
    got = run_jump_step(gdq, tmp_path)
    changed = int((want != gdq).sum())
    assert changed > 10000  # snowballs were found and drawn
    diff = got != want
    assert not (diff & ~ambiguous).any(), np.argwhere(diff & ~ambiguous)[:10]
    assert diff.sum() <= 0.005 * changed
    # Saturated cores were grown (SAT replaces the other bits) and persisted into integration 1.
    assert ((got[0] == SAT) & (gdq[0] != SAT)).any()
    assert ((got[1, 1] & JUMP) & ~(gdq[1, 1] & JUMP)).any()


def test_no_snowball_without_a_saturated_core(tmp_path):
    gdq = np.zeros((1, 5, 80, 80), dtype=np.uint8)
    yy, xx = np.mgrid[0:80, 0:80]
    gdq[0, 2][(yy - 40) ** 2 + (xx - 40) ** 2 < 36] = JUMP  # a jump disc, no saturation
    got = run_jump_step(gdq, tmp_path)
    assert np.array_equal(got, gdq)
    gdq[0, 2:][:, (yy - 40) ** 2 + (xx - 40) ** 2 < 4] = SAT  # now with a core
    gdq[0, 2][(gdq[0, 2] & SAT) != 0] = SAT
    got = run_jump_step(gdq, tmp_path)
    grown = (got[0, 2] & JUMP) != 0
    assert grown.sum() > ((gdq[0, 2] & JUMP) != 0).sum() * 2  # expanded by expand_factor 2
    assert not (got[0, 3] & JUMP).any()  # only the group of the event
