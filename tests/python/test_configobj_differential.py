"""Differential test: stpipe-cpp's ConfigObj reader against python-configobj 5.0.8 (+ validate).

Every file of the corpus (hand-written edge cases in configobj_corpus/*.cfg plus files made by
the seeded generator in configobj_corpus/generate_corpus.py) is read by Python's ConfigObj
(list_values=True, raise_errors=True, default "configparser" interpolation) and by
`stpipe config dump FILE`; the
values must agree exactly, and a file one side rejects must be rejected by the other with the
same ConfigObj message.  A few configspec cases compare `stpipe config dump FILE --spec SPEC`
with ConfigObj.validate + validate.Validator and stpipe's error wording.

The binary is $STPIPE_BUILD_DIR/bin/stpipe (default /work/main/build).
"""

import json
import os
import subprocess
import sys

import pytest

configobj = pytest.importorskip("configobj")
validate_mod = pytest.importorskip("validate")

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "configobj_corpus")
sys.path.insert(0, CORPUS)
import generate_corpus  # noqa: E402

BUILD_DIR = os.environ.get("STPIPE_BUILD_DIR", "/work/main/build")
BINARY = os.path.join(BUILD_DIR, "bin", "stpipe")
N_GENERATED = 160
SEED = 20240601


@pytest.fixture(scope="session")
def stpipe_bin():
    if not os.path.isfile(BINARY) or not os.access(BINARY, os.X_OK):
        pytest.fail(f"stpipe binary not found at {BINARY}: build it or set STPIPE_BUILD_DIR")
    return BINARY


def run_ours(binary, path, spec=None):
    cmd = [binary, "config", "dump", path]
    if spec:
        cmd += ["--spec", spec]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if r.returncode == 0:
        return "ok", json.loads(r.stdout)
    assert r.returncode in (2, 3), f"unexpected exit code {r.returncode}: {r.stderr}"
    assert r.stderr.startswith("ERROR: "), r.stderr
    return "err", r.stderr[len("ERROR: "):].rstrip("\n")


def run_python(path):
    # As stpipe reads config files: ConfigObj(path, raise_errors=True), interpolation on (values
    # are interpolated when accessed, so .dict() may raise too).
    try:
        return "ok", configobj.ConfigObj(path, raise_errors=True).dict()
    except configobj.ConfigObjError as e:
        return "err", str(e)
    except (UnicodeDecodeError, TypeError) as e:
        # Not a ConfigObj error (bad UTF-8; interpolating a list value): only the failure counts.
        return "err", "other: " + str(e)


def hand_written():
    return sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS) if f.endswith(".cfg"))


def compare(binary, path):
    expected = run_python(path)
    got = run_ours(binary, path)
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        text = f.read()
    assert got[0] == expected[0], f"{path}: python {expected!r} vs ours {got!r}\n{text!r}"
    if expected[0] == "ok":
        assert got[1] == expected[1], f"{path}\n{text!r}"
    elif not expected[1].startswith("other: "):
        # Ours prefixes the file name: "<path>: <ConfigObj's message>".
        assert got[1] == f"{path}: {expected[1]}", f"{path}\n{text!r}"


def test_corpus_size():
    assert len(hand_written()) >= 60


@pytest.mark.parametrize("path", hand_written(), ids=os.path.basename)
def test_hand_written(stpipe_bin, path):
    compare(stpipe_bin, path)


def test_generated(stpipe_bin, tmp_path):
    paths = generate_corpus.generate(str(tmp_path), N_GENERATED, SEED)
    assert len(paths) + len(hand_written()) >= 200
    outcomes = {"ok": 0, "err": 0}
    for path in paths:
        compare(stpipe_bin, path)
        outcomes[run_python(path)[0]] += 1
    # The generator must exercise both sides.
    assert outcomes["ok"] > N_GENERATED // 2 and outcomes["err"] > 5, outcomes


def test_generator_is_deterministic(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = generate_corpus.generate(str(tmp_path / "a"), 5, 7)
    b = generate_corpus.generate(str(tmp_path / "b"), 5, 7)
    for pa, pb in zip(a, b):
        with open(pa, "rb") as fa, open(pb, "rb") as fb:
            assert fa.read() == fb.read()


# ---- configspec ---------------------------------------------------------------------------------

def python_validate(cfg_path, spec_text):
    """stpipe.config_parser.validate, re-stated: typed values or stpipe's error message."""
    from configobj import ConfigObj, flatten_errors, get_extra_values
    from validate import ValidateError, Validator

    root_dir = os.path.dirname(os.path.abspath(cfg_path))

    def input_file(path):
        path = os.path.abspath(os.path.join(root_dir, str(path)))
        if not os.path.exists(path):
            raise ValidateError(f"Path {path!r} does not exist")
        return path

    def output_file(path):
        path = os.path.abspath(os.path.join(root_dir, str(path)))
        d = os.path.dirname(path)
        if d and not os.path.exists(d):
            os.makedirs(d)
        return path

    def is_string_or_datamodel(value, default=None):
        if isinstance(value, str):
            return value
        from validate import VdtTypeError
        raise VdtTypeError(value)

    config = ConfigObj(cfg_path, raise_errors=True)
    spec = ConfigObj(spec_text.split("\n"), raise_errors=True, list_values=False)
    v = Validator()
    v.functions.update(input_file=input_file, output_file=output_file,
                       is_string_or_datamodel=is_string_or_datamodel)
    config.configspec = spec
    errors = config.validate(v, preserve_errors=True)
    messages = []
    if errors is not True:
        for section_list, key, err in flatten_errors(config, errors):
            section_list.append(key if key is not None else "[missing section]")
            if err is False:
                err = "missing"
            messages.append(f"Config parameter {'/'.join(section_list)!r}: {err}")
    extra = get_extra_values(config)
    if extra:
        sections, name = extra[0]
        where = "root" if len(sections) == 0 else "/".join(sections)
        messages.append(f"Extra value {name!r} in {where}")
    if messages:
        return "err", "\n".join(messages)
    return "ok", json.loads(json.dumps(config.dict()))


SPEC = """
name = string(default='step')
n = integer(min=0, max=10, default=3)  # a count
f = float(default=1.5)
flag = boolean(default=False)
mode = option('fast', 'slow', default='fast')
shape = int_list(min=2, max=3, default=None)
names = string_list(default=list('a', 'b'))
forced = force_list(default=None)
mixed = mixed_list('integer', 'string', 'boolean', default=None)
fl = float_list(default=list())
ref = is_string_or_datamodel(default=None)
inp = input_file(default=None)
out = output_file(default=None)
[steps]
  [[count]]
  n = integer(max=10, default=1)
  skip = boolean(default=False)
"""

SPEC_CASES = {
    "defaults_only": "",
    "typed_values": "n = 7\nf = 2\nflag = YES\nmode = slow\nshape = 1, 2\nnames = x,\n"
                    "forced = single\nmixed = 1, two, on\nfl = 1, 2.5e3\nref = some.fits\n",
    "nested": "[steps]\n[[count]]\nn = 4\nskip = true\n",
    "too_big": "n = 11\n[steps]\n[[count]]\nn = 12\n",
    "too_small": "n = -1\n",
    "wrong_types": "n = 2.5\nf = abc\nflag = maybe\nnames = x\n",
    "unacceptable": "mode = medium\n",
    "too_long": "shape = 1500, 1300, 90, 5\n",
    "too_short": "shape = 1500,\n",
    "extra_root": "bogus = 1\nzzz = 2\n",
    "extra_section": "[steps]\n[[nope]]\nx = 1\n",
    "extra_nested_key": "[steps]\n[[count]]\nq = 1\n",
    "errors_and_extra": "n = 99\nflag = 2\nextra = 1\n",
    "files": "inp = data.txt\nout = sub/dir/result.fits\n",
    "missing_input": "inp = nope.txt\n",
}


@pytest.mark.parametrize("name", sorted(SPEC_CASES))
def test_spec_differential(stpipe_bin, tmp_path, name):
    (tmp_path / "data.txt").write_text("x")
    cfg = tmp_path / "c.cfg"
    cfg.write_text(SPEC_CASES[name])
    spec = tmp_path / "s.spec"
    spec.write_text(SPEC)
    expected = python_validate(str(cfg), SPEC)
    got = run_ours(stpipe_bin, str(cfg), str(spec))
    assert got == expected


@pytest.mark.parametrize("cfg_text,spec_text", [
    ("[DEFAULT]\nx = 1\n", "a = integer(default=1)\n"),
    ("", "[DEFAULT]\nx = integer()\n"),
    ("[s]\n[[DEFAULT]]\nq = 1\n", "[s]\n"),
    ("steps = 1\n", SPEC),
    ("[n]\nx = 1\n", "n = integer()\n"),
    ("", "[s]\na = integer()\n[[t]]\nb = integer()\n"),
    ("[s]\n", "[s]\na = integer()\nb = integer()\n"),
    ("x = 1\ny = -2\n", "__many__ = integer(max=0)\n"),
    ("[steps]\n[[a]]\nskip = on\n[[b]]\nlevel = 3\n", "[steps]\n[[__many__]]\nskip = boolean(default=False)\n"),
])
def test_spec_structure(stpipe_bin, tmp_path, cfg_text, spec_text):
    cfg = tmp_path / "c.cfg"
    cfg.write_text(cfg_text)
    spec = tmp_path / "s.spec"
    spec.write_text(spec_text)
    assert run_ours(stpipe_bin, str(cfg), str(spec)) == python_validate(str(cfg), spec_text)


def test_spec_missing_required(stpipe_bin, tmp_path):
    cfg = tmp_path / "c.cfg"
    cfg.write_text("b = 2\n")
    spec_text = "a = integer()\nb = integer()\n[s]\nx = integer()\ny = float()\n"
    spec = tmp_path / "s.spec"
    spec.write_text(spec_text)
    expected = python_validate(str(cfg), spec_text)
    assert expected[0] == "err"
    assert run_ours(stpipe_bin, str(cfg), str(spec)) == expected
