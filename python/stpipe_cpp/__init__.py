"""stpipe_cpp: Python interface to the C++ stpipe framework (steps, pipelines, models, strun)."""
import importlib
import os

from . import _core
from ._core import (
    ConfigError,
    Error,
    IoError,
    JsonProduct,
    Product,
    ReferenceFileError,
    StepError,
    ValidationError,
    configure_logging,
    find_class,
    load_config_file,
    load_plugin,
    registered_classes,
)
from ._step import Pipeline, Step, StepLogger, call
from . import models, pipelines, steps

__all__ = [
    "Step", "Pipeline", "StepLogger", "call", "models", "steps", "pipelines", "Product",
    "JsonProduct", "Error", "ConfigError", "ValidationError", "IoError", "ReferenceFileError",
    "StepError", "registered_classes", "find_class", "load_plugin", "load_config_file",
    "configure_logging",
]


def _import_dotted(name):
    """The object named by a dotted path `pkg.module.attr`, or None if the module is missing."""
    module, _, attr = name.rpartition(".")
    if not module or not attr:
        return None
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as err:
        # Only "no such module" means "not a Python name"; errors inside the module propagate.
        if err.name and (module == err.name or module.startswith(err.name + ".")):
            return None
        raise
    return getattr(mod, attr, None)


def _resolve_class(name):
    """Class resolver of the C++ registry: imports `module.Class` (which registers it)."""
    obj = _import_dotted(name)
    if isinstance(obj, type) and issubclass(obj, _step._StepMixin) and getattr(obj, "_info", None):
        return obj
    return None


def _resolve_hook(text):
    """Hook resolver: a Python step class or a function `module.func`, or None."""
    obj = _import_dotted(text)
    if isinstance(obj, type) and issubclass(obj, _step._StepMixin) and getattr(obj, "_info", None):
        return obj
    if callable(obj) and not isinstance(obj, type):
        return obj
    return None


from . import _step  # noqa: E402  (the module object, for the resolvers)
