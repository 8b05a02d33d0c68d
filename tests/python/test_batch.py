"""Batches of exposures: strun with several inputs, @lists, -j N, --skip-existing, crashes;
stpipe_cpp.batch.run locally and on a Dask LocalCluster of 2 worker processes."""
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from batch_inputs import make_exposures  # noqa: E402

BUILD = pathlib.Path(os.environ.get("STPIPE_BUILD_DIR", "build")).resolve()
STPIPE = BUILD / "bin" / "stpipe"
STRUN = BUILD / "bin" / "strun"

pytestmark = pytest.mark.skipif(not STRUN.exists(), reason="strun is not built")


@pytest.fixture(scope="module")
def exposures(tmp_path_factory):
    """Three small simulated exposures sharing one CRDS cache, one non-FITS file, a list."""
    return make_exposures(STPIPE, tmp_path_factory.mktemp("batch"))


def strun(d, *args, env=None):
    e = dict(os.environ, CRDS_PATH=str(d / "crds"))
    e.update(env or {})
    return subprocess.run([str(STRUN), *args], cwd=d, capture_output=True, text=True, env=e)


def table_rows(stderr):
    """exposure -> (status, rest) from strun's final table."""
    rows, on = {}, False
    for line in stderr.splitlines():
        if line.startswith("exposure "):
            on = True
            continue
        if on and line and not re.match(r"(all \d+ succeeded|\d+ of \d+ failed)", line):
            parts = re.split(r"\s{2,}", line.strip())
            rows[parts[0]] = parts[1:]
    return rows


def test_list_with_two_jobs_one_bad_input(exposures):
    d = exposures
    r = strun(d, "Detector1Pipeline", "@list.txt", "-j", "2", "--output_dir=out")
    assert r.returncode == 3, r.stderr  # the bad file's exit code; the others succeeded
    assert "4 exposure(s), 2 at a time, 1 thread(s) each" in r.stderr
    rows = table_rows(r.stderr)
    assert [rows[f"e{i}_uncal.fits"][0] for i in (1, 2, 3)] == ["ok"] * 3
    assert rows["bad_uncal.fits"][0] == "FAILED (3)"
    assert "not a readable FITS file" in rows["bad_uncal.fits"][2]
    assert "1 of 4 failed" in r.stderr
    for i in (1, 2, 3):
        log = (d / "out" / f"e{i}_uncal.log").read_text()
        assert "Step Detector1Pipeline done" in log and "Step ramp_fit done" in log
        with fits.open(d / "out" / f"e{i}_rate.fits") as f:
            assert f["SCI"].data.shape == (64, 64)
        rec = json.loads((d / "out" / f"e{i}_uncal.batch.json").read_text())
        assert rec["status"] == "complete" and rec["class"] == "Detector1Pipeline"
        assert [pathlib.Path(o["path"]).name for o in rec["outputs"]] == [
            f"e{i}_rateints.fits", f"e{i}_rate.fits"]
    assert "ERROR RUNNING STEP" in (d / "out" / "bad_uncal.log").read_text()
    assert not (d / "out" / "bad_uncal.batch.json").exists()


def test_one_process_per_exposure_gets_its_thread_share(exposures):
    d = exposures
    r = strun(d, "Detector1Pipeline", "e1_uncal.fits", "e2_uncal.fits", "-j2", "--output_dir=t1",
              "--steps.dq_init.pre_hooks=echo OMP=$OMP_NUM_THREADS pid=$PPID,", env={
                  "OMP_NUM_THREADS": ""})
    assert r.returncode == 0, r.stderr
    logs = [(d / "t1" / f"e{i}_uncal.log").read_text() for i in (1, 2)]
    pids = {re.search(r"pid=(\d+)", log).group(1) for log in logs}
    assert len(pids) == 2  # separate processes
    ncores = os.cpu_count()
    for log in logs:
        assert f"OMP={max(1, ncores // 2)}" in log
    r = strun(d, "Detector1Pipeline", "e1_uncal.fits", "e2_uncal.fits", "-j2", "--output_dir=t2",
              "--threads-per-job", "3", "--steps.dq_init.pre_hooks=echo OMP=$OMP_NUM_THREADS,")
    assert r.returncode == 0 and "3 thread(s) each" in r.stderr
    assert "OMP=3" in (d / "t2" / "e1_uncal.log").read_text()


def test_skip_existing_resumes_and_reruns_changed_parameters(exposures):
    d = exposures
    args = ["Detector1Pipeline", "e1_uncal.fits", "e2_uncal.fits", "--output_dir=skip"]
    r = strun(d, *args)
    assert r.returncode == 0, r.stderr
    rate = d / "skip" / "e1_rate.fits"
    before = rate.stat().st_mtime_ns
    # An interrupted batch: e2's record is gone (it was running), e1's is complete.
    (d / "skip" / "e2_uncal.batch.json").unlink()
    r = strun(d, *args, "--skip-existing")
    assert r.returncode == 0, r.stderr
    assert "[skip] e1_uncal.fits" in r.stderr
    rows = table_rows(r.stderr)
    assert rows["e1_uncal.fits"][0] == "skipped" and rows["e2_uncal.fits"][0] == "ok"
    assert rate.stat().st_mtime_ns == before
    # A product changed behind the record's back: redone.
    os.utime(rate, ns=(before, before + 10**9))
    r = strun(d, *args, "--skip-existing")
    assert "product missing or changed" in r.stderr and table_rows(r.stderr)["e1_uncal.fits"][0] == "ok"
    # Other parameters: every exposure is redone.
    r = strun(d, *args, "--skip-existing", "--steps.jump.rejection_threshold=5")
    assert r.returncode == 0
    assert r.stderr.count("parameters differ") == 2
    assert table_rows(r.stderr)["e2_uncal.fits"][0] == "ok"


def test_a_crash_takes_down_only_its_exposure(exposures):
    d = exposures
    r = strun(d, "Detector1Pipeline", "e1_uncal.fits", "e2_uncal.fits", "--output_dir=crash",
              "--steps.ramp_fit.post_hooks=kill -SEGV $PPID,", "-j", "2")
    assert r.returncode == 1
    rows = table_rows(r.stderr)
    assert rows["e1_uncal.fits"][0] == "CRASHED"
    assert "killed by signal 11" in rows["e1_uncal.fits"][2]
    # The same batch without the hook: both fine.
    r = strun(d, "Detector1Pipeline", "e1_uncal.fits", "e2_uncal.fits", "--output_dir=crash")
    assert r.returncode == 0 and "all 2 succeeded" in r.stderr


def test_bad_lists_and_options(exposures):
    d = exposures
    r = strun(d, "Detector1Pipeline", "@missing.txt")
    assert r.returncode == 3 and "cannot read the input list 'missing.txt'" in r.stderr
    (d / "empty.txt").write_text("# nothing\n\n")
    r = strun(d, "Detector1Pipeline", "@empty.txt")
    assert r.returncode == 3 and "names no file" in r.stderr
    r = strun(d, "Detector1Pipeline", "e1_uncal.fits", "-j", "zero")
    assert r.returncode == 2 and "-j: expected a positive integer, got 'zero'" in r.stderr
    r = strun(d, "Detector1Pipeline", "e1_uncal.fits", "sub/e1_uncal.fits")
    assert r.returncode == 2 and "would write the same products and log" in r.stderr


def test_python_batch_local_and_dask(exposures, monkeypatch):
    sp = pytest.importorskip("stpipe_cpp")
    distributed = pytest.importorskip("dask.distributed")
    from stpipe_cpp import batch

    d = exposures
    monkeypatch.setenv("CRDS_PATH", str(d / "crds"))
    monkeypatch.setenv("STPIPE_STRUN", str(STRUN))
    files = [d / "e1_uncal.fits", d / "e2_uncal.fits", d / "bad_uncal.fits"]
    local = batch.run("Detector1Pipeline", files, output_dir=d / "py_local",
                      steps={"jump": {"rejection_threshold": 5.0}})
    assert [r["status"] for r in local] == ["ok", "ok", "failed"]
    assert local[2]["returncode"] == 3 and "not a readable FITS file" in local[2]["error"]
    assert pathlib.Path(local[0]["outputs"][-1]).name == "e1_rate.fits"
    rec = json.loads((d / "py_local" / "e1_uncal.batch.json").read_text())
    assert "--steps.jump.rejection_threshold=5.0" in rec["args"]

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        res = batch.run("Detector1Pipeline", [f"@{d / 'list.txt'}"], client=client,
                        output_dir=d / "py_dask")
        assert [r["status"] for r in res] == ["ok", "ok", "ok", "failed"]
        # Dask's products are strun's: nothing but names and parameters travelled.
        r2 = batch.run("Detector1Pipeline", files[:2], client=client, output_dir=d / "py_dask",
                       skip_existing=True)
        assert [r["status"] for r in r2] == ["skipped", "skipped"]
    finally:
        client.close()
        cluster.close()
    plain = strun(d, "Detector1Pipeline", "e3_uncal.fits", "--output_dir=plain")
    assert plain.returncode == 0
    with fits.open(d / "py_dask" / "e3_rate.fits") as a, fits.open(d / "plain" / "e3_rate.fits") as b:
        assert np.array_equal(a["SCI"].data, b["SCI"].data, equal_nan=True)
        assert np.array_equal(a["DQ"].data, b["DQ"].data)


def test_parallel_exposures_download_each_reference_once(exposures, tmp_path):
    """Three strun processes start together on an empty cache behind a slow CRDS server: the
    cache's file locks make each reference file come down once."""
    d = exposures
    log = tmp_path / "server.log"
    server = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).parent /
                                                   "crds_test_server.py"),
                               str(d / "crds"), "--delay", "0.3", "--log", str(log)],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = "http://127.0.0.1:%d" % int(server.stdout.readline())
        env = {"CRDS_PATH": str(tmp_path / "cache"), "CRDS_SERVER_URL": url}
        r = strun(d, "Detector1Pipeline", "e1_uncal.fits", "e2_uncal.fits", "e3_uncal.fits",
                  "-j", "3", "--output_dir=" + str(tmp_path / "out"), env=env)
        assert r.returncode == 0, r.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
    names = [ln.split()[-1] for ln in log.read_text().splitlines()
             if ln.startswith("GET") and ln.endswith(".fits")]
    assert len(names) >= 7  # mask, saturation, superbias, linearity, dark, gain, readnoise, ipc
    assert len(names) == len(set(names)), sorted(names)
