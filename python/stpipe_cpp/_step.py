"""Python Step and Pipeline base classes (trampolines over the C++ core), their logger, call()."""
import os
import textwrap

from . import _core


def call(class_name, input, config_file=None, steps=None, save_results=False, **params):
    """Step.call by class name: config file, then keyword parameters (`steps` for sub-steps)."""
    overrides = dict(params)
    if steps:
        overrides["steps"] = steps
    if config_file is not None:
        config_file = os.fspath(config_file)
    return _core.call(class_name, input, config_file, overrides, save_results)


class StepLogger:
    """A step's logger: records go to the C++ logger `stpipe.<pipeline>.<step>` (and from there
    to Python's logging when used from Python, or to strun's handlers)."""

    DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50

    def __init__(self, step):
        self._step = step

    @property
    def name(self):
        return self._step.qualified_name

    def log(self, level, msg, *args):
        if args:
            msg = msg % args
        _core._log(self._step.qualified_name, int(level), str(msg))

    def debug(self, msg, *args):
        self.log(10, msg, *args)

    def info(self, msg, *args):
        self.log(20, msg, *args)

    def warning(self, msg, *args):
        self.log(30, msg, *args)

    warn = warning

    def error(self, msg, *args):
        self.log(40, msg, *args)

    def critical(self, msg, *args):
        self.log(50, msg, *args)


def _class_name_of(cls_or_name):
    """The registered name of a step class given as a Python class, generated class or string."""
    if isinstance(cls_or_name, str):
        return cls_or_name
    info = getattr(cls_or_name, "_info", None)
    if isinstance(info, dict):
        return info["class_name"]
    name = getattr(cls_or_name, "class_name", None)
    if isinstance(name, str):
        return name
    raise TypeError(f"{cls_or_name!r} is not a step class")


# Python classes by registered name: the C++ factory always builds the newest definition, so a
# class redefined in an interactive session replaces the old one.
_classes = {}


class _StepMixin:
    """What Python step and pipeline classes add to the C++ Step: class attributes as the step's
    description, registration on class creation, construction from keyword parameters."""

    spec = ""
    reference_file_types = ()
    class_alias = None
    cal_step_key = ""
    step_defs = {}
    is_linear = True
    _info = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_abstract"):
            return
        dotted = f"{cls.__module__}.{cls.__qualname__}"
        aliases = [a for a in (cls.class_alias,) if a] + [dotted]
        doc = (cls.__doc__ or "").strip().splitlines()
        cls._info = {
            "class_name": cls.__name__,
            "aliases": aliases,
            "spec": textwrap.dedent(cls.spec or "").strip("\n") + "\n",
            "reference_file_types": list(cls.reference_file_types or ()),
            "cal_step_key": cls.cal_step_key or "",
            "doc": doc[0] if doc else "",
            "step_defs": [(n, _class_name_of(c)) for n, c in dict(cls.step_defs or {}).items()],
            "is_linear": bool(cls.is_linear),
        }
        _register(cls, dotted)

    def __init__(self, name=None, parent=None, config_file=None, _unconfigured=False, **params):
        """A configured step: spec defaults, then `config_file`, then keyword parameters."""
        self._core_base.__init__(self)
        self._set_class_info(type(self)._info)
        if not _unconfigured:
            steps = params.pop("steps", None)
            if steps:
                params["steps"] = steps
            self._configure(config_file, params, name or "")

    @classmethod
    def _new_unconfigured(cls):
        return cls(_unconfigured=True)

    @classmethod
    def call(cls, input, config_file=None, steps=None, save_results=False, **params):
        """Builds the step from every parameter layer and runs it (stpipe's Step.call)."""
        return call(cls._info["class_name"], input, config_file, steps, save_results, **params)

    @property
    def log(self):
        return StepLogger(self)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


def _register(cls, dotted):
    info = cls._info
    name = info["class_name"]
    for key in (name, dotted):
        old = _classes.get(key)
        if old is not None and f"{old.__module__}.{old.__qualname__}" == dotted:
            # The same class defined again (a reloaded module, a re-run cell): the registry keeps
            # its entry and builds the new definition from now on.
            _classes[key] = cls
            info["class_name"] = key
            return
    if name in _classes or _core.find_class(name) is not None:
        # Another class has this name: register under the dotted path only.
        name = dotted
        info["class_name"] = dotted
        info["aliases"] = [a for a in info["aliases"] if a != dotted and _core.find_class(a) is None]
    _classes[name] = cls
    try:
        _core._register_python_class(lambda: _classes[name](_unconfigured=True))
    except Exception:
        del _classes[name]
        raise


class _StepMeta(type(_core.Step)):
    """isinstance(x, sp.Step) holds for every step, C++ or Python, pipelines included."""

    def __instancecheck__(cls, obj):
        if cls is Step:
            return isinstance(obj, _core.Step)
        return super().__instancecheck__(obj)

    def __subclasscheck__(cls, sub):
        if cls is Step:
            return isinstance(sub, type) and issubclass(sub, _core.Step)
        return super().__subclasscheck__(sub)


class Step(_StepMixin, _core.Step, metaclass=_StepMeta):
    """Base of steps written in Python: set `spec` (configspec text), define `process(self, input)`;
    optional `reference_file_types`, `class_alias`, `cal_step_key`."""

    _abstract = True
    _core_base = _core.Step


class Pipeline(_StepMixin, _core.Pipeline):
    """Base of pipelines written in Python: `step_defs = {"name": StepClass, ...}`; without a
    `process` the sub-steps run in order (a linear pipeline)."""

    _abstract = True
    _core_base = _core.Pipeline
