"""Data models: open/save, every model class, attribute access to metadata, arrays as numpy views."""
import os as _os

from . import _core

_m = _core.models
DataModel = _m.DataModel
create_model = _m.create_model
open_as = _m.open_as
convert_model = _m.convert_model

# Every model class bound in C++ (RampModel, ImageModel, ...).
for _name in dir(_m):
    _obj = getattr(_m, _name)
    if isinstance(_obj, type) and issubclass(_obj, DataModel):
        globals()[_name] = _obj
del _name, _obj


def open(init):
    """A model or product for a file name (.fits/.asdf as models, .json as JsonProduct), or the
    object itself when it already is one."""
    if isinstance(init, (DataModel, _core.Product)):
        return init
    path = _os.fspath(init)
    if path.endswith(".json"):
        return _core.JsonProduct.open(path)
    return _m.open(path)


def save(model, path):
    """Writes a model (by extension) or a product; returns the path."""
    model.save(_os.fspath(path))
    return _os.fspath(path)


class MetaNode:
    """Attribute access to a model's metadata tree: `m.meta.instrument.name`; assignments are
    validated against the schema (an invalid value is refused with a warning, or ValueError in
    strict mode)."""

    __slots__ = ("_model", "_path")

    def __init__(self, model, path):
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_path", path)

    def _is_object(self, path):
        node = self._model.schema_node(path)
        return isinstance(node, dict) and (node.get("type") == "object" or "properties" in node)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        path = f"{self._path}.{name}"
        value = self._model.get_meta(path)
        if isinstance(value, dict) or (value is None and self._is_object(path)):
            return MetaNode(self._model, path)
        if value is None and not self._model.schema_has(path):
            raise AttributeError(f"{path} is not set and not in the {self._model.model_type} schema")
        return value

    def __setattr__(self, name, value):
        self._model.set_meta(f"{self._path}.{name}", value)

    def __delattr__(self, name):
        self._model.remove_meta(f"{self._path}.{name}")

    def to_dict(self):
        value = self._model.get_meta(self._path)
        return value if isinstance(value, dict) else {}

    def __repr__(self):
        return f"<{self._path} {self.to_dict()!r}>"
