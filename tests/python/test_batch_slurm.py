"""stpipe batch slurm / status: the job script it writes, and a real run on a private
single-node Slurm cluster (slurmctld + slurmd + munged on localhost, see slurm_cluster.py)."""
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from batch_inputs import make_exposures  # noqa: E402
from slurm_cluster import SlurmCluster, unavailable  # noqa: E402

BUILD = pathlib.Path(os.environ.get("STPIPE_BUILD_DIR", "build")).resolve()
STPIPE = BUILD / "bin" / "stpipe"

pytestmark = pytest.mark.skipif(not STPIPE.exists(), reason="stpipe is not built")


def stpipe(*args, env=None, cwd=None):
    return subprocess.run([str(STPIPE), *args], capture_output=True, text=True, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def exposures(tmp_path_factory):
    d = tmp_path_factory.mktemp("slurm_inputs") / "with space"
    d.mkdir()
    return make_exposures(STPIPE, d)


def test_job_script(exposures, tmp_path):
    d = exposures
    r = stpipe("batch", "slurm", "Detector1Pipeline", f"@{d / 'list.txt'}", "--output-dir",
               str(tmp_path / "b"), "--array-size", "2", "--partition", "short", "--time",
               "00:30:00", "--mem", "4G", "--cpus-per-task", "2",
               "--steps.jump.rejection_threshold=5", "--output_dir=" + str(tmp_path / "o't"))
    assert r.returncode == 0, r.stderr
    assert "4 task(s), at most 2 at once" in r.stdout
    script = (tmp_path / "b" / "job.sh").read_text()
    assert "#SBATCH --array=0-3%2\n" in script
    assert "#SBATCH --partition=short\n" in script and "#SBATCH --time=00:30:00\n" in script
    assert "#SBATCH --mem=4G\n" in script and "#SBATCH --cpus-per-task=2\n" in script
    assert f'#SBATCH --output="{tmp_path / "b" / "logs" / "task-%a.out"}"\n' in script
    assert "'--steps.jump.rejection_threshold=5'" in script
    assert "'--output_dir=" + str(tmp_path) + "/o'\\''t'" in script  # shell-quoted
    assert "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-2}" in script
    inputs = (tmp_path / "b" / "inputs.txt").read_text().splitlines()
    assert inputs == [str(d / n) for n in ("e1_uncal.fits", "e2_uncal.fits", "e3_uncal.fits",
                                           "bad_uncal.fits")]
    assert os.access(tmp_path / "b" / "job.sh", os.X_OK)
    # bash can read it
    assert subprocess.run(["bash", "-n", str(tmp_path / "b" / "job.sh")]).returncode == 0
    # Nothing has run yet: every task is pending, status exits 0.
    s = stpipe("batch", "status", str(tmp_path / "b"), "--json")
    assert s.returncode == 0
    assert json.loads(s.stdout)["counts"] == {"PENDING": 4}


def test_bad_requests(exposures, tmp_path):
    d = exposures
    r = stpipe("batch", "slurm", "NoSuchPipeline", str(d / "e1_uncal.fits"))
    assert r.returncode == 2 and "is not a path to a config file or a registered step" in r.stderr
    r = stpipe("batch", "slurm", "Detector1Pipeline", str(d / "missing.fits"))
    assert r.returncode == 3 and "missing.fits' does not exist" in r.stderr
    r = stpipe("batch", "slurm", "Detector1Pipeline", f"@{tmp_path / 'nolist.txt'}")
    assert r.returncode == 3 and "cannot read the input list" in r.stderr
    r = stpipe("batch", "slurm", "Detector1Pipeline", str(d / "e1_uncal.fits"), "--array-size",
               "0")
    assert r.returncode == 2 and "--array-size: expected a positive integer" in r.stderr
    r = stpipe("batch", "status", str(tmp_path))
    assert r.returncode == 3 and "is not a batch folder" in r.stderr
    r = stpipe("batch", "frobnicate")
    assert r.returncode == 2 and "unknown batch command 'frobnicate'" in r.stderr


@pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
def test_real_slurm_array(exposures, tmp_path):
    d = exposures
    with SlurmCluster(tmp_path / "cluster") as cluster:
        env = cluster.env()
        env["CRDS_PATH"] = str(d / "crds")  # sbatch exports the submitting environment
        batch = tmp_path / "batch dir"
        r = stpipe("batch", "slurm", "Detector1Pipeline", f"@{d / 'list.txt'}", "--output-dir",
                   str(batch), "--array-size", "2", "--submit", env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        job = json.loads((batch / "batch.json").read_text())["job_id"]
        assert job and f"submitted job {job}" in r.stdout
        t0, status = time.time(), None
        while time.time() - t0 < 90:
            s = stpipe("batch", "status", str(batch), "--json", env=env)
            status = json.loads(s.stdout)
            if set(status["counts"]) <= {"COMPLETED", "FAILED"}:
                break
            time.sleep(0.5)
        assert status["counts"] == {"COMPLETED": 3, "FAILED": 1}, status
        assert s.returncode == 1  # one failed
        bad = [t for t in status["tasks"] if t["state"] == "FAILED"][0]
        assert bad["input"].endswith("bad_uncal.fits") and bad["exit_code"] == 3
        for i in (1, 2, 3):
            assert (batch / f"e{i}_rate.fits").exists()
            log = (batch / f"e{i}_uncal.log").read_text()
            assert "Step jump running with args" in log and "Step Detector1Pipeline done" in log
        assert "not a readable FITS file" in (batch / "bad_uncal.log").read_text()
        assert sorted(p.name for p in (batch / "logs").iterdir()) == [
            f"task-{i}.out" for i in range(4)]
        table = stpipe("batch", "status", str(batch), env=env)
        assert f"job {job}: 3 COMPLETED, 1 FAILED" in table.stdout
