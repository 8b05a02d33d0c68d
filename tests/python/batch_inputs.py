"""Small simulated exposures for the batch tests (test_batch.py, test_batch_slurm.py)."""
import subprocess


def make_exposures(stpipe, d):
    """Three 1 x 5 x 64 x 64 exposures e1..e3 sharing the CRDS cache d/crds, a non-FITS
    bad_uncal.fits, and d/list.txt naming all four (with a comment and blank lines)."""
    for seed in (1, 2, 3):
        subprocess.run([str(stpipe), "simulate", "--output-dir", str(d), "--size", "64", "64",
                        "--ngroups", "5", "--seed", str(seed), "--name", f"e{seed}",
                        "--crds-cache", str(d / "crds")], check=True, capture_output=True)
    (d / "bad_uncal.fits").write_text("this is not FITS\n")
    (d / "list.txt").write_text("# three exposures and a broken file\n\ne1_uncal.fits\n"
                                "e2_uncal.fits   # the second\n\ne3_uncal.fits\nbad_uncal.fits\n")
    return d
