"""An invocation's EMF lines become metrics instead of terminal lines; everything else still reaches the terminal."""

from __future__ import annotations

import json
import logging
import sys
import threading

import pytest

from local_runtime.emf import ExtractedMetric
from local_runtime.function_output import metrics_from_stdout

EMF = json.dumps(
    {
        "_aws": {
            "Timestamp": 1_796_000_000_000,
            "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["pipeline"]], "Metrics": [{"Name": "Failed"}]}],
        },
        "pipeline": "ops",
        "Failed": 1,
    }
)


def test_emf_lines_are_published_and_other_lines_reach_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an invocation that logs, prints a metric in two writes, and ends without a newline
    published: list[list[ExtractedMetric]] = []

    # WHEN it runs with its output tapped
    with metrics_from_stdout(published.append, source="NotifySlack"):
        print("before")
        sys.stdout.write(EMF[:20])
        sys.stdout.write(EMF[20:] + "\nafter\n")
        sys.stdout.write("no newline")

    # THEN the metric went to the publisher, once, and only the plain lines to the terminal
    assert [[(m.namespace, m.name, m.dimensions, m.values) for m in batch] for batch in published] == [
        [("N", "Failed", (("pipeline", "ops"),), (1.0,))]
    ]
    assert capsys.readouterr().out == "before\nafter\nno newline"


def test_another_threads_output_is_left_alone(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a metric printed by another thread while an invocation's output is tapped
    published: list[list[ExtractedMetric]] = []
    with metrics_from_stdout(published.append, source="NotifySlack"):
        other = threading.Thread(target=lambda: print(EMF))
        other.start()
        other.join()

    # THEN it was not the invocation's: not published, shown as it was
    assert published == []
    assert capsys.readouterr().out == EMF + "\n"


def test_the_process_stdout_is_given_back_after_the_invocation() -> None:
    before = sys.stdout

    with metrics_from_stdout(lambda metrics: None, source="f"):
        assert sys.stdout is not before

    assert sys.stdout is before


def test_a_broken_emf_document_is_shown_and_warned_about(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a document whose metric has no value
    broken = json.dumps({**json.loads(EMF), "Failed": "one"})
    published: list[list[ExtractedMetric]] = []

    # WHEN an invocation prints it
    with (
        caplog.at_level(logging.WARNING, "local_runtime.function_output"),
        metrics_from_stdout(published.append, source="NotifySlack"),
    ):
        print(broken)

    # THEN no metric, the line is kept as a log line, and the warning names the function and the rule
    assert published == []
    assert capsys.readouterr().out == broken + "\n"
    assert "NotifySlack printed an EMF document" in caplog.text
    assert "metric 'Failed' needs a number" in caplog.text


def test_a_publisher_that_fails_does_not_fail_the_functions_print(caplog: pytest.LogCaptureFixture) -> None:
    def refuse(metrics: list[ExtractedMetric]) -> None:
        raise RuntimeError("no CloudWatch")

    with (
        caplog.at_level(logging.WARNING, "local_runtime.function_output"),
        metrics_from_stdout(refuse, source="NotifySlack"),
    ):
        print(EMF)

    assert "NotifySlack: the local CloudWatch refused its metrics" in caplog.text
