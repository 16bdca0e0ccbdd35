"""`runs`: start, list, show and follow a pipeline's executions, on AWS or in the local runtime.

Everything is read from Step Functions' own records, and state names come from the execution history, never
from a list kept here: a new or renamed state shows up as it is. API calls are bounded:
- `start`: one StartExecution;
- `list`: one ListExecutions page (at most `limit` runs, 1000 at most) and, per run, one GetExecutionHistory
  call for the newest `TAIL_EVENTS` events (newest first): the last state entered carries the run's state
  document (window, training job, evaluation, failure), so the whole history is never read;
- `show`: one DescribeExecution and the whole history (one call per 1,000 events, 25 at most);
- `follow`: one DescribeExecution first (a wrong name fails before anything is printed), the whole history once
  per poll, polling with backoff, and one DescribeExecution at the end.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from contract.names import SCHEDULED_TIME_FIELD
from lambdas.check_data.core import RunInput
from lambdas.common.cost import RunCost, run_cost
from lambdas.notify_slack.messages import failure_report, readable_cause
from lambdas.notify_slack.no_new_data import NoNewDataHint, no_new_data_hint
from operator_cli.executions import describe_execution, execution_history
from operator_cli.state_facts import state_facts
from operator_cli.states import StateRun, state_runs

if TYPE_CHECKING:
    from types_boto3_stepfunctions import SFNClient


TAIL_EVENTS = 25
MAX_LIST_LIMIT = 1000  # ListExecutions' maxResults
CLI_TRIGGER = "cli"
RUNNING = "RUNNING"
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
# Step Functions: 1-80 characters, none of whitespace, brackets, wildcards, these punctuation marks or controls.
_EXECUTION_NAME = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
MISSING = "-"


class RunsError(Exception):
    """The request cannot be carried out (a bad name, no such execution); the message says which and why."""


@dataclass(frozen=True)
class Failure:
    """Where a failed run stopped: the state that failed, its error and its readable cause."""

    state: str
    error: str
    cause: str

    def to_json(self) -> dict[str, str]:
        return {"state": self.state, "error": self.error, "cause": self.cause}


@dataclass(frozen=True)
class RunSummary:
    """One execution as `runs list` shows it, from its description and its newest history events."""

    name: str
    arn: str
    status: str
    start: datetime
    stop: datetime | None
    last_state: str | None
    window_start: str | None = None
    window_end: str | None = None
    training_job: str | None = None
    metric: str | None = None
    metric_value: float | None = None
    failure: Failure | None = None
    input: Mapping[str, Any] | None = field(default=None, compare=False)
    # A run that ended "no new data": why, and how to retrain on the same days (as its Slack message says).
    hint: NoNewDataHint | None = None
    cost: RunCost | None = field(default=None, compare=False)  # the usages its jobs recorded (GetStatus)

    @property
    def outcome(self) -> str:
        """`deployed`, `no new data`, `model rejected`, `failed at DeployModel`, `running: WaitForTraining`...

        A succeeded run is named after the state it ended in, so any end state the workflow gains reads right.
        """
        where = self.last_state or "?"
        if self.status == "SUCCEEDED":
            return humanize(where)
        if self.status == "FAILED":
            return f"failed at {self.failure.state if self.failure else where}"
        if self.status == RUNNING:
            return f"running: {where}"
        return f"{self.status.lower().replace('_', ' ')} at {where}"

    def seconds(self, now: datetime) -> float:
        return ((self.stop or now) - self.start).total_seconds()

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "name": self.name,
            "execution_arn": self.arn,
            "status": self.status,
            "outcome": self.outcome,
            "start": self.start.isoformat(),
            "stop": self.stop.isoformat() if self.stop else None,
            "duration_seconds": round(self.seconds(now), 3),
            "last_state": self.last_state,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "training_job": self.training_job,
            "metric": self.metric,
            "metric_value": self.metric_value,
            "failure": self.failure.to_json() if self.failure else None,
            "hint": self.hint.line() if self.hint else None,
            "cost": self.cost.to_json() if self.cost is not None and self.cost.jobs else None,
        }


def run_input(
    *, force: bool = False, window_days: int | None = None, end_date: str | None = None, deploy: bool = False
) -> dict[str, Any]:
    """The execution input a person would type in the console, checked as CheckData checks it.

    Only the fields given are set, plus `trigger: cli`. Raises InvalidRunInputError naming the bad field.
    """
    raw: dict[str, Any] = {"trigger": CLI_TRIGGER}
    if force:
        raw["force"] = True
    if window_days is not None:
        raw["window_days"] = window_days
    if end_date is not None:
        raw["end_date"] = end_date
    if deploy:
        raw["deploy"] = True  # a backfill's model is deployed only when asked; a run on new data deploys anyway
    RunInput.from_state(raw)
    return raw


def default_execution_name(now: datetime, suffix: str) -> str:
    """`cli-20261122T032059-1a2b3c`: sortable by start, unique with a random suffix."""
    return f"{CLI_TRIGGER}-{now.astimezone(UTC):%Y%m%dT%H%M%S}-{suffix}"


def check_execution_name(name: str) -> str:
    """Return the name if Step Functions accepts it as an execution name; raise RunsError saying why not."""
    if not _EXECUTION_NAME.match(name):
        raise RunsError(
            f"--name {name!r}: an execution name has 1 to 80 characters, without spaces, brackets, wildcards "
            'or any of " # % \\ ^ | ~ ` $ & , ; : /'
        )
    return name


def execution_arn(execution: str, state_machine_arn: str | None) -> str:
    """The ARN of an execution given by ARN, or by name with its state machine's ARN; raise RunsError."""
    if execution.startswith("arn:"):
        if ":execution:" not in execution:
            raise RunsError(f"{execution} is not an execution ARN")
        return execution
    if state_machine_arn is None:
        raise RunsError(f"execution {execution!r}: give --pipeline with an execution name, or the execution's ARN")
    check_execution_name(execution)
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{execution}"


def humanize(state_name: str) -> str:
    """`NoNewData` -> `no new data`, `ModelRejected` -> `model rejected`."""
    return _WORD_START.sub(" ", state_name).lower()


def summarize(execution: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> RunSummary:
    """Summarize a run from ListExecutions' or DescribeExecution's entry and its history, or its newest part.

    The newest state document in the events (a state's input as entered, or its output as exited) gives the
    window, the training job and the evaluation; a failed run's `failure` section, written by the Catch of
    the state that failed, gives the failing state, else the last state entered with the execution's error.
    """
    newest_first = sorted(events, key=lambda event: int(event.get("id", 0)), reverse=True)
    document = _newest_document(newest_first)
    last_state = next(
        (
            str(event["stateEnteredEventDetails"]["name"])
            for event in newest_first
            if isinstance(event.get("stateEnteredEventDetails"), Mapping)
        ),
        None,
    )
    status = str(execution["status"])
    run, training, evaluation = (_section(document, key) for key in ("run", "training", "evaluation"))
    value = evaluation.get("value")
    return RunSummary(
        name=str(execution["name"]) if execution.get("name") else str(execution["executionArn"]).split(":")[-1],
        arn=str(execution["executionArn"]),
        status=status,
        start=_timestamp(execution["startDate"]),
        stop=_timestamp(execution["stopDate"]) if execution.get("stopDate") else None,
        last_state=last_state,
        window_start=_text(run.get("window_start")),
        window_end=_text(run.get("window_end")),
        training_job=_text(training.get("job_name")),
        metric=_text(evaluation.get("metric")),
        metric_value=float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None,
        failure=_failure(status, document, newest_first, last_state, execution),
        input=_json_object(execution.get("input")) if execution.get("input") else _started_input(newest_first),
        hint=no_new_data_hint(run) if status == "SUCCEEDED" else None,
        cost=run_cost(document),
    )


def _failure(
    status: str,
    document: Mapping[str, Any],
    newest_first: Sequence[Mapping[str, Any]],
    last_state: str | None,
    execution: Mapping[str, Any],
) -> Failure | None:
    if status != "FAILED":
        return None
    if isinstance(document.get("failure"), Mapping) and document["failure"]:
        # The same reading the failure alert in Slack makes, so both name the same state and cause.
        report = failure_report(document)
        return Failure(state=report.stage, error=report.error, cause=report.cause)
    ended = next((e for e in newest_first if e.get("type") == "ExecutionFailed"), {})
    details = ended.get("executionFailedEventDetails") or {}
    error = details.get("error") or execution.get("error") or "UnknownError"
    cause = details.get("cause") or execution.get("cause") or ""
    return Failure(state=last_state or "?", error=str(error), cause=readable_cause(cause))


# ---- the API calls (clients are arguments) -------------------------------------------------------------------


def start_run(sfn: SFNClient, state_machine_arn: str, *, name: str, execution_input: Mapping[str, Any]) -> str:
    """Start an execution; return its ARN."""
    arn: str = sfn.start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(dict(execution_input))
    )["executionArn"]
    return arn


def list_runs(sfn: SFNClient, state_machine_arn: str, *, limit: int, status: str | None = None) -> list[RunSummary]:
    """The newest `limit` runs (1..1000), newest first: one ListExecutions call and one history call per run."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise RunsError(f"--limit must be from 1 to {MAX_LIST_LIMIT}, got {limit}")
    arguments: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": limit}
    if status:
        arguments["statusFilter"] = status
    executions = sfn.list_executions(**arguments).get("executions", [])
    executions = sorted(executions, key=lambda e: _timestamp(e["startDate"]), reverse=True)[:limit]
    return [summarize(execution, history_tail(sfn, execution["executionArn"])) for execution in executions]


def history_tail(sfn: SFNClient, arn: str, events: int = TAIL_EVENTS) -> list[dict[str, Any]]:
    """The newest `events` events of an execution, in one call."""
    answer = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=events)
    page: list[dict[str, Any]] = [dict(event) for event in answer["events"]]
    # A server that ignores reverseOrder and maxResults (plain moto does; AWS and the local runtime honour them)
    # answers every event, oldest first.
    return sorted(page, key=lambda event: int(event.get("id", 0)), reverse=True)[:events]


@dataclass
class Backoff:
    """Poll intervals: `initial` after progress, growing by `factor` while nothing changes, up to `maximum`."""

    initial: float = 0.5
    factor: float = 1.5
    maximum: float = 10.0
    _current: float = field(default=0.0, init=False)

    def next(self, *, progressed: bool) -> float:
        if progressed or self._current == 0.0:
            self._current = self.initial
        else:
            self._current = min(self._current * self.factor, self.maximum)
        return self._current


def follow_run(
    sfn: SFNClient,
    arn: str,
    *,
    on_state: Callable[[StateRun], None],
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[RunSummary, list[StateRun]]:
    """Call `on_state` for each state of the execution as it ends, until the execution ends.

    States that ended before the call are reported first. Returns the ended run's summary and its states.
    """
    backoff = backoff or Backoff()
    shown = 0
    while True:
        history = execution_history(sfn, arn)
        runs, finished = state_runs(history)
        for run in runs[shown:]:
            on_state(run)
        progressed, shown = len(runs) > shown, len(runs)
        if finished:
            break
        sleep(backoff.next(progressed=progressed))
    described = sfn.describe_execution(executionArn=arn)
    return summarize(described, history), runs


def describe_run(sfn: SFNClient, arn: str, *, where: str) -> tuple[RunSummary, list[StateRun]]:
    """One run with each state it went through, in order; ExecutionNotFoundError when `where` has no such run."""
    described = describe_execution(sfn, arn, where=where)
    history = execution_history(sfn, arn)
    runs, _ = state_runs(history)
    return summarize(described, history), runs


# ---- text -------------------------------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """`0.4 s`, `12.3 s`, `3 min 05 s`, `2 h 05 min`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Lines of an aligned table, two spaces between columns; the last column is not padded."""
    rows = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(row[column]) for row in rows) for column in range(len(headers))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def render_list(summaries: Sequence[RunSummary], now: datetime) -> str:
    """The table of `runs list`."""
    rows = [
        [
            summary.name,
            summary.status,
            f"{summary.start.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            human_duration(summary.seconds(now)),
            f"{summary.window_start}…{summary.window_end}" if summary.window_start else MISSING,
            summary.training_job or MISSING,
            _metric_text(summary),
            summary.outcome,
        ]
        for summary in summaries
    ]
    headers = ["NAME", "STATUS", "START (UTC)", "DURATION", "DATA WINDOW", "TRAINING JOB", "METRIC", "OUTCOME"]
    lines = table(headers, rows)
    # The newest run that trained nothing, named: what to do about it (`runs show` gives each run's).
    hinted = next(((s.name, s.hint) for s in summaries if s.hint is not None), None)
    if hinted is not None:
        name, hint = hinted
        lines += ["", f"{name}: {hint.line()}"]
    return "\n".join(lines)


def render_show(summary: RunSummary, runs: Sequence[StateRun], now: datetime) -> str:
    """`runs show`: the run, each state with its start, duration and result or error, and the failure."""
    facts = [
        ("execution", summary.arn),
        ("status", f"{summary.status}: {summary.outcome}"),
        ("started", f"{summary.start.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"),
        ("duration", human_duration(summary.seconds(now)) + (" so far" if summary.status == RUNNING else "")),
        ("input", json.dumps(summary.input) if summary.input is not None else MISSING),
    ]
    if isinstance(scheduled := (summary.input or {}).get(SCHEDULED_TIME_FIELD), str):
        facts.insert(3, ("scheduled", f"{scheduled} (the tick the schedule started it for)"))
    if summary.window_start:
        facts.append(("data window", f"{summary.window_start}…{summary.window_end}"))
    if summary.training_job:
        facts.append(("training job", summary.training_job))
    if summary.metric:
        facts.append(("metric", _metric_text(summary)))
    if summary.cost is not None and (cost := summary.cost.summary()):
        facts.append(("cost", cost))
    lines = [f"{label:<13}{value}" for label, value in facts]
    lines.append("")
    rows = [
        [
            _symbol(run),
            run.name,
            f"{run.entered.astimezone(UTC):%H:%M:%S}",
            "" if run.kind == "Choice" else f"{run.seconds:.2f} s",
            state_facts(run),
        ]
        for run in runs
    ]
    if summary.status == RUNNING and summary.last_state and (not runs or runs[-1].name != summary.last_state):
        rows.append(["…", summary.last_state, "", "", "in progress"])
    lines += table(["", "STATE", "START", "DURATION", "RESULT"], rows)
    if summary.hint:
        lines += ["", *_hint_lines(summary.hint)]
    if summary.failure:
        lines += [
            "",
            f"Failed at {summary.failure.state}",
            f"  error  {summary.failure.error}",
            *_indented("  cause  ", summary.failure.cause),
        ]
    return "\n".join(lines)


def render_end(summary: RunSummary, runs: Sequence[StateRun], now: datetime) -> list[str]:
    """The closing lines of `runs follow`."""
    lines = [f"■ {summary.status}: {summary.outcome}, {len(runs)} states in {human_duration(summary.seconds(now))}"]
    if summary.failure:
        lines += [f"  error  {summary.failure.error}", *_indented("  cause  ", summary.failure.cause)]
    if summary.hint:
        lines += [f"  {line}" for line in _hint_lines(summary.hint)]
    return lines


def step_to_json(run: StateRun) -> dict[str, Any]:
    """A state of a run for `--json`: what `runs show` prints, with the error and cause whole."""
    return {
        "state": run.name,
        "type": run.kind,
        "start": run.entered.isoformat(),
        "stop": run.exited.isoformat() if run.exited else None,
        "seconds": round(run.seconds, 3),
        "attempts": run.attempts,
        "result": state_facts(run),
        "next": run.next_state,
        "error": run.error,
        "cause": readable_cause(run.cause) if run.cause else None,
    }


def _metric_text(summary: RunSummary) -> str:
    if not summary.metric:
        return MISSING
    value = MISSING if summary.metric_value is None else f"{summary.metric_value:.4g}"
    return f"{summary.metric} {value}"


def _hint_lines(hint: NoNewDataHint) -> list[str]:
    """The hint as a sentence, its command on a line of its own to copy."""
    sentence = hint.text[:1].upper() + hint.text[1:]
    return [f"{sentence}:", f"  {hint.command}"] if hint.command else [f"{sentence}."]


def _symbol(run: StateRun) -> str:
    if run.kind == "Choice":
        return "◆"
    return "✗" if run.failed else "✓"


def _indented(label: str, text: str) -> list[str]:
    lines = text.splitlines() or [""]
    return [label + lines[0], *(" " * len(label) + line for line in lines[1:])]


def _newest_document(newest_first: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    for event in newest_first:
        for key, field_name in (("stateEnteredEventDetails", "input"), ("stateExitedEventDetails", "output")):
            details = event.get(key)
            if isinstance(details, Mapping) and isinstance(details.get(field_name), str):
                document = _json_object(details[field_name])
                if document:
                    return document
    return {}


def _started_input(newest_first: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for event in newest_first:
        details = event.get("executionStartedEventDetails")
        if isinstance(details, Mapping) and isinstance(details.get("input"), str):
            return _json_object(details["input"])
    return None


def _section(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key)
    return value if isinstance(value, Mapping) else {}


def _json_object(text: Any) -> Mapping[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _timestamp(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)
