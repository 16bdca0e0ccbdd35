"""The local Lambda's per-invocation environment: the function's variables for its thread only."""

from __future__ import annotations

import json
import os
import sys
import threading

import pytest

from local_runtime.emf import ExtractedMetric
from local_runtime.lambda_invoke import LocalFunction, LocalLambda, _environment, per_thread_environ

VARIABLE = "LOCAL_LAMBDA_TEST_VARIABLE"


@pytest.fixture(autouse=True)
def _absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)


@pytest.mark.compatibility("lambda:Invoke")
def test_an_invocation_sees_its_variables_and_the_process_never_gets_them() -> None:
    # GIVEN an invocation's environment, entered in this thread
    seen_elsewhere: list[str | None] = []
    with _environment({VARIABLE: "inside"}):
        # WHEN another thread reads the environment meanwhile
        reader = threading.Thread(target=lambda: seen_elsewhere.append(os.environ.get(VARIABLE)))
        reader.start()
        reader.join()

        # THEN this thread sees the variable, as getenv and a copy do; the other thread and the process do not
        assert os.environ[VARIABLE] == "inside"
        assert os.getenv(VARIABLE) == "inside"
        assert os.environ.copy()[VARIABLE] == "inside"
        assert VARIABLE in dict(os.environ)
        assert seen_elsewhere == [None]
        assert VARIABLE.encode() not in os.environ._data  # type: ignore[attr-defined]
    assert VARIABLE not in os.environ


def test_what_a_handler_sets_or_removes_lasts_as_long_as_its_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_LAMBDA_TEST_KEPT", "process")

    with _environment({}):
        os.environ[VARIABLE] = "set by the handler"
        del os.environ["LOCAL_LAMBDA_TEST_KEPT"]
        assert os.environ[VARIABLE] == "set by the handler"
        assert "LOCAL_LAMBDA_TEST_KEPT" not in os.environ
        assert "LOCAL_LAMBDA_TEST_KEPT" not in os.environ.copy()
        with pytest.raises(KeyError):
            del os.environ["LOCAL_LAMBDA_TEST_KEPT"]

    assert VARIABLE not in os.environ
    assert os.environ["LOCAL_LAMBDA_TEST_KEPT"] == "process"


def test_copying_the_environment_while_invocations_come_and_go_never_fails() -> None:
    # GIVEN one thread entering and leaving invocations with a variable the process does not have, the interpreter
    # switching threads every 10 µs instead of every 5 ms (more interleavings in 2,000 copies than in 20,000 before)
    per_thread_environ()
    stop = threading.Event()
    failures: list[BaseException] = []

    def invocations() -> None:
        while not stop.is_set():
            with _environment({VARIABLE: "x"}):
                pass

    def copies() -> None:
        try:
            for _ in range(2_000):
                assert VARIABLE not in {**os.environ}
                os.environ.copy()
        except BaseException as error:  # the KeyError this used to raise, or the variable leaking
            failures.append(error)
        finally:
            stop.set()

    # WHEN another thread copies the environment meanwhile
    threads = [threading.Thread(target=invocations), threading.Thread(target=copies)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)

    # THEN no copy failed or saw the invocation's variable
    assert failures == []


def test_an_invocation_leaves_no_metrics_behind_when_metrics_are_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    from local_runtime.lambda_invoke import _fresh_metrics

    # GIVEN metrics disabled, as the local runtime's quiet mode has them, and a handler that adds one and flushes
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics = Metrics(namespace="Test", service="test")
    with _fresh_metrics():
        metrics.add_metric(name="Handled", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
        # Powertools neither printed nor cleared it
        assert "Handled" in metrics.provider.metric_set

    # THEN nothing is left for the next flush that prints
    assert not metrics.provider.metric_set


@pytest.mark.compatibility("cloudwatch:emf")
def test_the_metrics_a_handler_prints_are_published_in_its_account_and_region(
    aws_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a function whose handler counts itself with Powertools, in account 111122223333 and eu-west-1
    published: list[tuple[str, str, list[ExtractedMetric]]] = []
    functions = LocalLambda(metrics=lambda account, region, metrics: published.append((account, region, metrics)))
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:counted"
    function = LocalFunction("counted", arn, "tests.unit.local_runtime.metrics_handler.handler")

    # WHEN it is invoked
    result = functions.invoke(function, json.dumps({"pipeline": "ops"}).encode())

    # THEN its metric was published there, with Powertools' dimensions and the handler's, and only its plain line shown
    assert result.function_error is None
    [(account, region, metrics)] = published
    assert (account, region) == ("111122223333", "eu-west-1")
    assert [(m.namespace, m.name, dict(m.dimensions), m.values) for m in metrics] == [
        ("LocalRuntimeTests", "Handled", {"service": "metrics_handler", "pipeline": "ops"}, (1.0,))
    ]
    assert capsys.readouterr().out == "handled\n"


@pytest.mark.compatibility("lambda:Invoke")
def test_each_invocation_reports_its_duration_memory_and_log_bytes_as_lambda_s_report_line_does(
    aws_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a 512 MB function whose handler prints one plain line and one EMF document
    functions = LocalLambda(metrics=lambda account, region, metrics: None)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:counted"
    function = LocalFunction("counted", arn, "tests.unit.local_runtime.metrics_handler.handler", memory_mb=512)

    # WHEN it is invoked twice
    for _ in range(2):
        functions.invoke(function, json.dumps({"pipeline": "ops"}).encode())

    # THEN each invocation has its report: every byte it wrote (the EMF document too: CloudWatch Logs ingests it)
    shown = capsys.readouterr().out
    assert shown == "handled\nhandled\n"
    first, second = functions.reports
    assert (first.function, first.memory_mb) == ("counted", 512)
    assert first.log_bytes == second.log_bytes > len(b"handled\n") + len(b'{"_aws":')
    assert 0 < first.duration_seconds < 5
    # billed: the duration rounded up to the millisecond, at half a GB
    assert first.billed_gb_seconds >= first.duration_seconds / 2
    assert first.billed_gb_seconds - first.duration_seconds / 2 <= 0.0005 + 1e-12
