"""Binding tests: registry classes in Python, call/run/parameters, products, exception mapping."""
import json
import os
import pathlib

import pytest

import stpipe_cpp as sp
from stpipe_cpp import pipelines, steps


def dataset(tmp_path, data=(1.0, 2.0, 3.0), name="exp_uncal.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"meta": {}, "data": list(data)}))
    return path


def test_registry_classes_are_generated():
    names = {c["name"] for c in sp.registered_classes()}
    assert {"AddStep", "MultiplyStep", "ArithmeticPipeline", "NoOpStep"} <= names
    assert "AddStep" in dir(steps) and "ArithmeticPipeline" in dir(pipelines)
    assert "ArithmeticPipeline" not in dir(steps)
    from stpipe_cpp.steps import AddStep
    from stpipe_cpp.pipelines import ArithmeticPipeline

    assert AddStep.class_name == "AddStep" and "add" in AddStep.aliases
    assert ArithmeticPipeline.is_pipeline
    # aliases resolve to the same generated class
    assert steps.add is AddStep
    with pytest.raises(AttributeError):
        steps.NoSuchStep


def test_call_with_kwargs_and_steps(tmp_path):
    from stpipe_cpp.pipelines import ArithmeticPipeline

    p = sp.JsonProduct({"meta": {}, "data": [1.0, 2.0]})
    r = ArithmeticPipeline.call(p, steps={"add": {"value": 10}, "multiply": {"factor": 3}})
    # add 10 -> multiply 3 -> offset adds 1 (default)
    assert r.data == [34.0, 37.0]
    assert r.meta["cal_step"] == {"add": "COMPLETE", "multiply": "COMPLETE"}
    # products cross by reference: the C++ steps edited the object we passed
    assert r is p or r.data == p.data


def test_call_on_file_names_and_pathlike(tmp_path):
    from stpipe_cpp.steps import MultiplyStep

    path = dataset(tmp_path)
    r = MultiplyStep.call(str(path), factor=4)
    assert isinstance(r, sp.JsonProduct) and r.data == [4.0, 8.0, 12.0]
    r = MultiplyStep.call(pathlib.Path(path), factor=0.5)
    assert r.data == [0.5, 1.0, 1.5]
    assert not list(tmp_path.glob("*multiply*"))  # nothing written unless asked


def test_config_file_precedence(tmp_path):
    from stpipe_cpp.pipelines import ArithmeticPipeline

    cfg = tmp_path / "arith.cfg"
    cfg.write_text("name = 'arith'\nclass = 'ArithmeticPipeline'\n[steps]\n[[multiply]]\nfactor = 5\n[[add]]\nvalue = 2\n")
    p = sp.JsonProduct({"data": [0.0]})
    r = ArithmeticPipeline.call(p, config_file=cfg)
    assert r.data == [11.0]  # (0 + 2) * 5 + 1
    p = sp.JsonProduct({"data": [0.0]})
    r = ArithmeticPipeline.call(p, config_file=str(cfg), steps={"multiply": {"factor": 10}})
    assert r.data == [21.0]  # kwargs beat the config file
    s = ArithmeticPipeline(config_file=cfg)
    assert s.name == "arith"
    assert s.steps["multiply"].source_of("factor") == "config file"
    assert s.get_pars()["steps"]["add"]["value"] == 2.0


def test_save_results_and_output_dir(tmp_path):
    from stpipe_cpp.steps import AddStep

    path = dataset(tmp_path)
    out = tmp_path / "out"
    r = AddStep.call(str(path), value=1, save_results=True, output_dir=str(out))
    assert r.data == [2.0, 3.0, 4.0]
    written = out / "exp_addstep.json"
    assert written.exists()
    assert json.loads(written.read_text())["data"] == [2.0, 3.0, 4.0]


def test_instance_api():
    from stpipe_cpp.steps import MultiplyStep
    from stpipe_cpp.pipelines import ArithmeticPipeline

    s = MultiplyStep(factor=3)
    assert isinstance(s, MultiplyStep) and isinstance(s, sp._core.Step)
    assert s.name == "MultiplyStep" and s.factor == 3.0
    assert s.get_pars()["factor"] == 3.0 and s.get_pars()["save_results"] is False
    assert s.source_of("factor") == "command line" or s.source_of("factor") != "default"
    s.factor = 1.5
    assert s.factor == 1.5 and s.source_of("factor") != "default"
    with pytest.raises(ValueError, match="factor"):
        s.factor = "abc"
    r = s.run(sp.JsonProduct({"data": [2.0]}))
    assert r.data == [3.0]
    r = s(sp.JsonProduct({"data": [4.0]}))
    assert r.data == [6.0]
    pipe = ArithmeticPipeline(steps={"multiply": {"factor": 2}})
    assert pipe.multiply.factor == 2.0 and pipe.multiply.name == "multiply"
    assert pipe.multiply.qualified_name.endswith("ArithmeticPipeline.multiply")
    assert [n for n, _ in pipe.step_defs] == ["add", "multiply", "offset"]
    assert pipe.run(sp.JsonProduct({"data": [1.0]})).data == [5.0]
    with pytest.raises(AttributeError):
        pipe.nonexistent


def test_json_product_roundtrip(tmp_path):
    p = sp.JsonProduct({"meta": {"telescope": "JWST"}, "data": [1, 2]})
    p.data = [5.0, 6.0]
    meta = p.meta
    meta["x"] = 1
    p.meta = meta
    path = tmp_path / "p.json"
    p.save(str(path))
    q = sp.JsonProduct.open(str(path))
    assert q.data == [5.0, 6.0] and q.meta["telescope"] == "JWST" and q.meta["x"] == 1
    assert sp.models.open(str(path)).data == [5.0, 6.0]


def test_exception_mapping(tmp_path):
    from stpipe_cpp.steps import MultiplyStep

    kinds = {
        "config": (sp.ConfigError, ValueError),
        "validation": (sp.ValidationError, ValueError),
        "io": (sp.IoError, OSError),
        "reference": (sp.ReferenceFileError, LookupError),
        "step": (sp.StepError, RuntimeError),
        "other": (sp.Error, RuntimeError),
    }
    for kind, (mine, builtin) in kinds.items():
        with pytest.raises(builtin) as info:
            sp._core._raise(kind, f"message {kind}")
        assert isinstance(info.value, mine)
        assert str(info.value) == f"message {kind}"
    # real errors from the framework, with stpipe's messages
    with pytest.raises(ValueError) as info:
        MultiplyStep.call(sp.JsonProduct({"data": [1]}), factor="x")
    assert str(info.value) == "Config parameter 'factor': the value \"x\" is of the wrong type."
    with pytest.raises(ValueError, match="Extra value 'bogus' in root"):
        MultiplyStep(bogus=1)
    with pytest.raises(OSError):
        MultiplyStep.call(str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match="is not a path to a config file or a registered step class"):
        sp.call("NoSuchStepAnywhere", None)


def test_long_cpp_work_releases_the_gil(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the shell hook writes its input product into the cwd
    import threading
    import time

    from stpipe_cpp.steps import AddStep

    # The step runs a 0.5 s shell pre-hook inside C++; the main thread must keep running.
    done = {}

    def work():
        t0 = time.perf_counter()
        done["result"] = AddStep.call(sp.JsonProduct({"data": [1.0]}), pre_hooks=["sleep 0.5"])
        done["seconds"] = time.perf_counter() - t0

    t = threading.Thread(target=work)
    t.start()
    ticks = 0
    t0 = time.perf_counter()
    while t.is_alive() and time.perf_counter() - t0 < 5:
        ticks += 1
        time.sleep(0.01)
    t.join()
    assert done["result"].data == [2.0] and done["seconds"] >= 0.5
    assert ticks >= 25  # the main thread ran ~every 10 ms during the 0.5 s call
