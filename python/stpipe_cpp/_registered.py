"""Python classes generated from the C++ step registry (steps and pipelines modules)."""
from . import _core
from ._step import call


class _RegisteredMeta(type):
    """isinstance(step, JumpStep) is true for C++ step objects of that class."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, _core.Step) and obj.class_name == cls.class_name

    def __repr__(cls):
        return f"<registered step class {cls.class_name}>"


class RegisteredStep(metaclass=_RegisteredMeta):
    """A class of the C++ registry. Instances are the C++ steps themselves."""

    class_name = None
    aliases = ()
    is_pipeline = False

    def __new__(cls, config_file=None, steps=None, **params):
        """A configured instance (config file, then keyword parameters)."""
        if steps:
            params["steps"] = steps
        return _core.build(cls.class_name, config_file, params)

    @classmethod
    def call(cls, input, config_file=None, steps=None, save_results=False, **params):
        """Builds the step from every parameter layer and runs it (stpipe's Step.call)."""
        return call(cls.class_name, input, config_file, steps, save_results, **params)


_cache = {}


def class_for(info):
    """The generated class for a registry entry (made once)."""
    name = info["name"]
    if name not in _cache:
        _cache[name] = _RegisteredMeta(
            name,
            (RegisteredStep,),
            {
                "class_name": name,
                "aliases": tuple(info["aliases"]),
                "is_pipeline": info["is_pipeline"],
                "__doc__": info["doc"],
                "__module__": "stpipe_cpp.pipelines" if info["is_pipeline"] else "stpipe_cpp.steps",
            },
        )
    return _cache[name]


def _entries(pipelines):
    return [i for i in _core.registered_classes() if i["is_pipeline"] == pipelines]


def module_hooks(pipelines):
    """__getattr__ and __dir__ for a module listing the registry's steps or pipelines."""

    def __getattr__(name):
        for info in _entries(pipelines):
            if name == info["name"] or name in info["aliases"]:
                return class_for(info)
        raise AttributeError(f"no registered {'pipeline' if pipelines else 'step'} class '{name}'")

    def __dir__():
        return sorted(i["name"] for i in _entries(pipelines))

    return __getattr__, __dir__
