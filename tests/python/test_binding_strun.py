"""Binding tests: strun (C++, no Python linked) runs Python steps by dotted path and Python hooks
through libstpipe_python_bridge.so."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

BUILD = pathlib.Path(os.environ.get("STPIPE_BUILD_DIR", "build")).resolve()
STRUN = BUILD / "bin" / "strun"
BRIDGE = BUILD / "lib" / "libstpipe_python_bridge.so"

pytestmark = pytest.mark.skipif(not (STRUN.exists() and BRIDGE.exists()), reason="strun or the bridge is not built")

MODULE = '''
import stpipe_cpp as sp
from stpipe_cpp import models


class TripleStep(sp.Step):
    """Triple the data."""
    spec = """
    factor = float(default=3.0)  # multiplier
    """

    def process(self, input):
        im = models.open(input)
        im.data = [v * self.factor for v in im.data]
        self.log.info("tripled with %s", self.factor)
        return im


class TriplePipeline(sp.Pipeline):
    step_defs = {"triple": TripleStep, "add": "AddStep"}


class BrokenStep(sp.Step):
    def process(self, input):
        raise ValueError("broken on purpose")


class ModelTripleStep(sp.Step):
    def process(self, input):
        with models.open(input) as im:
            im.data *= 3
            im.meta.instrument.detector = "NRCB1"
            return im


def negate(model):
    model.data = [-v for v in model.data]
    return model
'''


def run_strun(tmp_path, *args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(BUILD / "python")])
    return subprocess.run([str(STRUN), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "pystrun_mod.py").write_text(MODULE)
    (tmp_path / "exp_uncal.json").write_text(json.dumps({"meta": {}, "data": [1.0, 2.0]}))
    return tmp_path


def test_strun_python_step_by_dotted_path(workdir):
    r = run_strun(workdir, "pystrun_mod.TripleStep", "exp_uncal.json", "--factor=4")
    assert r.returncode == 0, r.stderr
    out = json.loads((workdir / "exp_triplestep.json").read_text())
    assert out["data"] == [4.0, 8.0]
    # the Python step logged through strun's C++ handlers, once, in stpipe's format
    lines = [l for l in r.stderr.splitlines() if "tripled with 4.0" in l]
    assert len(lines) == 1 and " - stpipe.TripleStep - INFO - " in lines[0]


def test_strun_python_step_with_explicit_plugin(workdir):
    r = run_strun(workdir, "--plugin", str(BRIDGE), "pystrun_mod.TripleStep", "exp_uncal.json")
    assert r.returncode == 0, r.stderr
    assert json.loads((workdir / "exp_triplestep.json").read_text())["data"] == [3.0, 6.0]


def test_strun_python_function_hook(workdir):
    r = run_strun(workdir, "MultiplyStep", "exp_uncal.json", "--post_hooks=pystrun_mod.negate,")
    assert r.returncode == 0, r.stderr
    assert json.loads((workdir / "exp_multiplystep.json").read_text())["data"] == [-2.0, -4.0]


def test_strun_python_step_errors(workdir):
    r = run_strun(workdir, "pystrun_mod.TripleStep", "exp_uncal.json", "--factor=abc")
    assert r.returncode == 2
    assert "Config parameter 'factor'" in r.stderr
    r = run_strun(workdir, "pystrun_mod.NoSuchStep", "exp_uncal.json")
    assert r.returncode == 2


def test_strun_python_pipeline_with_substep_parameters(workdir):
    r = run_strun(workdir, "pystrun_mod.TriplePipeline", "exp_uncal.json", "--steps.triple.factor=10",
                  "--steps.add.value=0.5")
    assert r.returncode == 0, r.stderr
    assert json.loads((workdir / "exp_triplepipeline.json").read_text())["data"] == [10.5, 20.5]
    assert "stpipe.TriplePipeline.triple - INFO - tripled with 10.0" in r.stderr


def test_strun_python_exception_exit_code(workdir):
    r = run_strun(workdir, "pystrun_mod.BrokenStep", "exp_uncal.json")
    assert r.returncode == 1
    assert "broken on purpose" in r.stderr


def test_strun_python_step_on_a_fits_model(workdir):
    import numpy as np
    from stpipe_cpp import models

    m = models.RampModel()
    m.data = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4)
    m.meta.instrument.name = "NIRCAM"
    m.save(workdir / "ramp_uncal.fits")
    r = run_strun(workdir, "pystrun_mod.ModelTripleStep", "ramp_uncal.fits")
    assert r.returncode == 0, r.stderr
    out = models.open(workdir / "ramp_modeltriplestep.fits")
    np.testing.assert_array_equal(out.data, m.data * 3)
    assert out.meta.instrument.detector == "NRCB1" and out.meta.instrument.name == "NIRCAM"
