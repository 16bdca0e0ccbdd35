"""The demo's story, run in-process: train and deploy, no new data, retrain with zero downtime, predict."""

from __future__ import annotations

import importlib.util
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from demo.data import today_utc
from demo.story import run_demo
from demo.summary import DemoSummary
from local_runtime.runtime import iam_enforced_by_default
from operator_cli.progress import Console

pytestmark = pytest.mark.e2e

# Until the SageMaker emulator is there, moto answers at once with canned predictions.
EMULATED = importlib.util.find_spec("local_runtime.sagemaker.training") is not None


@dataclass(frozen=True)
class Demo:
    summary: DemoSummary
    output: str


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    stream = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        # The local AWS sets MOTO_PORT for moto's interpreter; other tests' servers need theirs back.
        if "MOTO_PORT" in os.environ:
            patch.setenv("MOTO_PORT", os.environ["MOTO_PORT"])
        else:
            patch.delenv("MOTO_PORT", raising=False)
        for name in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL"):
            patch.delenv(name, raising=False)
        # Handlers' loggers and metrics live for the whole process: left as the other tests expect them.
        summary = run_demo(Console(stream, color=False), emulate_sagemaker=EMULATED, quiet_functions=False)
    return Demo(summary=summary, output=stream.getvalue())


def test_the_story_runs_as_told(demo: Demo) -> None:
    runs = {run.label: run for run in demo.summary.runs}

    assert demo.summary.problems() == []
    assert (runs["a"].status, runs["a"].end_state, runs["a"].action) == ("SUCCEEDED", "Deployed", "create")
    assert (runs["b"].status, runs["b"].end_state) == ("SUCCEEDED", "NoNewData")
    assert (runs["c"].status, runs["c"].end_state, runs["c"].action) == ("SUCCEEDED", "Deployed", "update")


def test_the_story_runs_with_every_call_of_the_deployed_roles_checked_and_none_denied(demo: Demo) -> None:
    if not iam_enforced_by_default():  # LOCAL_RUNTIME_IAM=off, as bench.iam_overhead runs the suite once
        assert demo.summary.permissions == "not enforced (--no-iam)"
        return
    permissions = re.fullmatch(
        r"enforced: (\d+) requests of the deployed roles checked against their policies, (\d+) denied",
        demo.summary.permissions,
    )
    assert permissions, demo.summary.permissions
    assert int(permissions[1]) > 50  # three runs: S3, SSM, SageMaker, Step Functions, Secrets Manager, Lambda
    assert int(permissions[2]) == 0
    assert f"permissions    {demo.summary.permissions}" in demo.output


def test_the_endpoint_serves_the_last_training_job_and_the_watermark_records_it(demo: Demo) -> None:
    summary = demo.summary

    assert summary.training_job is not None
    assert summary.training_job.startswith("demo-")
    assert summary.training_status == "Completed"
    assert (summary.endpoint, summary.endpoint_status) == ("demo", "InService")
    assert summary.endpoint_config == summary.training_job
    assert summary.watermark["training_job_name"] == summary.training_job
    assert summary.watermark["newest_data_date"] == today_utc().isoformat()
    assert (summary.watermark["file_count"], summary.watermark["holdout_file_count"]) == (6, 1)  # newest held out


def test_the_endpoint_answered_every_invocation_during_the_update(demo: Demo) -> None:
    summary = demo.summary

    assert summary.invocations_during_run > 0
    assert (summary.errors_during_run, summary.errors_during_update) == (0, 0)
    assert summary.first_update_error is None
    if EMULATED:
        # The update takes at least a poll interval: invocations land in it, some answered by each model.
        assert summary.invocations_during_update > 0
        assert summary.old_model_answers + summary.new_model_answers <= summary.invocations_during_update


@pytest.mark.skipif(not EMULATED, reason="moto's InvokeEndpoint answers a canned body, not a prediction")
def test_the_model_predicts_the_held_out_rows(demo: Demo) -> None:
    predictions = demo.summary.predictions

    assert len(predictions) == 5
    # The diabetes target runs from 25 to 346; a linear model stays in that neighbourhood.
    assert all(p.score is not None and 0 < p.score < 400 for p in predictions)
    assert "prediction     " in demo.output


def test_slack_received_every_milestone_and_the_terminal_showed_them(demo: Demo) -> None:
    headers = demo.summary.slack_messages

    assert len(headers) == 9  # (a) 4, (b) 1, (c) 4
    assert (demo.summary.notifications, demo.summary.notifications_posted) == (9, 9)
    assert all(header.startswith("#ml-alerts") for header in headers)
    assert sum("training started" in h for h in headers) == 2
    assert sum("new model deployed" in h for h in headers) == 2
    assert sum("no new data" in h for h in headers) == 1
    assert demo.output.count("💬 #ml-alerts") == 9


def test_the_live_view_shows_each_state_with_its_outcome_and_a_summary(demo: Demo) -> None:
    output = demo.output

    assert "◆ HasNewData                         → StartTrainingJob" in output
    assert "◆ HasNewData                         → NotifyNoNewData" in output
    assert f"training job {demo.summary.training_job}" in output
    assert "→ SUCCEEDED at NoNewData" in output
    assert "✗" not in output
    assert "\nSummary\n" in output
