"""Tests of the CRDS test server (tests/python/crds_test_server.py) speaking CRDS's protocol,
and, when a built `stpipe` program is found, of `stpipe crds` against it."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent
SERVER = HERE / "crds_test_server.py"
SHARED = Path(os.environ.get("STPIPE_SHARED_DIR", SOURCE.parent / "shared"))
CACHE = SHARED / "data" / "crds" / "cache"

pytestmark = pytest.mark.skipif(not CACHE.is_dir(), reason="shared/data/crds is absent")

FAKE = {"jwst_nircam_dark_0040.fits": b"fake dark\n" * 100,
        "jwst_nircam_gain_0050.fits": b"fake gain\n" * 50}


@pytest.fixture
def server_root(tmp_path):
    root = tmp_path / "server"
    (root / "mappings").mkdir(parents=True)
    (root / "config").mkdir()
    os.symlink(CACHE / "mappings" / "jwst", root / "mappings" / "jwst")
    os.symlink(CACHE / "config" / "jwst", root / "config" / "jwst")
    refs = root / "references" / "jwst" / "nircam"
    refs.mkdir(parents=True)
    for name, data in FAKE.items():
        (refs / name).write_bytes(data)
    return root


class Server:
    def __init__(self, root, *extra):
        self.proc = subprocess.Popen([sys.executable, str(SERVER), str(root), *extra],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def rpc(self, method, *params):
        body = json.dumps({"jsonrpc": "1.0", "method": method, "params": list(params),
                           "id": 1}).encode()
        req = urllib.request.Request(self.url + "/json/", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return resp.read()


@pytest.fixture
def server(server_root):
    s = Server(server_root)
    yield s
    s.stop()


def test_json_rpc_calls(server):
    assert json.loads(server.rpc("get_default_context", "jwst"))["result"] == "jwst_0541.pmap"
    names = json.loads(server.rpc("get_mapping_names", "jwst_0541.pmap"))["result"]
    assert len(names) == 124 and names[0] == "jwst_0541.pmap"
    assert "jwst_nircam_dark_0017.rmap" in names
    info = json.loads(server.rpc("get_file_info", "jwst_0541.pmap",
                                 "jwst_nircam_dark_0040.fits"))["result"]
    data = FAKE["jwst_nircam_dark_0040.fits"]
    assert info["size"] == str(len(data))
    assert info["sha1sum"] == hashlib.sha1(data).hexdigest()
    sinfo = json.loads(server.rpc("get_server_info"))["result"]
    assert sinfo["operational_context"] == "jwst_0541.pmap"
    assert "jwst_miri_dark_0025.fits" in sinfo["bad_files_list"]


def test_errors_are_json_rpc_errors(server):
    resp = json.loads(server.rpc("get_file_info", "jwst_0541.pmap", "nosuch.fits"))
    assert resp["result"] is None
    assert "not known" in resp["error"]["message"]
    resp = json.loads(server.rpc("no_such_method"))
    assert resp["error"]["name"] == "NotImplementedError"


def test_downloads(server):
    pmap = server.get("/unchecked_get/mappings/jwst/jwst_0541.pmap")
    assert pmap == (CACHE / "mappings" / "jwst" / "jwst_0541.pmap").read_bytes()
    ref = server.get("/unchecked_get/references/jwst/jwst_nircam_gain_0050.fits")
    assert ref == FAKE["jwst_nircam_gain_0050.fits"]
    with pytest.raises(urllib.error.HTTPError) as err:
        server.get("/unchecked_get/references/jwst/nosuch.fits")
    assert err.value.code == 404


@pytest.mark.parametrize("mode", ["garbage", "corrupt", "truncated"])
def test_failure_modes(server_root, mode):
    s = Server(server_root, "--mode", mode)
    try:
        data = s.get("/unchecked_get/references/jwst/jwst_nircam_dark_0040.fits")
        good = FAKE["jwst_nircam_dark_0040.fits"]
        assert data != good
        if mode == "corrupt":
            assert len(data) == len(good)
        if mode == "garbage":
            with pytest.raises(ValueError):
                json.loads(s.rpc("get_default_context", "jwst"))
    finally:
        s.stop()


def find_stpipe():
    if os.environ.get("STPIPE_EXE"):
        return Path(os.environ["STPIPE_EXE"])
    for build in sorted(SOURCE.glob("build*")):
        exe = build / "bin" / "stpipe"
        if exe.is_file() and os.access(exe, os.X_OK):
            return exe
    return shutil.which("stpipe")


def test_stpipe_crds_through_server(server, tmp_path):
    exe = find_stpipe()
    if exe is None:
        pytest.skip("no built stpipe program")
    probe = subprocess.run([str(exe), "crds", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("this stpipe build has no working crds subcommand")
    header = tmp_path / "h.json"
    header.write_text(json.dumps({
        "META.INSTRUMENT.NAME": "NIRCAM", "META.INSTRUMENT.DETECTOR": "NRCA1",
        "META.OBSERVATION.DATE": "2016-01-01", "META.OBSERVATION.TIME": "00:00:00",
        "META.EXPOSURE.TYPE": "NRC_IMAGE", "META.EXPOSURE.READPATT": "RAPID",
        "META.SUBARRAY.NAME": "FULL"}))
    cache = tmp_path / "cache"
    env = dict(os.environ, CRDS_PATH=str(cache), CRDS_SERVER_URL=server.url)
    env.pop("CRDS_CONTEXT", None)
    run = subprocess.run([str(exe), "crds", "bestrefs", str(header), "--types", "dark,barshadow"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"dark": "jwst_nircam_dark_0040.fits", "barshadow": "N/A"}
    run = subprocess.run([str(exe), "crds", "fetch", "jwst_nircam_dark_0040.fits"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    path = Path(run.stdout.strip())
    assert path.read_bytes() == FAKE["jwst_nircam_dark_0040.fits"]
    server.stop()
    env["CRDS_SERVER_URL"] = ""
    run = subprocess.run([str(exe), "crds", "bestrefs", str(header), "--types", "dark"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"dark": "jwst_nircam_dark_0040.fits"}


def test_encoded_results(server_root):
    import base64
    import gzip
    s = Server(server_root, "--mode", "encoded")
    try:
        result = json.loads(s.rpc("get_default_context", "jwst"))["result"]
        assert result["crds_encoded"] == "1.0"
        payload = gzip.decompress(base64.b64decode(result["crds_payload"]))
        assert json.loads(payload) == "jwst_0541.pmap"
    finally:
        s.stop()
