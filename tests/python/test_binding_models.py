"""Binding tests: data models from Python (attribute access, numpy views without copies, schema
checks on assignment, open/save) and models flowing through steps."""
import pathlib

import numpy as np
import pytest

import stpipe_cpp as sp
from stpipe_cpp import models


class ModelScaleStep(sp.Step):
    spec = """
    factor = float(default=2.0)   # multiply the data
    """

    def process(self, input):
        with models.open(input) as im:
            im.data *= self.factor
            return im


def ramp(shape=(1, 2, 4, 5)):
    m = models.RampModel()
    m.data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    return m


def address(a):
    return a.__array_interface__["data"][0]


def test_model_classes_reachable():
    for name in ("RampModel", "ImageModel", "CubeModel", "DarkModel", "GainModel", "MaskModel", "LinearityModel"):
        cls = getattr(models, name)
        assert issubclass(cls, models.DataModel)
        assert cls().model_type == name
    assert models.create_model("ImageModel").model_type == "ImageModel"


def test_array_assignment_adopts_without_copy():
    m = models.RampModel()
    arr = np.zeros((1, 2, 4, 5), dtype=np.float32)
    m.data = arr
    assert m._array_address("data") == address(arr)
    view = m.data
    assert address(view) == address(arr)
    assert view.shape == (1, 2, 4, 5) and view.dtype == np.float32
    # an edit on one side is seen on the other
    m.data[..., 1:3, 1:3] = 7
    assert arr[0, 1, 2, 2] == 7 and arr.sum() == 7 * 2 * 2 * 2
    arr[0, 0, 0, 0] = -1
    assert m.data[0, 0, 0, 0] == -1
    # the model keeps the buffer alive after Python drops its references
    del arr, view
    assert m.data[0, 0, 0, 0] == -1 and m.data.sum() == 55


def test_array_assignment_validates_against_schema():
    m = models.RampModel()
    with pytest.raises(ValueError, match="dimensions"):
        m.data = np.zeros((4, 5), dtype=np.float32)
    # another dtype is converted to the schema's (a copy)
    f64 = np.ones((1, 1, 2, 2))
    m.data = f64
    assert m.data.dtype == np.float32 and m._array_address("data") != address(f64)
    # non-contiguous input is made contiguous
    big = np.ones((1, 1, 4, 4), dtype=np.float32)
    m.data = big[..., ::2, ::2]
    assert m.data.shape == (1, 1, 2, 2) and m.data.flags["C_CONTIGUOUS"]
    with pytest.raises(TypeError):
        m.data = np.ones((1, 1, 2, 2), dtype=np.complex64)


def test_convert_model():
    m = models.Level1bModel()
    m.data = np.ones((1, 2, 3, 4), dtype=np.uint16)
    r = models.convert_model(m, "RampModel")
    assert isinstance(r, models.RampModel) and r.data.dtype == np.float32
    np.testing.assert_array_equal(r.data, np.ones((1, 2, 3, 4)))


def test_schema_arrays_allocate_on_access():
    m = ramp()
    assert m.groupdq.shape == (1, 2, 4, 5) and m.groupdq.dtype == np.uint8
    assert m.pixeldq.shape == (4, 5) and m.pixeldq.dtype == np.uint32
    assert "groupdq" in m.array_names


def test_meta_attribute_access():
    m = ramp()
    m.meta.instrument.name = "NIRCAM"
    m.meta.exposure.nints = 1
    assert m.meta.instrument.name == "NIRCAM"
    assert m.get_meta("meta.instrument.name") == "NIRCAM"
    assert m.meta.exposure.nints == 1
    assert m.meta.instrument.detector is None  # in the schema, not set
    with pytest.raises(AttributeError):
        m.meta.instrument.no_such_keyword_anywhere
    m.strict_validation = True
    with pytest.raises(ValueError):
        m.meta.exposure.nints = "many"


def test_save_and_open_roundtrip(tmp_path):
    m = ramp()
    m.meta.instrument.name = "NIRCAM"
    path = tmp_path / "jw_test_uncal.fits"
    m.save(path)
    back = models.open(path)
    assert isinstance(back, models.RampModel)
    assert address(back.data) == back._array_address("data")  # a view of the C++ buffer
    assert back.meta.instrument.name == "NIRCAM"
    np.testing.assert_array_equal(back.data, m.data)
    with pytest.raises(OSError):
        models.open(tmp_path / "missing.fits")


def test_model_in_model_out_through_steps(tmp_path):
    m = ramp()
    before = m.data.copy()
    r = sp.steps.NoOpStep.call(m)
    assert r is m  # the same model object comes back
    r = ModelScaleStep.call(m, factor=3)
    assert r is m
    np.testing.assert_array_equal(m.data, before * 3)
    assert not list(tmp_path.iterdir())
    r = ModelScaleStep.call(m, factor=2, save_results=True, output_dir=str(tmp_path))
    written = list(tmp_path.glob("*.fits"))
    assert len(written) == 1
    np.testing.assert_array_equal(models.open(written[0]).data, before * 6)


SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
UNCAL = SHARED / "vectors" / "1x10x256x256" / "fits" / "jw99999001001_01101_00001_nrca1_uncal.fits"


@pytest.mark.skipif(not UNCAL.exists(), reason=f"{UNCAL} not present")
def test_real_uncal_file():
    m = models.open(UNCAL)
    assert isinstance(m, models.RampModel)
    assert m.meta.instrument.name == "NIRCAM" and m.meta.instrument.detector == "NRCA1"
    assert m.data.shape == (1, 10, 256, 256) and m.data.dtype == np.float32
    assert m.meta.exposure.ngroups == 10
    assert address(m.data) == m._array_address("data")
    m.data[..., 10:20, 10:20] = 0
    assert m.get_array("data")[0, :, 10:20, 10:20].sum() == 0
    assert sp.steps.NoOpStep.call(m) is m
