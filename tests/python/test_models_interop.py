"""Interoperability of stpipe-cpp's data models with astropy and python asdf.

Runs `$STPIPE_BUILD_DIR/bin/stpipe info --json` and `stpipe convert` (STPIPE_BUILD_DIR defaults to
/work/main/build) on the real files in ../shared/data and compares with what astropy.io.fits and
asdf (AsdfInFits) read. Skipped when the binary or the shared data is absent.
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import warnings

import numpy as np
import pytest

fits = pytest.importorskip("astropy.io.fits")
asdf = pytest.importorskip("asdf")

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
BUILD = pathlib.Path(os.environ.get("STPIPE_BUILD_DIR", "/work/main/build"))
STPIPE = BUILD / "bin" / "stpipe"

def _has_info_command():
    if not STPIPE.exists():
        return False
    r = subprocess.run([str(STPIPE), "info"], capture_output=True, text=True, timeout=60)
    return "unknown command" not in r.stderr


pytestmark = [
    pytest.mark.skipif(not STPIPE.exists(), reason=f"{STPIPE} not built"),
    pytest.mark.skipif(not _has_info_command(), reason=f"{STPIPE} does not dispatch 'info' yet"),
    pytest.mark.skipif(not SHARED.exists(), reason="../shared/data absent"),
]

FILES = [
    "jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits",
    "jwst/reference/jwst_nirspec_superbias_0075.fits",
    "jwst/reference/jwst_nirspec_dark_0046.fits",
    "jwst/reference/jwst_nirspec_ipc_with_asdf_extension.fits",
    "stdatamodels/stdatamodels172_ramp.fits",
    "stdatamodels/stdatamodels172_image.fits",
    "stdatamodels/stdatamodels172_mask.fits",
    "vectors/1x10x256x256/fits/jw99999001001_01101_00001_nrca1_uncal.fits",
    "vectors/1x10x256x256/fits/ref_linearity.fits",
    "vectors/1x10x256x256/fits/ref_dark.fits",
    "vectors/1x10x256x256/fits/ref_mask.fits",
    # Arrays of 4 MiB and more (10 MiB dark SCI/ERR; a 4 MiB ramp): written past fits_write_img.
    "vectors/2x8x256x256_nf4gg1/fits/ref_dark.fits",
    "vectors/2x8x256x256_nf4gg1/fits/jw99999001001_01101_00001_nrca1_uncal.fits",
]

# schema array name -> EXTNAME (the arrays these files hold)
EXTNAMES = {"data": "SCI", "dq": "DQ", "err": "ERR", "pixeldq": "PIXELDQ", "groupdq": "GROUPDQ",
            "coeffs": "COEFFS"}
KEYWORDS = ["INSTRUME", "DETECTOR", "EXP_TYPE", "READPATT", "NINTS", "NGROUPS", "NFRAMES", "GROUPGAP",
            "SUBARRAY", "SUBSTRT1", "SUBSTRT2", "SUBSIZE1", "SUBSIZE2", "DATE-OBS", "TIME-OBS", "TFRAME",
            "TGROUP", "REFTYPE", "USEAFTER", "PEDIGREE", "TELESCOP"]


STANDARD_DQ = {"DO_NOT_USE": 1, "SATURATED": 2, "JUMP_DET": 4, "DROPOUT": 8, "OUTLIER": 16,
               "PERSISTENCE": 32, "AD_FLOOR": 64, "CHARGELOSS": 128, "RESERVED": 256, "NON_SCIENCE": 512,
               "DEAD": 1024, "HOT": 2048, "WARM": 4096, "LOW_QE": 8192, "RC": 16384, "TELEGRAPH": 32768,
               "NONLINEAR": 65536, "BAD_REF_PIXEL": 131072, "NO_FLAT_FIELD": 262144,
               "NO_GAIN_VALUE": 524288, "NO_LIN_CORR": 1048576, "NO_SAT_CHECK": 2097152,
               "UNRELIABLE_BIAS": 4194304, "UNRELIABLE_DARK": 8388608, "UNRELIABLE_SLOPE": 16777216,
               "UNRELIABLE_FLAT": 33554432, "OPEN": 67108864, "ADJ_OPEN": 134217728,
               "FLUX_ESTIMATED": 268435456, "MSA_FAILED_OPEN": 536870912, "OTHER_BAD_PIXEL": 1073741824,
               "REFERENCE_PIXEL": 2147483648}


def expected_file_dq(hdul):
    """DQ of a reference file after load (DQ_DEF decompression) and save (compression)."""
    dq = hdul["DQ"].data.astype(np.uint32)
    if "DQ_DEF" not in hdul or len(hdul["DQ_DEF"].data) == 0:
        return dq
    rows = [(int(r["VALUE"]), STANDARD_DQ.get(r["NAME"].strip())) for r in hdul["DQ_DEF"].data]
    rows = [(v, s) for v, s in rows if s is not None]
    mem = np.zeros_like(dq)
    for value, std in rows:
        mem[(dq & value) != 0] |= np.uint32(std)
    out = np.zeros_like(dq)
    for value, std in rows:
        out[(mem & std) != 0] |= np.uint32(value)
    return out


def run(*args):
    return subprocess.run([str(STPIPE), *args], capture_output=True, text=True, timeout=60)


def info(path):
    r = run("info", str(path), "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("rel", FILES)
def test_info_matches_astropy(rel):
    path = SHARED / rel
    j = info(path)
    with fits.open(path) as h:
        datamodl = h[0].header.get("DATAMODL")
        if datamodl:
            assert j["model_type"] == datamodl
        assert j["meta"]["meta.instrument.name"] == h[0].header["INSTRUME"]
        for name, spec in j["arrays"].items():
            ext = EXTNAMES.get(name)
            if ext is None or ext not in h:
                continue
            data = h[ext].data
            assert spec["shape"] == list(data.shape), name
            if name == "data" and j["model_type"] == "Level1bModel":
                assert spec["dtype"] == "uint16"


@pytest.mark.parametrize("rel", FILES)
def test_convert_round_trip_with_astropy(rel, tmp_path):
    src = SHARED / rel
    out = tmp_path / ("copy_" + src.name)
    r = run("convert", str(src), str(out))
    assert r.returncode == 0, r.stderr
    j = info(src)
    with fits.open(src) as a, fits.open(out) as b:
        for name in j["arrays"]:
            ext = EXTNAMES.get(name)
            if ext is None or ext not in a:
                continue
            want = a[ext].data
            got = b[ext].data
            assert got.shape == want.shape
            if name == "dq" and "REFTYPE" in a[0].header:
                assert got.dtype == np.uint32
                np.testing.assert_array_equal(got, expected_file_dq(a))
            elif name in ("dq", "pixeldq"):
                assert got.dtype == np.uint32
                np.testing.assert_array_equal(got, want.astype(np.uint32))
            else:
                np.testing.assert_array_equal(got, want)
        for key in KEYWORDS:
            if key in a[0].header:
                assert b[0].header[key] == a[0].header[key], key
        assert b[0].header["DATAMODL"] == j["model_type"]
    if shutil.which("fitsverify"):
        v = subprocess.run(["fitsverify", "-q", str(out)], capture_output=True, text=True)
        assert "verification OK" in v.stdout + v.stderr, v.stdout + v.stderr


@pytest.mark.parametrize("rel", ["stdatamodels/stdatamodels172_ramp.fits",
                                 "jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits"])
def test_asdf_extension_read_by_python_asdf(rel, tmp_path):
    from asdf.fits_embed import AsdfInFits
    src = SHARED / rel
    out = tmp_path / ("x_" + src.name)
    assert run("convert", str(src), str(out)).returncode == 0
    with fits.open(out) as h:
        assert h[-1].name == "ASDF"
        assert h[-1].columns.names == ["ASDF_METADATA"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            af = AsdfInFits.open(h)
            np.testing.assert_array_equal(np.asarray(af.tree["data"]), h["SCI"].data)
            assert af.tree["meta"]["instrument"]["name"] == h[0].header["INSTRUME"]
            assert af.tree["meta"]["model_type"] == h[0].header["DATAMODL"]
            fits_hash = af.tree["_fits_hash"]
    # _fits_hash = sha256 of the raw header blocks of every HDU but ASDF.
    raw = out.read_bytes()
    with fits.open(out) as h:
        digest = hashlib.sha256()
        for hdu in h:
            if hdu.name == "ASDF":
                continue
            info_ = hdu.fileinfo()
            digest.update(raw[info_["hdrLoc"]:info_["datLoc"]])
    assert fits_hash == digest.hexdigest()


def test_convert_to_asdf_read_by_python_asdf(tmp_path):
    src = SHARED / "stdatamodels/stdatamodels172_image.fits"
    out = tmp_path / "image.asdf"
    assert run("convert", str(src), str(out)).returncode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with asdf.open(out) as af, fits.open(src) as h:
            np.testing.assert_array_equal(np.asarray(af.tree["data"]), h["SCI"].data)
            assert af.tree["meta"]["model_type"] == "ImageModel"


def test_bad_input_exit_codes(tmp_path):
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"not a fits file")
    r = run("info", str(junk))
    assert r.returncode == 3
    assert "junk.fits" in r.stderr
    assert run("info").returncode == 2


def _table_fits(path):
    """A MaskModel FITS file with a DQ_DEF table written by astropy, as CRDS references are."""
    dq = np.zeros((4, 4), dtype=np.uint32)
    dq[0, 0] = 1
    cols = fits.ColDefs([
        fits.Column(name="BIT", format="J", array=np.array([0, 1], dtype=np.int32)),
        fits.Column(name="VALUE", format="J", array=np.array([1, 2], dtype=np.uint32)),
        fits.Column(name="NAME", format="40A", array=np.array(["DO_NOT_USE", "DEAD"])),
        fits.Column(name="DESCRIPTION", format="80A", array=np.array(["Bad pixel", "Dead"]))])
    hdr = fits.Header()
    hdr["DATAMODL"] = "MaskModel"
    hdr["REFTYPE"] = "MASK"
    hdr["TELESCOP"] = "JWST"
    fits.HDUList([fits.PrimaryHDU(header=hdr), fits.ImageHDU(dq, name="DQ"),
                  fits.BinTableHDU.from_columns(cols, name="DQ_DEF")]).writeto(path)


def test_tables_in_asdf_read_by_python_asdf(tmp_path):
    src = tmp_path / "mask.fits"
    _table_fits(src)
    out = tmp_path / "mask.asdf"
    assert run("convert", str(src), str(out)).returncode == 0
    back = tmp_path / "back.fits"
    assert run("convert", str(out), str(back)).returncode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with asdf.open(out) as af:
            t = np.asarray(af.tree["dq_def"])
            assert t.dtype.names == ("BIT", "VALUE", "NAME", "DESCRIPTION")
            # the column types of the FITS file (astropy wrote 'J': int32, no TZERO)
            assert t.dtype["BIT"] == np.dtype("<i4") and t.dtype["VALUE"] == np.dtype("<i4")
            assert list(t["BIT"]) == [0, 1] and list(t["VALUE"]) == [1, 2]
            assert [x.decode() for x in t["NAME"]] == ["DO_NOT_USE", "DEAD"]
            assert t.dtype["DESCRIPTION"].itemsize == 80
    with fits.open(src) as a, fits.open(back) as b:
        for name in ("BIT", "VALUE", "NAME", "DESCRIPTION"):
            assert list(a["DQ_DEF"].data[name]) == list(b["DQ_DEF"].data[name])


def test_tables_in_the_fits_asdf_extension(tmp_path):
    from asdf.fits_embed import AsdfInFits
    src = tmp_path / "mask.fits"
    _table_fits(src)
    # A science product carries the ASDF extension: a RampModel with an INT_TIMES table.
    ramp = tmp_path / "ramp.asdf"
    times = np.array([(1, 59000.25, 59000.5), (2, 59000.75, 59001.0)],
                     dtype=[("integration_number", "<i4"), ("int_start_MJD_UTC", "<f8"),
                            ("int_end_MJD_UTC", "<f8")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        asdf.AsdfFile({"meta": {"model_type": "RampModel", "telescope": "JWST"},
                       "data": np.zeros((2, 2, 3, 4), dtype=np.float32),
                       "int_times": times}).write_to(ramp)
    out = tmp_path / "ramp.fits"
    assert run("convert", str(ramp), str(out)).returncode == 0  # we read Python's table
    with fits.open(out) as h:
        assert list(h["INT_TIMES"].data["int_start_MJD_UTC"]) == [59000.25, 59000.75]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            af = AsdfInFits.open(h)
            node = af.tree["int_times"]
            assert list(np.asarray(node)["integration_number"]) == [1, 2]
            assert list(np.asarray(node)["int_end_MJD_UTC"]) == [59000.5, 59001.0]
