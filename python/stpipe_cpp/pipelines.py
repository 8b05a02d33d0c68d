"""Every pipeline class of the C++ registry as a Python class (generated):
`from stpipe_cpp.pipelines import Detector1Pipeline`."""
from . import _registered

__getattr__, __dir__ = _registered.module_hooks(pipelines=True)
