"""Many exposures through one pipeline: on this machine (strun processes) or on a Dask cluster.

Each exposure runs as its own ``strun`` process (``strun PIPELINE INPUT -j 1 ...``), so a crash
takes down only that exposure, and all a Dask worker receives is the pipeline name, the file
name and the parameters as text: nothing is pickled but strings. Every exposure leaves, beside
its products in ``output_dir``, ``<stem>.log`` (its whole log) and, when it succeeded,
``<stem>.batch.json`` (class, arguments, products with sizes and times), which ``skip_existing``
uses to leave finished exposures alone.

    from dask.distributed import Client, LocalCluster
    from stpipe_cpp import batch
    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
    results = batch.run("Detector1Pipeline", ["a_uncal.fits", "b_uncal.fits"], client=client,
                        output_dir="out", steps={"jump": {"rejection_threshold": 5}})
    for r in results:
        print(r["input"], r["status"], r["outputs"] or r["error"])
"""
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import time

__all__ = ["run", "strun_path", "expand_inputs", "strun_arguments"]


def strun_path():
    """The strun program: $STPIPE_STRUN, else the one built beside this package, else PATH."""
    env = os.environ.get("STPIPE_STRUN")
    if env:
        return env
    here = pathlib.Path(__file__).resolve().parent
    for cand in (here.parent.parent / "bin" / "strun", here.parent / "bin" / "strun"):
        if cand.exists():
            return str(cand)
    found = shutil.which("strun")
    if found:
        return found
    raise FileNotFoundError("cannot find the strun program (set STPIPE_STRUN)")


def expand_inputs(inputs):
    """File names with every ``@list`` replaced by the files it names (as strun does: one per
    line, blank lines and ``#`` comments skipped, relative to the list's folder)."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out = []
    for item in inputs:
        item = os.fspath(item)
        if not item.startswith("@"):
            out.append(item)
            continue
        listing = pathlib.Path(item[1:])
        names = []
        for line in listing.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                p = pathlib.Path(line)
                names.append(str(p if p.is_absolute() else listing.parent / p))
        if not names:
            raise ValueError(f"the input list '{listing}' names no file")
        out.extend(names)
    return out


def _value_text(v):
    if isinstance(v, bool):
        return "True" if v else "False"
    if v is None:
        return "None"
    if isinstance(v, (list, tuple)):
        return ",".join(_value_text(x) for x in v) + ("," if len(v) == 1 else "")
    return str(v)


def strun_arguments(params, prefix=""):
    """``--name=value`` options for strun from keyword parameters; nested dicts (``steps=
    {"jump": {"rejection_threshold": 5}}``) and dotted keys both give ``--steps.jump...``."""
    out = []
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(strun_arguments(value, name + "."))
        else:
            out.append(f"--{name}={_value_text(value)}")
    return out


def _stem(path):
    name = pathlib.Path(path).name
    for ext in (".fits.gz", ".fits", ".fit", ".fts", ".asdf", ".json"):
        if name.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return name


def _result(spec, returncode, seconds, stderr=""):
    out_dir = pathlib.Path(spec["output_dir"])
    log = out_dir / (_stem(spec["input"]) + ".log")
    record = out_dir / (_stem(spec["input"]) + ".batch.json")
    r = {"input": spec["input"], "returncode": returncode, "seconds": seconds, "log": str(log),
         "outputs": [], "error": "", "host": socket.gethostname(), "status": "ok"}
    skipped = f"[skip] {spec['input']}" in stderr
    if returncode == 0 and record.exists():
        rec = json.loads(record.read_text())
        r["outputs"] = [o["path"] for o in rec.get("outputs", [])]
        r["status"] = "skipped" if skipped else "ok"
        return r
    r["status"] = "crashed" if "CRASHED" in stderr else "failed"
    r["error"] = _log_error(log) if r["status"] == "failed" else ""
    if r["status"] == "crashed":
        m = re.search(r"killed by signal [^\n]*?\)", stderr)
        r["error"] = m.group(0) if m else "crashed"
    if not r["error"]:
        r["error"] = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {returncode}"
    return r


def _log_error(log):
    """The message of strun's error box in an exposure's log (its last line otherwise)."""
    try:
        lines = pathlib.Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    bar = "*" * 70
    for i in range(len(lines) - 3):
        if lines[i] == bar and lines[i + 2] == bar:
            msg = []
            for ln in lines[i + 3:]:
                if ln == bar:
                    break
                msg.append(ln.strip())
            return " ".join(msg)
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), "")


def _run_one(spec):
    """Runs one exposure (on a worker or here); never raises."""
    t0 = time.perf_counter()
    cmd = [spec["strun"], spec["pipeline"], spec["input"], "-j", "1",
           f"--output_dir={spec['output_dir']}"] + list(spec["args"])
    if spec.get("skip_existing"):
        cmd.append("--skip-existing")
    if spec.get("threads"):
        cmd += ["--threads-per-job", str(spec["threads"])]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=spec.get("cwd"))
        return _result(spec, p.returncode, time.perf_counter() - t0, p.stderr)
    except Exception as err:  # the worker reports, the batch goes on
        return {"input": spec["input"], "returncode": None, "seconds": time.perf_counter() - t0,
                "log": "", "outputs": [], "error": f"{type(err).__name__}: {err}",
                "host": socket.gethostname(), "status": "failed"}


def run(pipeline, inputs, client=None, output_dir=None, jobs=None, threads=None,
        skip_existing=False, strun=None, **params):
    """Runs ``pipeline`` (a class name, alias or .cfg file) on every input and returns one dict
    per exposure, in input order: ``input``, ``status`` ('ok', 'skipped', 'failed',
    'crashed'), ``returncode``, ``seconds``, ``outputs`` (product paths), ``error``, ``log``,
    ``host``. Parameters are strun's (``output_file``, ``steps={...}``, ``save_results``...).

    client: a ``dask.distributed.Client``: each exposure is one task (``client.map``); the
    workers need the same files at the same paths (shared storage) and strun (``strun=`` or
    $STPIPE_STRUN on the workers). Without a client, ``jobs`` exposures run at once here
    (default: the number of cores / ``threads``).
    threads: OpenMP threads per exposure. Default: on this machine cores / jobs; with Dask,
    this machine's cores / the most worker threads on one host (exact for a LocalCluster).
    """
    files = [str(pathlib.Path(f).absolute()) for f in expand_inputs(inputs)]
    out_dir = str(pathlib.Path(output_dir or os.getcwd()).absolute())
    os.makedirs(out_dir, exist_ok=True)
    args = strun_arguments(params)
    exe = strun or strun_path()
    cores = os.cpu_count() or 1
    if client is None:
        jobs = jobs or max(1, cores // (threads or 1))
        threads = threads or max(1, cores // jobs)
        specs = [dict(strun=exe, pipeline=pipeline, input=f, output_dir=out_dir, args=args,
                      skip_existing=skip_existing, threads=threads) for f in files]
        # Local: strun processes (each one exposure), `jobs` at a time.
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(_run_one, specs))
    if threads is None:
        per_host = {}
        for addr, w in client.scheduler_info().get("workers", {}).items():
            host = w.get("host") or addr.split("://")[-1].rsplit(":", 1)[0]
            per_host[host] = per_host.get(host, 0) + int(w.get("nthreads", 1))
        threads = max(1, cores // max(per_host.values() or [1]))
    specs = [dict(strun=exe, pipeline=pipeline, input=f, output_dir=out_dir, args=args,
                  skip_existing=skip_existing, threads=threads) for f in files]
    futures = client.map(_run_one, specs, pure=False)
    results = []
    for spec, fut in zip(specs, futures):
        try:
            results.append(fut.result())
        except Exception as err:  # a lost worker: this exposure failed, the others stand
            results.append({"input": spec["input"], "returncode": None, "seconds": 0.0, "log": "",
                            "outputs": [], "error": f"{type(err).__name__}: {err}",
                            "host": "", "status": "failed"})
    return results
