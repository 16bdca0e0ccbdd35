"""A live view of an execution: one line per state as it ends, with its duration, outcome and notable facts."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from contract import steps
from operator_cli.executions import ExecutionRecord, execution_history

POLL_SECONDS = 0.2
NAME_WIDTH = 25
FACTS_MAX = 110
METRICS_SHOWN = 2
# Metrics about the job rather than the model: left out of the one-line view.
_BOOKKEEPING_METRIC = re.compile(r"(progress|throughput|:final)$")

OK, FAILED, CHOICE = "✓", "✗", "◆"
_GREEN, _RED, _DIM, _RESET = "\033[32m", "\033[31m", "\033[2m", "\033[0m"

_TASK_FAILURES = frozenset({"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut"})
_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


@dataclass(frozen=True)
class StateRun:
    """One visit of a state, read from the execution history."""

    name: str
    kind: str  # Task, Choice, Wait, Pass, Succeed, Fail, ...
    entered: datetime
    exited: datetime | None
    output: Mapping[str, Any]
    result: Any  # a task's result (the Lambda's payload), before ResultPath/OutputPath
    error: str | None
    cause: str | None
    attempts: int
    next_state: str | None  # the state entered after this one: a Choice's chosen branch

    @property
    def seconds(self) -> float:
        return (self.exited - self.entered).total_seconds() if self.exited else 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None or self.kind == "Fail"


def state_runs(events: Iterable[Mapping[str, Any]]) -> tuple[list[StateRun], bool]:
    """The states the history shows as ended, in order, and whether the execution itself has ended.

    A state has ended when it exited (a Choice also once its branch is entered), or when it is the Fail
    state that ended the execution.
    """
    ended: list[StateRun] = []
    current: dict[str, Any] | None = None
    finished = False
    for event in events:
        kind = str(event.get("type", ""))
        when = _timestamp(event.get("timestamp"))
        if kind.endswith("StateEntered"):
            name = str(event["stateEnteredEventDetails"]["name"])
            if current is not None and current["exited"] is not None:
                current["next_state"] = name
                ended.append(_freeze(current))
            current = _new_state(name, kind.removesuffix("StateEntered"), when)
        elif current is None:
            finished = finished or kind in _EXECUTION_ENDS
            continue
        elif kind == "TaskScheduled":
            current["attempts"] += 1
        elif kind in ("TaskSucceeded", "LambdaFunctionSucceeded"):
            details = _details(event)
            current["result"] = _payload(details.get("output"))
            current["error"] = current["cause"] = None  # an earlier attempt's failure was retried
        elif kind in _TASK_FAILURES:
            details = _details(event)
            current["error"] = details.get("error") or kind
            current["cause"] = details.get("cause")
        elif kind.endswith("StateExited"):
            current["exited"] = when
            current["output"] = _json_object(event["stateExitedEventDetails"].get("output"))
            if current["kind"] != "Choice":
                ended.append(_freeze(current))
                current = None
        elif kind in _EXECUTION_ENDS:
            finished = True
            details = _details(event)
            if current["kind"] == "Fail":
                current["exited"] = when
                current["error"] = details.get("error") or "Failed"
                current["cause"] = details.get("cause")
            if current["kind"] in ("Fail", "Choice"):
                ended.append(_freeze(current))
            current = None
    return ended, finished


def format_state(run: StateRun, *, color: bool = False) -> str:
    """One line: outcome, name, duration and facts, e.g. `✓ StartTrainingJob   0.29 s  job demo-2026…`."""
    if run.kind == "Choice":
        symbol, tint = CHOICE, _DIM
    elif run.failed:
        symbol, tint = FAILED, _RED
    else:
        symbol, tint = OK, _GREEN
    facts = state_facts(run)
    # A Choice takes no time: its branch is what matters.
    duration = " " * 7 if run.kind == "Choice" else f"{run.seconds:5.2f} s"
    line = f"{symbol} {run.name:<{NAME_WIDTH}} {duration}"
    if color:
        line = f"{tint}{symbol}{_RESET} {run.name:<{NAME_WIDTH}} {_DIM}{duration}{_RESET}"
    return f"{line}  {facts}" if facts else line


def state_facts(run: StateRun) -> str:
    """What is worth seeing about the state: the branch taken, the job, the status, the error."""
    if run.kind == "Choice":
        return f"→ {run.next_state}" if run.next_state else ""
    if run.error is not None:
        return _clip(f"{run.error}: {_readable_cause(run.cause)}" if run.cause else run.error)
    facts = _FACTS.get(run.name) or _facts_by_kind(run)
    text = facts(run)
    if run.attempts > 1:
        text = f"{text} (after {run.attempts - 1} retr{'y' if run.attempts == 2 else 'ies'})".strip()
    return _clip(text)


def _check_data(run: StateRun) -> str:
    data = _section(run.output, "run")
    if not data:
        return ""
    files = data.get("file_count")
    window = f"{data.get('window_start')}…{data.get('window_end')}"
    newest, reason = data.get("newest_data_date"), str(data.get("reason") or "")
    text = f"{files} file{'' if files == 1 else 's'} in {window}"
    if newest and str(newest) not in reason:
        text += f", newest {newest}"
    return f"{text}: {reason}" if reason else text


def _start_training(run: StateRun) -> str:
    job = _section(run.output, "training").get("job_name")
    return f"training job {job}" if job else ""


def _training_status(run: StateRun) -> str:
    training = _section(run.output, "training")
    status, secondary = training.get("status"), training.get("secondary_status")
    text = f"{status} ({secondary})" if secondary and secondary != status else str(status or "")
    metrics = training.get("metrics")
    if status == "Completed" and isinstance(metrics, Mapping):
        shown = list(model_metrics(metrics).items())[:METRICS_SHOWN]
        text += "".join(f", {name} {_number(value)}" for name, value in shown)
    return text


def model_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics about the model, by name: without progress, throughput and `:final` repeats."""
    return {name: value for name, value in sorted(metrics.items()) if not _BOOKKEEPING_METRIC.search(name)}


def _evaluation(run: StateRun) -> str:
    evaluation = _section(run.output, "evaluation")
    if not evaluation:
        return ""
    text = f"version {evaluation.get('model_package_version')} {evaluation.get('approval_status')}"
    if evaluation.get("metric"):
        current = evaluation.get("production_value")
        text += (
            f": {evaluation['metric']} {_number(evaluation.get('value'))}"
            f" (production {_number(current) if current is not None else 'none'})"
        )
    reasons = evaluation.get("reasons")
    if isinstance(reasons, list) and reasons:
        text += f"; {reasons[0]}"
    return text


def _approval(run: StateRun) -> str:
    approval = _section(run.output, "approval")
    if not approval:
        return ""
    note = approval.get("description")
    return f"{approval.get('status')}" + (f": {note}" if note else "")


def _deploy(run: StateRun) -> str:
    deployment = _section(run.output, "deployment")
    if not deployment:
        return ""
    action = "create endpoint" if deployment.get("action") == "create" else "update endpoint"
    return f"{action} {deployment.get('endpoint_name')} with config {deployment.get('endpoint_config_name')}"


def _endpoint_status(run: StateRun) -> str:
    deployment = _section(run.output, "deployment")
    status = str(deployment.get("status") or "")
    if deployment.get("serving_new_model") is True:
        status += ", serving the new model"
    if deployment.get("failure_reason"):
        status += f": {deployment['failure_reason']}"
    return status


def _start_preprocessing(run: StateRun) -> str:
    preprocessing = _section(run.output, "preprocessing")
    return f"processing job {preprocessing['job_name']}" if preprocessing.get("job_name") else ""


def _job_status(section: str, completed: str, output_field: str) -> Callable[[StateRun], str]:
    """A GetStatus line for a job's section: its status, why it failed, or where a completed job's output is."""

    def facts(run: StateRun) -> str:
        job = _section(run.output, section)
        status = str(job.get("status") or "")
        if job.get("failure_reason"):
            return f"{status}: {job['failure_reason']}"
        return f"{status}, {completed} {job.get(output_field)}" if status == "Completed" else status

    return facts


def _start_transform(run: StateRun) -> str:
    transform = _section(run.output, "batch_transform")
    return f"transform job {transform['job_name']} over {transform.get('day')}" if transform.get("job_name") else ""


def _watermark(run: StateRun) -> str:
    watermark = _section(run.output, "watermark")
    if not watermark:
        return ""
    moved = f"watermark {watermark.get('previous_date') or 'none'} → {watermark.get('newest_data_date')}"
    return moved + (" (model rejected)" if watermark.get("outcome") == "rejected" else "")


def _clean_up(run: StateRun) -> str:
    report = _section(run.output, "clean_up")
    removed = [
        f"{kind} {report[key]}"
        for kind, key in (
            ("stopped processing job", "stopped_processing_job"),
            ("stopped training job", "stopped_training_job"),
            ("deleted endpoint", "deleted_endpoint"),
            ("deleted endpoint config", "deleted_endpoint_config"),
            ("deleted model", "deleted_model"),
        )
        if report.get(key)
    ]
    return "; ".join(removed) if removed else ("nothing to remove" if report else "")


def _prune(run: StateRun) -> str:
    report = _section(run.output, "pruned")
    if not report:
        return ""
    deleted = [*report.get("deleted_endpoint_configs", []), *report.get("deleted_models", [])]
    if not deleted:
        return f"nothing to delete (keeping the newest {report.get('keep_last')})"
    configs, models = len(report.get("deleted_endpoint_configs", [])), len(report.get("deleted_models", []))
    return f"deleted {configs} endpoint config(s) and {models} model(s), keeping the newest {report.get('keep_last')}"


def _notification(run: StateRun) -> str:
    result = run.result if isinstance(run.result, Mapping) else {}
    if result.get("delivered") is True:
        return "Slack message posted"
    detail = result.get("detail")
    return f"Slack message not posted: {detail}" if detail else ""


def _facts_by_kind(run: StateRun) -> Callable[[StateRun], str]:
    if run.name in steps.NOTIFY_SLACK.states:
        return _notification
    if run.kind == "Pass":
        return _recorded_failure
    return lambda _: ""


def _recorded_failure(run: StateRun) -> str:
    """A Pass state on a failure path writes {Error, Cause} under `failure` (or `transform_error`): show it."""
    failure = _section(run.output, "failure")
    transform_error = _section(run.output, "transform_error")
    for detail in [*failure.values(), transform_error]:
        if isinstance(detail, Mapping) and detail.get("Error"):
            return f"{detail['Error']}: {detail.get('Cause')}"
    return ""


_FACTS: dict[str, Callable[[StateRun], str]] = {
    steps.CHECK_DATA.state: _check_data,
    steps.START_PREPROCESSING.state: _start_preprocessing,
    "GetPreprocessingStatus": _job_status("preprocessing", "training data", "training_data_uri"),
    steps.START_TRAINING_JOB.state: _start_training,
    "GetTrainingStatus": _training_status,
    steps.EVALUATE_MODEL.state: _evaluation,
    steps.REQUEST_APPROVAL.state: _approval,
    steps.DEPLOY_MODEL.state: _deploy,
    "GetEndpointStatus": _endpoint_status,
    steps.UPDATE_PARAMETERS.state: _watermark,
    steps.PRUNE_MODELS.state: _prune,
    steps.START_BATCH_TRANSFORM.state: _start_transform,
    "GetBatchTransformStatus": _job_status("batch_transform", "predictions in", "output_uri"),
    steps.CLEAN_UP.state: _clean_up,
}


class Console:
    """Lines to a terminal from several threads (the live view, the Slack server), never interleaved."""

    def __init__(self, stream: TextIO, *, color: bool | None = None) -> None:
        self.stream = stream
        self.color = wants_color(stream) if color is None else color
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.color else text

    def dim(self, text: str) -> str:
        return f"\033[2m{text}\033[0m" if self.color else text


def wants_color(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Colour on a terminal, unless NO_COLOR is set to anything but the empty string (https://no-color.org)."""
    return stream.isatty() and not environ.get("NO_COLOR")


def follow_execution(
    sfn: Any,
    arn: str,
    *,
    console: Console,
    indent: str = "  ",
    poll_seconds: float = POLL_SECONDS,
    timeout_seconds: float = 120,
    after_state: Callable[[StateRun], None] | None = None,
) -> ExecutionRecord:
    """Print each state of the execution as it ends, until the execution ends; return it with its history.

    `after_state` is called after each state's line (the demo prints the Slack message a Notify state
    posted there). Raises TimeoutError when the execution is still running after `timeout_seconds`.
    """

    def show(runs: Sequence[StateRun]) -> None:
        for run in runs:
            console.line(indent + format_state(run, color=console.color))
            if after_state is not None:
                after_state(run)

    deadline = time.monotonic() + timeout_seconds
    shown = 0
    while True:
        described = sfn.describe_execution(executionArn=arn)
        history = execution_history(sfn, arn)
        runs, _ = state_runs(history)
        show(runs[shown:])
        shown = len(runs)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {arn} still running after {timeout_seconds:.0f} s")
        time.sleep(poll_seconds)
    # The history read after the status can only be longer: read it again for the states that ended last.
    history = execution_history(sfn, arn)
    runs, _ = state_runs(history)
    show(runs[shown:])
    return ExecutionRecord.from_description(described, history)


def _new_state(name: str, kind: str, when: datetime) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "entered": when,
        "exited": None,
        "output": {},
        "result": None,
        "error": None,
        "cause": None,
        "attempts": 0,
        "next_state": None,
    }


def _freeze(state: Mapping[str, Any]) -> StateRun:
    return StateRun(**state)


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return value
    return {}


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _json_object(text: Any) -> Mapping[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, Mapping) else {}


def _payload(text: Any) -> Any:
    """A Lambda task's result: the `Payload` of lambda:invoke's answer."""
    answer = _json_object(text)
    return answer.get("Payload", answer)


def _section(state: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = state.get(name)
    return value if isinstance(value, Mapping) else {}


def _readable_cause(cause: str | None) -> str:
    """The errorMessage of a Lambda error's JSON cause, else the cause as written."""
    parsed = _json_object(cause)
    message = parsed.get("errorMessage")
    return str(message) if message else str(cause or "")


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= FACTS_MAX else text[: FACTS_MAX - 1] + "…"


def states_summary(runs: Sequence[StateRun]) -> str:
    """`12 states in 4.3 s` for a run's closing line."""
    if not runs:
        return "no states"
    seconds = ((runs[-1].exited or runs[-1].entered) - runs[0].entered).total_seconds()
    return f"{len(runs)} states in {seconds:.1f} s"


class ExecutionWatcher:
    """Follows every execution of the state machines from a thread, printing each state as it ends.

    For `serve`: executions started from outside (the AWS CLI, boto3) show up in the terminal as they run.
    """

    def __init__(
        self, sfn: Any, state_machine_arns: Sequence[str], *, console: Console, poll_seconds: float = 0.5
    ) -> None:
        self._sfn = sfn
        self._state_machines = list(state_machine_arns)
        self._console = console
        self._poll_seconds = poll_seconds
        self._shown: dict[str, int] = {}  # execution ARN -> states printed
        self._ended: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="execution-watcher", daemon=True)

    def start(self) -> ExecutionWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def poll(self) -> None:
        """Print what ended since the last poll, for every execution not yet seen to its end."""
        for state_machine in self._state_machines:
            page = self._sfn.list_executions(stateMachineArn=state_machine, maxResults=100)
            for execution in sorted(page.get("executions", []), key=lambda e: str(e.get("startDate"))):
                arn = execution["executionArn"]
                if arn not in self._ended:
                    self._follow(arn, execution["name"], execution["status"])

    def _follow(self, arn: str, name: str, status: str) -> None:
        if arn not in self._shown:
            self._shown[arn] = 0
            self._console.line(f"▶ {name} started")
        runs, _ = state_runs(execution_history(self._sfn, arn))
        for run in runs[self._shown[arn] :]:
            self._console.line(f"  {name}  {format_state(run, color=self._console.color)}")
        self._shown[arn] = len(runs)
        if status != "RUNNING":
            self._ended.add(arn)
            end = runs[-1].name if runs else "?"
            self._console.line(f"■ {name} {status} at {end}: {states_summary(runs)}")

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self.poll()
            except Exception as error:  # the view must outlive a failed poll (e.g. the server stopping)
                if not self._stop.is_set():
                    self._console.line(f"(execution view: {type(error).__name__}: {error})")
