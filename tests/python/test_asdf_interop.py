"""ASDF interop between stpipe-cpp's asdf library and Python asdf (2.14).

Order: this test writes py_*.asdf files with Python asdf into a temporary directory, then runs
`$STPIPE_BUILD_DIR/bin/test_asdf --gtest_filter=Interop.*` with STPIPE_ASDF_INTEROP_DIR set to it.
The C++ side writes cpp_*.asdf (whose contents are mirrored in EXPECTED_* below) and, for every
py_*.asdf, <name>.cpp.json with its view of the file; here we check that Python reads our files
with the same values and types, and that our view of Python's files equals Python's view.
"""

import json
import math
import os
import subprocess
import warnings
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
asdf = pytest.importorskip("asdf")

BUILD = Path(os.environ.get("STPIPE_BUILD_DIR", "build"))
TEST_ASDF = BUILD / "bin" / "test_asdf"


def _run_cpp(directory):
    if not TEST_ASDF.exists():
        pytest.skip(f"{TEST_ASDF} is not built")
    env = dict(os.environ, STPIPE_ASDF_INTEROP_DIR=str(directory))
    proc = subprocess.run(
        [str(TEST_ASDF), "--gtest_filter=Interop.*"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[  PASSED  ] 2 tests" in proc.stdout, proc.stdout


def _float(x):
    x = float(x)
    if math.isnan(x):
        return {"__float__": "nan"}
    if math.isinf(x):
        return {"__float__": "inf" if x > 0 else "-inf"}
    return x


def _element(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.complexfloating, complex)):
        return [_float(v.real), _float(v.imag)]
    if isinstance(v, (np.floating, float)):
        return _float(v)
    if isinstance(v, bytes):
        return v.decode("ascii")
    if isinstance(v, (str, np.str_)):
        return str(v)
    if isinstance(v, np.void):
        return [_element(v[n]) for n in v.dtype.names]
    raise TypeError(type(v))


def _asdf_dtype(dt):
    if dt.names:
        return "structured"
    if dt.kind == "S":
        return "ascii"
    if dt.kind == "U":
        return "ucs4"
    if dt.kind == "b":
        return "bool8"
    return dt.name


def _python_view(node, byteorders):
    """Python's canonical view of a tree, matching interop_test.cpp's canonical()."""
    if isinstance(node, np.ndarray) or type(node).__name__ == "NDArrayType":
        arr = np.asarray(node)
        bo = byteorders.pop(0)
        return {
            "__array__": {
                "dtype": _asdf_dtype(arr.dtype),
                "byteorder": bo,
                "shape": list(arr.shape),
                "values": [_element(v) for v in arr.ravel()],
            }
        }
    if isinstance(node, dict):
        out = {}
        tag = getattr(node, "_tag", None)
        if tag is not None:
            out["__tag__"] = tag
        for k, v in node.items():
            out[str(k)] = _python_view(v, byteorders)
        return out
    if isinstance(node, (list, tuple)):
        return [_python_view(v, byteorders) for v in node]
    if isinstance(node, float):
        return _float(node)
    return node


def _typed_equal(a, b, path="root"):
    """Equality that also distinguishes int from float and bool from int."""
    assert type(a) is type(b), f"{path}: {a!r} ({type(a).__name__}) vs {b!r} ({type(b).__name__})"
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), f"{path}: keys {list(a)} vs {list(b)}"
        for k in a:
            _typed_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _typed_equal(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"
        if isinstance(a, float) and a == 0.0:
            assert math.copysign(1, a) == math.copysign(1, b), f"{path}: sign of zero"


def _write_python_files(d):
    a = np.arange(12, dtype="<i4").reshape(3, 4)
    arrays = {
        "base": a,
        "view": a[::2, 1:],  # shares block 0 with offset and strides
        "f32be": np.array([1.5, -2.25, np.inf, np.nan], dtype=">f4"),
        "f64": np.linspace(-1, 1, 7),
        "u16be": np.array([[0, 1], [65535, 32768]], dtype=">u2"),
        "i8": np.array([-128, 0, 127], dtype="i1"),
        "u64": np.array([0, 2**64 - 1], dtype="<u8"),
        "bools": np.array([True, False, True]),
        "c128": np.array([1 + 2j, -0.5j], dtype="<c16"),
        "rec": np.array([(1, 2.5), (3, -1.0)], dtype=[("a", "<i4"), ("b", ">f8")]),
        "ascii": np.array([b"xy", b"z"]),
        "ucs4": np.array(["ab", "c\u00e9\u20ac"]),
        "empty": np.zeros((0, 3), dtype="f4"),
    }
    asdf.AsdfFile(dict(arrays)).write_to(d / "py_arrays.asdf")
    asdf.AsdfFile({"z": np.arange(1000, dtype=">i4"), "zz": np.full((20, 20), 3.25)}).write_to(
        d / "py_zlib.asdf", all_array_compression="zlib"
    )
    asdf.AsdfFile({"small": np.array([[1, 2], [3, 4]], dtype="i4"), "meta": {"n": 1}}).write_to(
        d / "py_inline.asdf", auto_inline=10
    )
    scalars = {
        "meta": {
            "ints": [0, -1, 2**63 - 1, -(2**63) + 2],
            "floats": [0.1, 1e-5, 1e20, 1e16, 123456.789, -0.0, float("inf"), float("-inf"), float("nan")],
            "strings": ["01019", "yes", "no", "1e3", "1.0e+3", "2016-01-01", "2016-01-01 00:00:00", "", " x",
                        "a: b", "#c", "- d", "null", "~", "True", "0x1F", "caf\u00e9", "line1\nline2",
                        "tab\tsep", "'quoted'", '"dq"', "fits:SCI,1", "<SPECIFY>", "08", "1:30"],
            "bools": [True, False],
            "none": None,
            "nested": {"a": {"b": [{"c": 1}, [2, [3]]]}, "empty_map": {}, "empty_list": []},
            "keys": {"1": "one", "with space": 2, "a:b": 3},
        }
    }
    asdf.AsdfFile(scalars).write_to(d / "py_scalars.asdf")


def _byteorders_in_file(path):
    """The byteorder of each ndarray node, in tree order (as Python asdf wrote them)."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            if str(getattr(node, "_tag", "")).startswith("tag:stsci.edu:asdf/core/ndarray"):
                out.append(node.get("byteorder", "little"))
                return
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    with asdf.open(path, _force_raw_types=True) as af:
        walk(af.tree)
    return out


@pytest.fixture(scope="module")
def interop_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("asdf_interop")
    _write_python_files(d)
    _run_cpp(d)
    return d


@pytest.mark.parametrize("name", ["py_arrays", "py_zlib", "py_inline", "py_scalars"])
def test_cpp_reads_python_files(interop_dir, name):
    path = interop_dir / f"{name}.asdf"
    ours = json.loads((interop_dir / f"{name}.asdf.cpp.json").read_text())
    with asdf.open(path, copy_arrays=True) as af:
        tree = {k: v for k, v in af.tree.items() if k not in ("asdf_library", "history")}
        theirs = _python_view(tree, _byteorders_in_file(path))
    # Python's view carries no tags for ndarrays/plain dicts; drop ours where Python has none.
    _typed_equal(theirs, _strip_plain_tags(ours, theirs))


def _strip_plain_tags(ours, theirs):
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return {k: _strip_plain_tags(v, theirs.get(k)) for k, v in ours.items() if k != "__tag__" or "__tag__" in theirs}
    if isinstance(ours, list) and isinstance(theirs, list):
        return [_strip_plain_tags(a, b) for a, b in zip(ours, theirs)]
    return ours


AWKWARD_STRINGS = [
    "", " lead", "trail ", "yes", "NO", "~", "null", "0x1F", "017", "1:30", ".inf", "-5", "- dash",
    "? q", "a #b", "colon: x", "[x]", "{y}", "*star", "&amp", "!bang", "%pct", "@at", "`tick",
    '"dq"', "back\\slash", "tab\there", "\x01\x7f", "caf\u00e9", "\u20ac", "=", "<<",
    "2001-12-14t21:59:43.10-05:00", "1.0e+3", "crds://jwst_nircam_mask_0033.fits", "a,b", "x:y",
    "...", "---", "#", "'", "\u0085nel", "\ufffe", "\U0001f600", "line\r\nbreak",
]


def test_python_reads_cpp_arrays(interop_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no asdf warnings for our files
        with asdf.open(interop_dir / "cpp_arrays.asdf", validate_checksums=True, copy_arrays=True) as af:
            t = af.tree
            np.testing.assert_array_equal(t["f32"], np.arange(6, dtype="f4").reshape(2, 3) * 0.5 - 1)
            assert t["f32"].dtype == np.dtype("<f4")
            assert t["i16be"].dtype == np.dtype(">i2")
            np.testing.assert_array_equal(t["i16be"], [-32768, -1, 0, 32767])
            np.testing.assert_array_equal(t["u8z"], (np.arange(12) * 20).astype("u1").reshape(3, 4))
            f64 = t["f64z_be"]
            assert f64.dtype == np.dtype(">f8")
            assert list(f64[:4]) == [0.1, -1e300, 5e-324, math.inf]
            assert f64[4] == 0 and math.copysign(1, f64[4]) == -1
            np.testing.assert_array_equal(t["u32"], np.array([[0, 1], [4000000000, 123456789]], "u4"))
            np.testing.assert_array_equal(t["i64be"], np.array([-(2**63), 0, 1234567890123], ">i8"))
            assert t["bool"].dtype == np.bool_ and list(t["bool"]) == [True, False, False, True]
            assert t["c64be"].dtype == np.dtype(">c8")
            assert list(t["c64be"]) == [1 - 2j, 0.5 + 0.25j]
            assert list(t["ascii"]) == [b"abc", b"xy"]
            m = t["meta"]
            assert m["model_type"] == "ImageModel"
            assert m["int"] == 42 and type(m["int"]) is int
            assert m["neg"] == -7
            assert m["float"] == 2.0 and type(m["float"]) is float
            assert m["tiny"] == 1e-5 and m["huge"] == 1e20
            assert math.isnan(m["nan"]) and m["ninf"] == -math.inf
            for key, want in [("yes_string", "yes"), ("int_string", "01019"), ("float_string", "1.5"),
                              ("date_string", "2016-01-01"), ("empty", ""), ("colon", "a: b"),
                              ("unicode", "caf\u00e9 \u20ac"), ("multiline", "line1\nline2"),
                              ("source_like", "fits:SCI,1")]:
                assert m[key] == want and type(m[key]) is str, key
            assert m["null"] is None and m["true"] is True
            assert m["list"] == [1, 2.5, "x", None, [True]]
            assert t["asdf_library"]["name"] == "stpipe-cpp"
            assert t["awkward"] == AWKWARD_STRINGS
            assert all(type(x) is str for x in t["awkward"])
            assert t["awkward_keys"] == {"1": 1, "true": 2, "a: b": 3, "": 4, "-": 5, "x y": 6}


def test_python_reads_cpp_fits_form(interop_dir):
    with asdf.open(interop_dir / "cpp_fits_form.asdf", _force_raw_types=True) as af:
        node = af.tree["data"]
        assert node._tag == "tag:stsci.edu:asdf/core/ndarray-1.0.0"
        assert dict(node) == {"source": "fits:SCI,1", "datatype": "float32", "byteorder": "big",
                              "shape": [2, 3, 8, 10]}
        assert af.tree["_fits_hash"] == "0123abcd"
        assert af.tree["meta"] == {"model_type": "RampModel"}
    raw = (interop_dir / "cpp_fits_form.asdf").read_bytes()
    assert raw.startswith(b"#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n")
    assert raw.endswith(b"\n...\n") and b"BLK" not in raw


def test_python_reads_cpp_step_config(interop_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with asdf.open(interop_dir / "cpp_step_config.asdf") as af:
            t = af.tree
            assert [k for k in t if k not in ("asdf_library", "history")] == ["class", "name", "parameters", "steps", "meta"]
            assert t["class"] == "jwst.pipeline.Detector1Pipeline"
            assert t["name"] == "Detector1Pipeline"
            assert t["parameters"] == {"output_dir": None, "save_results": True, "suffix": None,
                                       "pre_hooks": [], "rejection_threshold": 4.0}
            assert type(t["parameters"]["rejection_threshold"]) is float
            assert t["steps"] == [{"class": "jwst.dq_init.dq_init_step.DQInitStep", "name": "dq_init",
                                   "parameters": {"skip": False, "suffix": "dqinit"}}]
            meta = t["meta"]
            assert meta["author"] == "<SPECIFY>" and meta["useafter"] == "<SPECIFY>"
            assert meta["instrument"] == {"name": "<SPECIFY>"}
            assert meta["description"] == "Parameters for calibration step jwst.pipeline.Detector1Pipeline"
            import datetime

            datetime.datetime.strptime(meta["date"], "%Y-%m-%dT%H:%M:%S")
