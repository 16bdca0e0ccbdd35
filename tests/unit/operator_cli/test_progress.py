"""The live view's lines, from execution history events as moto's interpreter records them."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from operator_cli.progress import Console, format_state, states_summary, wants_color
from operator_cli.state_facts import state_facts
from operator_cli.states import StateRun, state_runs

START = datetime(2026, 11, 22, 2, 56, 38, tzinfo=UTC)
JOB = "demo-20261122025638-42f58ea9"


class History:
    """Builds history events with the shapes and keys the recorded executions have, one tick apart."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.seconds = 0.0

    def add(self, kind: str, details_key: str | None = None, after: float = 0.01, **details: Any) -> History:
        self.seconds += after
        event: dict[str, Any] = {
            "timestamp": START + timedelta(seconds=self.seconds),
            "type": kind,
            "id": len(self.events) + 1,
            "previousEventId": len(self.events),
        }
        if details_key:
            event[details_key] = details
        self.events.append(event)
        return self

    def enter(self, kind: str, name: str, after: float = 0.0) -> History:
        return self.add(f"{kind}StateEntered", "stateEnteredEventDetails", after, name=name, input="{}")

    def exit(self, kind: str, name: str, output: dict[str, Any], after: float = 0.01) -> History:
        return self.add(f"{kind}StateExited", "stateExitedEventDetails", after, name=name, output=json.dumps(output))

    def task(self, name: str, output: dict[str, Any], payload: Any = None, seconds: float = 0.3) -> History:
        self.enter("Task", name)
        self.add("TaskScheduled", "taskScheduledEventDetails", resourceType="lambda", resource="invoke")
        self.add("TaskStarted", "taskStartedEventDetails", resourceType="lambda", resource="invoke")
        answer = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": output if payload is None else payload}
        self.add(
            "TaskSucceeded",
            "taskSucceededEventDetails",
            seconds,
            resourceType="lambda",
            resource="invoke",
            output=json.dumps(answer),
        )
        return self.exit("Task", name, output, after=0.002)


RUN = {
    "run": {
        "window_start": "2026-11-16",
        "window_end": "2026-11-22",
        "newest_data_date": "2026-11-21",
        "has_new_data": True,
        "reason": "never trained before",
        "file_count": 6,
        "holdout_file_count": 1,
    }
}
TRAINING = {**RUN, "training": {"job_name": JOB, "status": "InProgress", "secondary_status": "Starting"}}


def deployed_run_start() -> History:
    """The first states of a run that trains, as recorded from the demo's run (a)."""
    return (
        History()
        .add("ExecutionStarted", "executionStartedEventDetails", input='{"trigger": "schedule"}')
        .task("CheckData", RUN, seconds=0.44)
        .enter("Choice", "HasNewData")
        .exit("Choice", "HasNewData", RUN, after=0.001)
        .task("StartTrainingJob", TRAINING, seconds=0.29)
        .task("NotifyTrainingStarted", TRAINING, payload={"delivered": True, "detail": "posted to #ml-alerts"})
        .enter("Wait", "WaitForTraining")
        .exit("Wait", "WaitForTraining", TRAINING, after=1.0)
    )


def lines(runs: list[StateRun]) -> list[str]:
    return [format_state(run) for run in runs]


def test_each_ended_state_gives_one_line_with_outcome_name_duration_and_facts() -> None:
    # GIVEN the history of a run that has checked the data, started training and waited once
    history = deployed_run_start()

    # WHEN the states are read and formatted
    runs, finished = state_runs(history.events)

    # THEN each state that ended has its line, in order, with what matters about it
    assert not finished
    assert [run.name for run in runs] == [
        "CheckData",
        "HasNewData",
        "StartTrainingJob",
        "NotifyTrainingStarted",
        "WaitForTraining",
    ]
    assert lines(runs) == [
        "✓ CheckData                  0.46 s  "
        "6 files in 2026-11-16…2026-11-22 (+1 held out), newest 2026-11-21: never trained before",
        "◆ HasNewData                         → StartTrainingJob",
        f"✓ StartTrainingJob           0.31 s  training job {JOB}",
        "✓ NotifyTrainingStarted      0.32 s  Slack message posted",
        "✓ WaitForTraining            1.00 s",
    ]


def test_a_choice_is_shown_once_its_branch_is_entered() -> None:
    # GIVEN a Choice that has exited but whose next state is not in the history yet
    history = History().task("CheckData", RUN).enter("Choice", "HasNewData").exit("Choice", "HasNewData", RUN)
    runs, _ = state_runs(history.events)
    assert [run.name for run in runs] == ["CheckData"]

    # WHEN the branch's state is entered
    history.enter("Task", "NotifyNoNewData")
    runs, _ = state_runs(history.events)

    # THEN the Choice's line shows the branch it chose
    assert runs[-1].name == "HasNewData"
    assert state_facts(runs[-1]) == "→ NotifyNoNewData"


@pytest.mark.parametrize(
    ("training", "expected"),
    [
        ({"status": "InProgress", "secondary_status": "Training"}, "InProgress (Training)"),
        (
            {
                "status": "Completed",
                "secondary_status": "Completed",
                "metrics": {"train:progress": 100.0, "train:mse": 2826.4, "train:absolute_loss": 42.94},
            },
            "Completed, train:absolute_loss 42.94, train:mse 2826",
        ),
    ],
)
def test_training_status_shows_the_status_and_once_completed_the_model_metrics(
    training: dict[str, Any], expected: str
) -> None:
    history = History().task("GetTrainingStatus", {"training": {"job_name": JOB, **training}}, seconds=0.04)

    (run,), _ = state_runs(history.events)

    assert state_facts(run) == expected


def test_deployment_states_show_the_action_the_status_and_the_watermark() -> None:
    deployment = {
        "endpoint_name": "demo",
        "endpoint_config_name": JOB,
        "action": "update",
        "status": "InService",
        "serving_new_model": True,
    }
    watermark = {"newest_data_date": "2026-11-22", "previous_date": "2026-11-21"}
    history = (
        History()
        .task("DeployModel", {"deployment": {**deployment, "status": "Updating", "serving_new_model": False}})
        .task("GetEndpointStatus", {"deployment": deployment})
        .task("UpdateParameters", {"deployment": deployment, "watermark": watermark})
    )

    runs, _ = state_runs(history.events)

    assert [state_facts(run) for run in runs] == [
        f"update endpoint demo with config {JOB}",
        "InService, serving the new model",
        "watermark 2026-11-21 → 2026-11-22",
    ]


def test_preprocessing_and_batch_transform_states_name_their_jobs_and_where_the_outputs_are() -> None:
    preprocessing = {"job_name": JOB, "status": "Completed", "training_data_uri": "s3://b/preprocessed/demo/r/train/"}
    transform = {"job_name": JOB, "day": "2026-11-22", "status": "Completed", "output_uri": "s3://b/predictions/d/"}
    history = (
        History()
        .task("StartPreprocessing", {"preprocessing": {**preprocessing, "status": "InProgress"}})
        .task("GetPreprocessingStatus", {"preprocessing": preprocessing})
        .task("StartBatchTransform", {"batch_transform": {**transform, "status": "InProgress"}})
        .task("GetBatchTransformStatus", {"batch_transform": transform})
    )

    runs, _ = state_runs(history.events)

    assert [state_facts(run) for run in runs] == [
        f"processing job {JOB}",
        "Completed, training data s3://b/preprocessed/demo/r/train/",
        f"transform job {JOB} over 2026-11-22",
        "Completed, predictions in s3://b/predictions/d/",
    ]


def test_failed_preprocessing_and_transform_show_why() -> None:
    failed_job = {"job_name": JOB, "status": "Failed", "failure_reason": "AlgorithmError: exit code 1"}
    transform_error = {"Error": "BatchTransformFailed", "Cause": "transform job x failed: bad record"}
    history = (
        History()
        .task("GetPreprocessingStatus", {"preprocessing": failed_job})
        .task("GetBatchTransformStatus", {"batch_transform": failed_job})
        .enter("Pass", "BatchTransformFailed")
        .exit("Pass", "BatchTransformFailed", {"transform_error": transform_error})
    )

    runs, _ = state_runs(history.events)

    assert [state_facts(run) for run in runs] == [
        "Failed: AlgorithmError: exit code 1",
        "Failed: AlgorithmError: exit code 1",
        "BatchTransformFailed: transform job x failed: bad record",
    ]


def test_a_notification_that_was_not_posted_says_why() -> None:
    payload = {"delivered": False, "detail": "slack error: invalid_auth"}
    history = History().task("NotifyDeployed", {}, payload=payload)

    (run,), _ = state_runs(history.events)

    assert format_state(run).endswith("Slack message not posted: slack error: invalid_auth")


def test_a_caught_task_failure_and_the_fail_state_are_marked_failed_with_error_and_message() -> None:
    # GIVEN the recorded history of a run whose input CheckData rejects (the cause is Lambda's error JSON)
    cause = json.dumps(
        {
            "errorMessage": "field 'window_days' must be an integer from 1 to 366, got 'x'",
            "errorType": "InvalidRunInputError",
            "requestId": "local-00000001",
            "stackTrace": ['  File "/work/main/local_runtime/lambda_invoke.py", line 119, in invoke\n'],
        }
    )
    failure = {"failure": {"CheckData": {"Error": "InvalidRunInputError", "Cause": cause}}}
    history = (
        History()
        .add("ExecutionStarted", "executionStartedEventDetails", input='{"window_days": "x"}')
        .enter("Task", "CheckData")
        .add("TaskScheduled", "taskScheduledEventDetails", resourceType="lambda", resource="invoke")
        .add("TaskStarted", "taskStartedEventDetails", resourceType="lambda", resource="invoke")
        .add("TaskFailed", "taskFailedEventDetails", 0.37, error="InvalidRunInputError", cause=cause)
        .exit("Task", "CheckData", {"window_days": "x", **failure}, after=0.004)
        .task("CleanUp", {**failure, "clean_up": {"run_id": "churn-1", "deleted_model": None, "kept": []}})
        .task("NotifyFailure", failure, payload={"delivered": True, "detail": "posted", "error": "x"})
        .enter("Fail", "RunFailed")
        .add(
            "ExecutionFailed",
            "executionFailedEventDetails",
            error="InvalidRunInputError",
            cause="field 'window_days' must be an integer from 1 to 366, got 'x'",
        )
    )

    # WHEN the states are read
    runs, finished = state_runs(history.events)

    # THEN the failed task and the Fail state say ✗ with the error and the readable message
    assert finished
    assert [(run.name, run.failed) for run in runs] == [
        ("CheckData", True),
        ("CleanUp", False),
        ("NotifyFailure", False),
        ("RunFailed", True),
    ]
    message = "InvalidRunInputError: field 'window_days' must be an integer from 1 to 366, got 'x'"
    assert lines(runs)[0] == f"✗ CheckData                  0.39 s  {message}"
    assert lines(runs)[1].endswith("nothing to remove")
    assert lines(runs)[3].startswith("✗ RunFailed")
    assert lines(runs)[3].endswith(message)


def test_a_task_that_succeeded_after_a_retry_is_a_success_that_mentions_the_retry() -> None:
    history = (
        History()
        .enter("Task", "StartTrainingJob")
        .add("TaskScheduled", "taskScheduledEventDetails")
        .add("TaskFailed", "taskFailedEventDetails", error="TransientAwsError", cause="throttled")
        .add("TaskScheduled", "taskScheduledEventDetails", after=2.0)
        .add("TaskSucceeded", "taskSucceededEventDetails", output=json.dumps({"Payload": TRAINING}))
        .exit("Task", "StartTrainingJob", TRAINING)
    )

    (run,), _ = state_runs(history.events)

    assert not run.failed
    assert state_facts(run) == f"training job {JOB} (after 1 retry)"


def test_history_timestamps_may_be_text_as_in_a_saved_history() -> None:
    history = History().task("CheckData", RUN)
    saved = json.loads(json.dumps(history.events, default=str))

    runs, _ = state_runs(saved)

    assert runs[0].seconds == pytest.approx(0.322)  # scheduled, started, 0.3 s of work, exited


def test_long_facts_are_cut_to_one_line() -> None:
    history = History().task("CheckData", {"run": {**RUN["run"], "reason": "word " * 100}})

    (run,), _ = state_runs(history.events)

    assert "\n" not in format_state(run)
    assert len(state_facts(run)) <= 110
    assert state_facts(run).endswith("…")


def test_colors_only_tint_the_symbol_and_the_duration() -> None:
    (run,), _ = state_runs(History().task("StartTrainingJob", TRAINING).events)

    colored = format_state(run, color=True)

    assert colored.startswith("\033[32m✓\033[0m StartTrainingJob")
    assert colored.endswith(f"training job {JOB}")


def test_the_closing_line_counts_states_and_time() -> None:
    runs, _ = state_runs(deployed_run_start().events)

    assert states_summary(runs) == "5 states in 2.1 s"
    assert states_summary([]) == "no states"


def test_the_console_writes_whole_lines() -> None:
    stream = io.StringIO()

    Console(stream, color=False).line("✓ CheckData")

    assert stream.getvalue() == "✓ CheckData\n"


def test_the_clean_up_line_names_what_a_failed_run_left_and_was_removed() -> None:
    report = {"run_id": "churn-1", "deleted_endpoint_config": "churn-1", "deleted_model": "churn-1", "kept": []}
    history = History().task("CleanUp", {"clean_up": report})

    runs, _ = state_runs(history.events)

    assert lines(runs)[0].endswith("deleted endpoint config churn-1; deleted model churn-1")


def test_the_verdict_and_the_decision_are_shown_with_the_registry_version() -> None:
    evaluation = {
        "metric": "train:objective_loss",
        "value": 0.71,
        "production_value": 0.5,
        "reasons": ["42.0% worse than production"],
        "model_package_version": 3,
        "approval_status": "Rejected",
    }
    history = (
        History()
        .task("EvaluateModel", {"evaluation": evaluation})
        .task("WaitForApproval", {"evaluation": evaluation, "approval": {"status": "Rejected", "description": "no"}})
        .task("UpdateParameters", {"watermark": {"newest_data_date": "2026-11-22", "outcome": "rejected"}})
    )

    runs, _ = state_runs(history.events)

    assert [state_facts(run) for run in runs] == [
        "version 3 Rejected: train:objective_loss 0.71 (production 0.5); 42.0% worse than production",
        "Rejected: no",
        "watermark none → 2026-11-22 (model rejected)",
    ]


@pytest.mark.parametrize(
    ("report", "line"),
    [
        (
            {"keep_last": 2, "deleted_endpoint_configs": ["churn-1"], "deleted_models": ["churn-1"]},
            "deleted 1 endpoint config(s) and 1 model(s), keeping the newest 2",
        ),
        (
            {"keep_last": 5, "deleted_endpoint_configs": [], "deleted_models": []},
            "nothing to delete (keeping the newest 5)",
        ),
    ],
)
def test_the_prune_line_says_what_housekeeping_deleted(report: dict[str, Any], line: str) -> None:
    history = History().task("PruneModels", {"pruned": report})

    runs, _ = state_runs(history.events)

    assert lines(runs)[0].endswith(line)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("environ", "colored"),
    [({}, True), ({"NO_COLOR": "1"}, False), ({"NO_COLOR": "anything"}, False), ({"NO_COLOR": ""}, True)],
)
def test_a_terminal_gets_colour_unless_no_color_is_set_to_something(environ: dict[str, str], colored: bool) -> None:
    # https://no-color.org: present and not empty disables colour, whatever its value
    assert wants_color(_Terminal(), environ) is colored


def test_what_is_not_a_terminal_gets_no_colour_and_no_color_reaches_the_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert wants_color(io.StringIO(), {}) is False
    monkeypatch.setenv("NO_COLOR", "1")

    console = Console(_Terminal())

    assert console.color is False
    assert console.bold("x") == "x"
