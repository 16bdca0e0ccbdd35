"""`runs`: the input check, names, run summaries from history events, the text and the polling, without AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lambdas.common.errors import InvalidRunInputError
from operator_cli.runs import (
    TAIL_EVENTS,
    Backoff,
    Failure,
    RunsError,
    RunSummary,
    check_execution_name,
    default_execution_name,
    execution_arn,
    follow_run,
    human_duration,
    humanize,
    list_runs,
    render_end,
    render_list,
    render_show,
    run_input,
    summarize,
    table,
)
from operator_cli.states import StateRun
from tests.unit.operator_cli.test_progress import JOB, RUN, START, TRAINING, History, deployed_run_start

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:sagemaker-retraining-churn"
ARN = "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1"
EVALUATION = {"evaluation": {"metric": "validation:rmse", "value": 4.25, "approval_status": "Approved"}}
DEPLOYED = {**TRAINING, **EVALUATION}


def execution(status: str, *, stop_after: float | None = 9.5, **extra: Any) -> dict[str, Any]:
    """An entry as ListExecutions (or, with input/error/cause, DescribeExecution) returns it."""
    entry = {"executionArn": ARN, "name": "run-1", "status": status, "startDate": START, **extra}
    if stop_after is not None:
        entry["stopDate"] = START + timedelta(seconds=stop_after)
    return entry


def ended_in(history: History, kind: str, name: str, document: dict[str, Any]) -> History:
    return history.add(f"{kind}StateEntered", "stateEnteredEventDetails", name=name, input=json.dumps(document))


def deployed_history() -> History:
    history = deployed_run_start().task("GetTrainingStatus", DEPLOYED).task("EvaluateModel", DEPLOYED)
    ended_in(history, "Succeed", "Deployed", DEPLOYED)
    history.add("SucceedStateExited", "stateExitedEventDetails", name="Deployed", output=json.dumps(DEPLOYED))
    return history.add("ExecutionSucceeded", "executionSucceededEventDetails", output=json.dumps(DEPLOYED))


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, {"trigger": "cli"}),
        ({"force": True}, {"trigger": "cli", "force": True}),
        (
            {"window_days": 14, "end_date": "2026-11-01"},
            {"trigger": "cli", "window_days": 14, "end_date": "2026-11-01"},
        ),
    ],
)
def test_the_run_input_holds_only_the_fields_given(flags: dict[str, Any], expected: dict[str, Any]) -> None:
    assert run_input(**flags) == expected


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        ({"window_days": 0}, "'window_days'"),
        ({"window_days": 367}, "'window_days'"),
        ({"end_date": "2026-11-31"}, "'end_date'"),
        ({"end_date": "yesterday"}, "'end_date'"),
        # date.fromisoformat reads both as a day since Python 3.11; the console's input is YYYY-MM-DD only
        ({"end_date": "20261208"}, "'end_date'"),
        ({"end_date": "2026-W49-2"}, "'end_date'"),
    ],
)
def test_a_bad_run_input_is_refused_by_check_datas_own_check_naming_the_field(
    flags: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRunInputError, match=field):
        run_input(**flags)


@pytest.mark.parametrize("name", ["cli-20261122T032059-1a2b3c", "backfill_2026.11", "a", "x" * 80])
def test_execution_names_step_functions_accepts_pass(name: str) -> None:
    assert check_execution_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 81, "my run", "a:b", "a/b", "run#1", "{x}", "tab\there"])
def test_execution_names_step_functions_refuses_are_refused_naming_the_flag(name: str) -> None:
    with pytest.raises(RunsError, match="--name"):
        check_execution_name(name)


def test_the_default_name_sorts_by_start_time_in_utc() -> None:
    name = default_execution_name(datetime(2026, 11, 22, 4, 20, 59, tzinfo=UTC), "1a2b3c")

    assert name == "cli-20261122T042059-1a2b3c"
    assert check_execution_name(name) == name


def test_an_execution_is_found_by_name_in_the_pipelines_state_machine_or_by_arn() -> None:
    assert execution_arn("run-1", MACHINE) == ARN
    assert execution_arn(ARN, None) == ARN
    with pytest.raises(RunsError, match="give --pipeline"):
        execution_arn("run-1", None)
    with pytest.raises(RunsError, match="not an execution ARN"):
        execution_arn(MACHINE, None)


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("Deployed", "deployed"),
        ("NoNewData", "no new data"),
        ("ModelRejected", "model rejected"),
        ("ApprovalTimedOut", "approval timed out"),
        ("AnotherRunInProgress", "another run in progress"),
        ("SLAMissed", "sla missed"),
    ],
)
def test_end_states_read_as_words(state: str, words: str) -> None:
    assert humanize(state) == words


def test_a_deployed_run_is_summarized_from_its_last_state_document() -> None:
    summary = summarize(execution("SUCCEEDED"), deployed_history().events)

    assert summary.outcome == "deployed"
    assert (summary.window_start, summary.window_end) == (RUN["run"]["window_start"], RUN["run"]["window_end"])
    assert (summary.training_job, summary.metric, summary.metric_value) == (JOB, "validation:rmse", 4.25)
    assert summary.failure is None
    assert summary.input == {"trigger": "schedule"}
    assert summary.seconds(START) == 9.5


def test_the_newest_events_alone_give_the_same_summary_as_the_whole_history() -> None:
    events = deployed_history().events
    tail = sorted(events, key=lambda e: e["id"], reverse=True)[:3]

    whole, newest = summarize(execution("SUCCEEDED"), events), summarize(execution("SUCCEEDED"), tail)

    assert newest == whole


CAUSE = json.dumps({"errorMessage": "no data file in 2020-01-01…2020-01-07", "errorType": "NoDataInWindowError"})


def failed_history(document: dict[str, Any], *, error: str, cause: str) -> History:
    history = History().add("ExecutionStarted", "executionStartedEventDetails", input='{"force": true}')
    history.task("CheckData", RUN).task("CleanUp", document)
    ended_in(history, "Fail", "RunFailed", document)
    return history.add("ExecutionFailed", "executionFailedEventDetails", error=error, cause=cause)


def test_a_failed_run_names_the_state_its_catch_recorded_with_the_readable_cause() -> None:
    document = {**TRAINING, "failure": {"GetTrainingStatus": {"Error": "TrainingJobFailed", "Cause": CAUSE}}}
    history = failed_history(document, error="TrainingJobFailed", cause="no data")

    summary = summarize(execution("FAILED"), history.events)

    assert summary.outcome == "failed at GetTrainingStatus"
    assert summary.failure == Failure("GetTrainingStatus", "TrainingJobFailed", "no data file in 2020-01-01…2020-01-07")
    assert summary.last_state == "RunFailed"
    assert summary.training_job == JOB


def test_a_failure_no_catch_recorded_is_the_last_state_with_the_executions_error() -> None:
    history = failed_history(RUN, error="States.Runtime", cause=CAUSE)

    summary = summarize(execution("FAILED"), history.events)

    assert summary.failure == Failure("RunFailed", "States.Runtime", "no data file in 2020-01-01…2020-01-07")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("RUNNING", "running: WaitForTraining"),
        ("TIMED_OUT", "timed out at WaitForTraining"),
        ("ABORTED", "aborted at WaitForTraining"),
    ],
)
def test_a_run_that_did_not_end_by_itself_says_where_it_was(status: str, outcome: str) -> None:
    history = deployed_run_start()
    history.enter("Wait", "WaitForTraining")

    summary = summarize(execution(status, stop_after=None if status == "RUNNING" else 3), history.events)

    assert summary.outcome == outcome
    assert summary.training_job == JOB
    assert summary.failure is None
    assert summary.seconds(START + timedelta(seconds=42)) == (42 if status == "RUNNING" else 3)


class FakeStepFunctions:
    """Answers like Step Functions; the history grows by one snapshot per GetExecutionHistory call."""

    def __init__(self, snapshots: list[list[dict[str, Any]]], status: str = "SUCCEEDED") -> None:
        self.snapshots, self.status = snapshots, status
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def list_executions(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(("list_executions", arguments))
        newest = [execution("SUCCEEDED") | {"executionArn": f"{ARN}-{i}", "name": f"run-{i}"} for i in range(5)]
        return {"executions": newest[: arguments["maxResults"]]}

    def get_execution_history(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(("get_execution_history", arguments))
        events = self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]
        return {"events": events}

    def describe_execution(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(("describe_execution", arguments))
        return execution(self.status)


def test_list_makes_one_listing_and_one_short_history_call_per_run() -> None:
    sfn = FakeStepFunctions([deployed_history().events])

    summaries = list_runs(sfn, MACHINE, limit=3)

    assert [s.name for s in summaries] == ["run-0", "run-1", "run-2"]
    assert [name for name, _ in sfn.calls] == ["list_executions"] + ["get_execution_history"] * 3
    assert sfn.calls[0][1] == {"stateMachineArn": MACHINE, "maxResults": 3}
    assert all(args["reverseOrder"] and args["maxResults"] == TAIL_EVENTS for _, args in sfn.calls[1:])


@pytest.mark.parametrize("limit", [0, 1001])
def test_list_refuses_a_limit_step_functions_would_refuse(limit: int) -> None:
    with pytest.raises(RunsError, match="--limit must be from 1 to 1000"):
        list_runs(FakeStepFunctions([[]]), MACHINE, limit=limit)


def test_follow_reports_each_state_once_in_order_and_backs_off_while_nothing_ends() -> None:
    # GIVEN a history read four times: two states, nothing new, nothing new, then the rest and the end
    whole = deployed_history().events
    first_two = next(i for i, e in enumerate(whole) if e["type"] == "ChoiceStateEntered") + 1
    sfn = FakeStepFunctions([whole[:first_two], whole[:first_two], whole[:first_two], whole])
    seen: list[str] = []
    sleeps: list[float] = []

    # WHEN the run is followed
    summary, runs = follow_run(
        sfn, ARN, on_state=lambda run: seen.append(run.name), backoff=Backoff(1, 2, 3), sleep=sleeps.append
    )

    # THEN every state was reported once, in order, waiting longer while nothing ended
    assert seen == [run.name for run in runs]
    assert seen[0] == "CheckData"
    assert seen[-1] == "Deployed"
    assert seen.count("CheckData") == 1
    assert sleeps == [1, 2, 3]
    assert summary.outcome == "deployed"


def test_backoff_grows_to_its_maximum_and_starts_over_on_progress() -> None:
    backoff = Backoff(initial=0.5, factor=2, maximum=3)

    waits = [backoff.next(progressed=p) for p in (False, False, False, False, True, False)]

    assert waits == [0.5, 1, 2, 3, 0.5, 1]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.4 s"), (59.94, "59.9 s"), (60, "1 min 00 s"), (754, "12 min 34 s"), (7500, "2 h 05 min")],
)
def test_durations_read_at_a_glance(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_a_table_aligns_its_columns_and_leaves_no_trailing_spaces() -> None:
    lines = table(["A", "LONGER"], [["wide cell", "x"], ["b", ""]])

    assert lines == ["A          LONGER", "wide cell  x", "b"]


def summary(status: str = "SUCCEEDED", **fields: Any) -> RunSummary:
    base: dict[str, Any] = {
        "name": "run-1",
        "arn": ARN,
        "status": status,
        "start": START,
        "stop": START + timedelta(seconds=75),
        "last_state": "Deployed",
    }
    return RunSummary(**(base | fields))


def test_the_list_shows_missing_facts_as_a_dash_in_aligned_columns() -> None:
    rows = [
        summary(window_start="2026-11-16", window_end="2026-11-22", training_job=JOB, metric="rmse", metric_value=4.25),
        summary(last_state="NoNewData", name="a-much-longer-run-name"),
    ]

    lines = render_list(rows, START).splitlines()

    assert [line.index("SUCCEEDED") for line in lines[1:]] == [lines[0].index("STATUS")] * 2
    expected = f"run-1 SUCCEEDED 2026-11-22 02:56:38 1 min 15 s 2026-11-16…2026-11-22 {JOB} rmse 4.25 deployed"
    assert lines[1].split() == expected.split()
    assert lines[2].split()[-6:] == ["-", "-", "-", "no", "new", "data"]


def test_show_closes_a_failed_run_with_its_state_error_and_every_line_of_its_cause() -> None:
    failed = summary(
        "FAILED", last_state="RunFailed", failure=Failure("DeployModel", "ResourceLimitExceeded", "quota\nreached")
    )
    step = StateRun(
        "DeployModel", "Task", START, START + timedelta(seconds=1), {}, None, "ResourceLimitExceeded", "quota", 3, None
    )

    text = render_show(failed, [step], START)

    assert "status       FAILED: failed at DeployModel" in text
    assert text.endswith("Failed at DeployModel\n  error  ResourceLimitExceeded\n  cause  quota\n         reached")
    assert "✗  DeployModel  02:56:38  1.00 s    ResourceLimitExceeded: quota" in text
    assert render_end(failed, [step], START)[0] == "■ FAILED: failed at DeployModel, 1 states in 1 min 15 s"


def test_show_of_a_scheduled_run_names_the_tick_it_was_started_for() -> None:
    scheduled = summary(input={"trigger": "schedule", "scheduled_time": "2026-11-22T04:00:00Z"})

    lines = render_show(scheduled, [], START).splitlines()

    assert lines[3] == "scheduled    2026-11-22T04:00:00Z (the tick the schedule started it for)"
    assert not any(line.startswith("scheduled") for line in render_show(summary(input={}), [], START).splitlines())


def test_show_of_a_running_run_names_the_state_in_progress() -> None:
    running = summary("RUNNING", stop=None, last_state="WaitForTraining")

    text = render_show(running, [], START + timedelta(seconds=5))

    assert "duration     5.0 s so far" in text
    assert text.splitlines()[-1].split() == ["…", "WaitForTraining", "in", "progress"]


NO_NEW_DATA_RUN = {
    "pipeline": "churn",
    "window_start": "2026-11-16",
    "window_end": "2026-11-22",
    "window_days": 7,
    "newest_data_date": "2026-11-21",
    "watermark_date": "2026-11-21",
    "has_new_data": False,
    "reason": "newest data 2026-11-21 is not newer than the watermark 2026-11-21",
    "file_count": 6,
}
RETRAIN = "sagemaker-retraining runs start --pipeline churn --force --end-date 2026-11-22 --window-days 7"


def ended_without_new_data(run: dict[str, Any]) -> History:
    history = History().add("ExecutionStarted", "executionStartedEventDetails", input="{}")
    history.task("CheckData", {"run": run})
    ended_in(history, "Succeed", "NoNewData", {"run": run})
    return history.add("ExecutionSucceeded", "executionSucceededEventDetails", output=json.dumps({"run": run}))


def test_a_run_with_nothing_newer_than_the_watermark_says_force_retrains_the_same_days() -> None:
    # GIVEN a run that found the window's data already trained (a corrected file looks just like this)
    run = summarize(execution("SUCCEEDED"), ended_without_new_data(NO_NEW_DATA_RUN).events)

    # WHEN it is shown, followed to its end, listed and given as JSON
    shown = render_show(run, [], START).splitlines()
    ended = render_end(run, [], START)
    listed = render_list([run], START).splitlines()

    # THEN each says why and gives the command that trains on the same days again
    assert run.outcome == "no new data"
    expected = "No data newer than the watermark day 2026-11-21 (the window's newest is 2026-11-21); to retrain"
    assert shown[-2].startswith(expected)
    assert shown[-2].endswith("(a corrected file), start a run with --force:")
    assert shown[-1] == f"  {RETRAIN}"
    assert ended[1:] == [f"  {shown[-2]}", f"    {RETRAIN}"]
    assert listed[-1].startswith("run-1: no data newer than the watermark day 2026-11-21")
    assert listed[-1].endswith(f"start a run with --force: {RETRAIN}")
    assert run.to_json(START)["hint"] == listed[-1].removeprefix("run-1: ")


def test_a_run_with_no_data_file_in_its_window_says_force_would_not_help() -> None:
    empty = NO_NEW_DATA_RUN | {"newest_data_date": None, "file_count": 0}

    run = summarize(execution("SUCCEEDED"), ended_without_new_data(empty).events)

    assert run.hint is not None
    assert run.hint.command is None
    assert run.hint.text.startswith("no data file dated 2026-11-16 to 2026-11-22 under the pipeline's data prefix")
    assert render_show(run, [], START).splitlines()[-1].endswith("or choose other days with --end-date.")


@pytest.mark.parametrize(
    ("status", "run"),
    [
        ("SUCCEEDED", {**NO_NEW_DATA_RUN, "has_new_data": True}),
        ("SUCCEEDED", {**NO_NEW_DATA_RUN, "blocked_by": f"{ARN}-0"}),
        ("RUNNING", NO_NEW_DATA_RUN),
    ],
    ids=["trained", "another-run-in-progress", "not-ended"],
)
def test_only_a_run_that_ended_without_new_data_gets_the_hint(status: str, run: dict[str, Any]) -> None:
    summary = summarize(execution(status), ended_without_new_data(run).events)

    assert summary.hint is None
    assert "--force" not in render_show(summary, [], START)
    assert len(render_list([summary], START).splitlines()) == 2
