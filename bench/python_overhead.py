"""Per-call overhead of a no-op step from Python: the C++ NoOpStep and a Python no-op step, each
through Step.call and through run() on a built instance (median of many calls, microseconds)."""
import argparse
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
    sp.configure_logging(level="ERROR")  # as under a quiet pipeline: no per-call log formatting
    product = sp.JsonProduct({"meta": {}, "data": [1.0]})
    cpp_step = sp.steps.NoOpStep()
    py_step = PyNoOpStep()
    cases = [
        ("C++ NoOpStep.call(product)", lambda: sp.steps.NoOpStep.call(product)),
        ("C++ NoOpStep instance.run(product)", lambda: cpp_step.run(product)),
        ("Python PyNoOpStep.call(product)", lambda: PyNoOpStep.call(product)),
        ("Python PyNoOpStep instance.run(product)", lambda: py_step.run(product)),
    ]
    print(f"median of {args.n} calls each:")
    for label, fn in cases:
        print(f"  {label:42s} {median_us(fn, args.n):9.1f} us")


if __name__ == "__main__":
    main()
