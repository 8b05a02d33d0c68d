"""Per-call overhead of a no-op step from Python: the C++ NoOpStep and a Python no-op step, each
through Step.call and through run() on a built instance (median of many calls, microseconds).
Logging follows Python's `stpipe` logger: WARNING (Python's default: C++ drops the INFO records)
and INFO (each call's records go through Python's logging, to a NullHandler)."""
import argparse
import logging
import statistics
import time

import stpipe_cpp as sp


class PyNoOpStep(sp.Step):
    """Return the input unchanged."""

    def process(self, input):
        return input


def median_us(fn, n):
    for _ in range(min(50, n)):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=2000, help="calls per case")
    args = ap.parse_args()
    product = sp.JsonProduct({"meta": {}, "data": [1.0]})
    cpp_step = sp.steps.NoOpStep()
    py_step = PyNoOpStep()
    cases = [
        ("C++ NoOpStep.call(product)", lambda: sp.steps.NoOpStep.call(product)),
        ("C++ NoOpStep instance.run(product)", lambda: cpp_step.run(product)),
        ("Python PyNoOpStep.call(product)", lambda: PyNoOpStep.call(product)),
        ("Python PyNoOpStep instance.run(product)", lambda: py_step.run(product)),
    ]
    stpipe_logger = logging.getLogger("stpipe")
    stpipe_logger.addHandler(logging.NullHandler())
    stpipe_logger.propagate = False
    print(f"median of {args.n} calls each (microseconds):")
    print(f"  {'':44s} {'WARNING':>9s} {'INFO':>9s}")
    for label, fn in cases:
        stpipe_logger.setLevel(logging.WARNING)
        quiet = median_us(fn, args.n)
        stpipe_logger.setLevel(logging.INFO)
        info = median_us(fn, args.n)
        print(f"  {label:44s} {quiet:9.1f} {info:9.1f}")


if __name__ == "__main__":
    main()
