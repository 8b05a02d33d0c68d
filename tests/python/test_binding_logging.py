"""Binding tests: C++ log records arrive in Python's logging exactly once; Python steps log too."""
import logging

import stpipe_cpp as sp


class LoggingStep(sp.Step):
    spec = ""

    def process(self, input):
        self.log.info("python step says %d", 42)
        self.log.warning("careful")
        return input


def product():
    return sp.JsonProduct({"meta": {}, "data": [1.0]})


def messages(caplog, needle):
    return [r for r in caplog.records if needle in r.getMessage()]


def test_cpp_records_reach_python_logging_once(caplog, capfd):
    caplog.set_level(logging.INFO, logger="stpipe")
    sp.steps.AddStep.call(product(), value=2)
    done = messages(caplog, "Step AddStep done")
    assert len(done) == 1
    assert done[0].name == "stpipe.AddStep" and done[0].levelno == logging.INFO
    assert len(messages(caplog, "Step AddStep running with args")) == 1
    # nothing went to the terminal besides Python's own handlers
    out, err = capfd.readouterr()
    assert "Step AddStep done" not in out and "Step AddStep done" not in err


def test_pipeline_logger_names(caplog):
    caplog.set_level(logging.INFO, logger="stpipe")
    sp.pipelines.ArithmeticPipeline.call(product())
    names = {r.name for r in caplog.records}
    assert {"stpipe.ArithmeticPipeline", "stpipe.ArithmeticPipeline.multiply"} <= names
    assert len(messages(caplog, "Step multiply done")) == 1


def test_python_step_log_goes_through_the_same_path(caplog):
    caplog.set_level(logging.INFO, logger="stpipe")
    LoggingStep.call(product())
    says = messages(caplog, "python step says 42")
    assert len(says) == 1 and says[0].name == "stpipe.LoggingStep"
    warn = messages(caplog, "careful")
    assert len(warn) == 1 and warn[0].levelno == logging.WARNING


def test_python_level_filters_cpp_records(caplog):
    caplog.set_level(logging.WARNING, logger="stpipe")
    LoggingStep.call(product())
    assert not messages(caplog, "python step says")
    assert len(messages(caplog, "careful")) == 1
    caplog.set_level(logging.DEBUG, logger="stpipe")
    LoggingStep.call(product())
    assert len(messages(caplog, "python step says")) == 1
