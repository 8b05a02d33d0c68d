"""Binding tests: steps and pipelines written in Python, in the C++ registry, pipelines and hooks."""
import json

import pytest

import stpipe_cpp as sp
from stpipe_cpp import models

CALLS = []


class ScaleStep(sp.Step):
    """Multiply the data by a factor (a Python step)."""

    spec = """
    factor = float(default=2.0)   # multiply the data
    label = string(default='x')   # free text
    """
    class_alias = "py_scale"
    cal_step_key = "py_scale"

    def process(self, input):
        with models.open(input) as im:
            im.data = [v * self.factor for v in im.data]
            self.log.info("scaled by %s", self.factor)
            return im


class FailingStep(sp.Step):
    spec = "mode = option('value', 'type', default='value')"

    def process(self, input):
        if self.mode == "value":
            raise ValueError("bad data in FailingStep")
        raise TypeError("wrong type")


class MixedPipeline(sp.Pipeline):
    """add (C++) then scale (Python) then multiply (C++)."""

    spec = "note = string(default='')"
    step_defs = {"add": "AddStep", "scale": ScaleStep, "multiply": sp.steps.MultiplyStep}


class CustomPipeline(sp.Pipeline):
    step_defs = {"scale": ScaleStep, "add": "AddStep"}

    def process(self, input):
        r = self.scale(input)
        r = self.add.run(r)
        return self.add.run(r)


def record_hook(model):
    """A Python-function hook: records what it received and edits the data."""
    CALLS.append(model.data if isinstance(model, sp.JsonProduct) else model)
    model.data = [v + 100 for v in model.data]
    return model


def none_hook(model):
    CALLS.append("none")


def product(*values):
    return sp.JsonProduct({"meta": {}, "data": list(values)})


def test_registered_by_name_and_dotted_path():
    dotted = f"{__name__}.ScaleStep"
    assert sp.find_class("ScaleStep") == "ScaleStep"
    assert sp.find_class(dotted) == "ScaleStep"
    assert sp.find_class("py_scale") == "ScaleStep"
    info = {c["name"]: c for c in sp.registered_classes()}["ScaleStep"]
    assert dotted in info["aliases"] and info["doc"] == "Multiply the data by a factor (a Python step)."
    assert info["is_pipeline"] is False and {c["name"]: c for c in sp.registered_classes()}["MixedPipeline"]["is_pipeline"]


def test_instance_api():
    s = ScaleStep(factor=3)
    assert s.factor == 3.0 and s.label == "x" and s.name == "ScaleStep"
    pars = s.get_pars()
    assert pars["factor"] == 3.0 and pars["label"] == "x" and "pre_hooks" in pars
    assert s.run(product(1.0, 2.0)).data == [3.0, 6.0]
    s.factor = 0.5
    assert s.run(product(4.0)).data == [2.0]
    with pytest.raises(ValueError, match="Extra value 'nope' in root"):
        ScaleStep(nope=1)
    with pytest.raises(ValueError, match="factor"):
        ScaleStep(factor="abc")
    assert ScaleStep(name="myscale").name == "myscale"


def test_call_goes_through_the_registry_and_records_cal_step(tmp_path):
    r = ScaleStep.call(product(1.0), factor=5)
    assert r.data == [5.0] and r.meta["cal_step"]["py_scale"] == "COMPLETE"
    path = tmp_path / "in_uncal.json"
    path.write_text(json.dumps({"meta": {}, "data": [2.0]}))
    r = sp.call(f"{__name__}.ScaleStep", str(path), factor=2, save_results=True, output_dir=str(tmp_path))
    assert r.data == [4.0]
    assert json.loads((tmp_path / "in_scalestep.json").read_text())["data"] == [4.0]


def test_python_step_inside_pipeline_with_cpp_steps():
    r = MixedPipeline.call(product(1.0, 2.0), steps={"scale": {"factor": 10}, "multiply": {"factor": 3}})
    assert r.data == [60.0, 90.0]  # ((x + 1) * 10) * 3
    pipe = MixedPipeline(steps={"scale": {"factor": 4}})
    assert isinstance(pipe.scale, ScaleStep) and pipe.scale.factor == 4.0
    assert isinstance(pipe, sp.Step) and isinstance(pipe, sp.Pipeline) and issubclass(MixedPipeline, sp.Step)
    assert isinstance(pipe.add, sp.Step) and not isinstance(pipe.add, ScaleStep)
    assert pipe.scale.qualified_name.endswith("MixedPipeline.scale")
    assert pipe.get_pars()["steps"]["scale"]["factor"] == 4.0
    assert pipe.run(product(0.0)).data == [8.0]
    assert CustomPipeline.call(product(1.0)).data == [4.0]  # 1*2 + 1 + 1


def test_python_step_inside_cpp_pipeline_as_hook():
    # ArithmeticPipeline is C++; its multiply sub-step runs the Python step as a post-hook.
    r = sp.pipelines.ArithmeticPipeline.call(
        product(1.0), steps={"multiply": {"post_hooks": [f"{__name__}.ScaleStep"]}}
    )
    assert r.data == [9.0]  # ((1 + 1) * 2) * 2 + 1


def test_python_function_hooks():
    CALLS.clear()
    r = sp.steps.AddStep.call(product(1.0), pre_hooks=[f"{__name__}.record_hook"], post_hooks=[f"{__name__}.none_hook"])
    assert CALLS == [[1.0], "none"]
    assert r.data == [102.0]  # hook adds 100 before AddStep adds 1


class FailingPipeline(sp.Pipeline):
    step_defs = {"add": "AddStep", "fail": FailingStep}


def failing_hook(model):
    raise KeyError("hook failed")


def test_exceptions_from_python_code_come_back_as_themselves():
    # Python exceptions raised in process() cross the C++ frames and arrive unchanged
    with pytest.raises(ValueError) as info:
        FailingStep.call(product(1.0))
    assert str(info.value) == "bad data in FailingStep" and not isinstance(info.value, sp.Error)
    with pytest.raises(TypeError, match="wrong type"):
        FailingStep(mode="type").run(product(1.0))
    with pytest.raises(ValueError, match="bad data in FailingStep"):
        FailingPipeline.call(product(1.0))
    with pytest.raises(KeyError, match="hook failed"):
        sp.steps.AddStep.call(product(1.0), post_hooks=[f"{__name__}.failing_hook"])
    # C++ errors keep their mapping afterwards
    with pytest.raises(sp.ConfigError):
        FailingStep.call(product(1.0), mode="nope")


def test_redefining_a_class_replaces_it():
    ns = {"__name__": __name__, "sp": sp}
    src = """
class RedefinedStep(sp.Step):
    spec = "k = integer(default={k})"
    def process(self, input):
        input.data = [self.k]
        return input
"""
    exec(src.format(k=1), ns)
    assert sp.call("RedefinedStep", product(0)).data == [1]
    exec(src.format(k=2), ns)
    assert sp.call("RedefinedStep", product(0)).data == [2]


def test_step_objects_survive_ownership_round_trips():
    import gc

    pipe = MixedPipeline()
    sub = pipe.scale
    sub.extra_attribute = 42
    del pipe
    gc.collect()
    # the sub-step belonged to the pipeline; the Python object stays valid while referenced
    pipe = sp.pipelines.MixedPipeline()
    assert pipe.scale.factor == 2.0
    built = sp._core.build("ScaleStep", None, {"factor": 7})
    assert isinstance(built, ScaleStep) and built.factor == 7.0
    assert built.run(product(1.0)).data == [7.0]


class RefStep(sp.Step):
    spec = "x = integer(default=1)"
    reference_file_types = ["gain", "readnoise"]

    def process(self, input):
        input.data = [self.reference_path("gain")]
        return input


def test_reference_file_types_add_override_parameters(tmp_path):
    s = RefStep()
    pars = s.get_pars()
    assert "override_gain" in pars and "override_readnoise" in pars
    assert s.reference_file_types == ["gain", "readnoise"]
    gain = tmp_path / "gain.fits"
    gain.write_text("not really fits")
    noise = tmp_path / "noise.fits"
    noise.write_text("x")
    r = RefStep.call(product(0.0), override_gain=str(gain), override_readnoise=str(noise))
    assert r.data == [str(gain)]
    assert r.meta["ref_file"]["gain"]["name"].endswith("gain.fits")
