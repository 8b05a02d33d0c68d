"""Binding tests on the main job: Detector1 from Python equals strun; single steps on a model in
memory; a model edited in numpy between steps."""
import os
import pathlib
import subprocess

import numpy as np
import pytest
from astropy.io import fits

BUILD = pathlib.Path(os.environ.get("STPIPE_BUILD_DIR", "build")).resolve()
STPIPE = BUILD / "bin" / "stpipe"
STRUN = BUILD / "bin" / "strun"

pytestmark = pytest.mark.skipif(not STRUN.exists(), reason="strun is not built")

sp = pytest.importorskip("stpipe_cpp")
from stpipe_cpp import models  # noqa: E402


@pytest.fixture(scope="module")
def exposure(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim")
    subprocess.run([str(STPIPE), "simulate", "--output-dir", str(d), "--size", "64", "64",
                    "--ngroups", "6", "--seed", "9", "--name", "e"], check=True,
                   capture_output=True)
    old = os.environ.get("CRDS_PATH")
    os.environ["CRDS_PATH"] = str(d / "crds_cache")
    yield d
    if old is None:
        os.environ.pop("CRDS_PATH", None)
    else:
        os.environ["CRDS_PATH"] = old


def rate_arrays(path):
    with fits.open(path) as f:
        return {n: f[n].data.copy() for n in ("SCI", "DQ", "ERR", "VAR_POISSON", "VAR_RNOISE")}


def test_detector1_from_python_equals_strun(exposure, tmp_path):
    from stpipe_cpp.pipelines import Detector1Pipeline
    env = dict(os.environ, CRDS_PATH=str(exposure / "crds_cache"))
    subprocess.run([str(STRUN), "Detector1Pipeline", str(exposure / "e_uncal.fits"),
                    f"--output_dir={tmp_path / 's'}", "--steps.jump.rejection_threshold=5",
                    "--log-stream=null"], check=True, env=env, capture_output=True)
    result = Detector1Pipeline.call(str(exposure / "e_uncal.fits"), save_results=True,
                                    output_dir=str(tmp_path / "p"),
                                    steps={"jump": {"rejection_threshold": 5}})
    assert result.meta.cal_step.ramp_fit == "COMPLETE"
    assert result.meta.ref_file.gain.name.startswith("crds://")
    a, b = rate_arrays(tmp_path / "s" / "e_rate.fits"), rate_arrays(tmp_path / "p" / "e_rate.fits")
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name
    assert np.array_equal(np.asarray(result.data), a["SCI"], equal_nan=True)


def test_steps_on_a_model_in_memory(exposure, tmp_path):
    from stpipe_cpp.steps import JumpStep, RampFitStep
    from stpipe_cpp.pipelines import Detector1Pipeline
    # Run up to dark_current without saving, in memory.
    m = models.open(str(exposure / "e_uncal.fits"))
    ramp = Detector1Pipeline.call(m, steps={"jump": {"skip": True}, "ramp_fit": {"skip": True}})
    assert ramp.meta.cal_step.jump == "SKIPPED"
    before = np.array(ramp.groupdq, copy=True)
    # A cosmic ray added with numpy reaches the C++ model and is found by jump.
    ramp.data[0, 3:, 10, 10] += 5000.0
    j = JumpStep.call(ramp, rejection_threshold=4.5)
    assert j.groupdq[0, 3, 10, 10] & 4
    assert not (before[0, 3, 10, 10] & 4)
    rate = RampFitStep.call(j, save_results=True, output_dir=str(tmp_path))
    assert rate.data.shape == (64, 64)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["e_rampfitstep.fits"], written
    assert np.array_equal(rate_arrays(tmp_path / "e_rampfitstep.fits")["SCI"], np.asarray(rate.data),
                          equal_nan=True)


FGS_RAW = (pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "jwst" / "raw"
           / "jw01019001001_gs-acq1_2022117003102_uncal.fits")


@pytest.mark.skipif(not FGS_RAW.exists(), reason="../shared/data absent")
@pytest.mark.parametrize("refs", [False, True])
def test_guider_cds_err_equals_jwst_numpy(tmp_path, refs):
    """guider_cds on the real FGS ACQ1 exposure: rates and ERR equal jwst's numpy expressions,
    evaluated here in float32 as jwst does, with its default gain and read noise (no reference
    can be had) or with GAIN and READNOISE references."""
    from stpipe_cpp.steps import GuiderCdsStep
    with fits.open(FGS_RAW) as f:
        raw = f["SCI"].data.astype(np.float32)
        gt = f["SCI"].header.get("TGROUP", f[0].header.get("TGROUP"))
    shape = raw.shape[2:]
    params = {}
    if refs:
        rng = np.random.default_rng(3)
        gain = (1.5 + rng.random(shape)).astype(np.float32)
        rn = (8.0 + 10.0 * rng.random(shape)).astype(np.float32)
        for name, model, arr in (("gain", models.GainModel, gain),
                                 ("readnoise", models.ReadnoiseModel, rn)):
            m = model()
            m.data = arr
            m.meta.subarray.xstart, m.meta.subarray.ystart = 887, 1022
            m.save(str(tmp_path / f"{name}.fits"))
            params[f"override_{name}"] = str(tmp_path / f"{name}.fits")
    else:
        gain = np.zeros(shape, dtype=np.float32) + 1.9713863
        rn = np.zeros(shape, dtype=np.float32) + 21.0
    out = GuiderCdsStep.call(str(FGS_RAW), **params)
    diff = raw[:, 1] - raw[:, 0]
    var_rn = 2 * (rn / gt) ** 2
    var_pn = diff / (gain * gt)
    var_pn[var_pn < 0] = 0.0
    want_err = (var_rn + var_pn) ** 0.5
    assert np.asarray(out.err).dtype == np.float32
    assert np.array_equal(np.asarray(out.data), diff / gt)
    assert np.array_equal(np.asarray(out.err), want_err)
    assert (np.asarray(out.err) > 0).all()
