"""Every step class of the C++ registry as a Python class (generated, so new registrations and
plugins appear without a hand-written list): `from stpipe_cpp.steps import JumpStep`."""
from . import _registered

__getattr__, __dir__ = _registered.module_hooks(pipelines=False)
