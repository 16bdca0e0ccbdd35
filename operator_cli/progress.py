"""A live view of an execution: one line per state as it ends, with its duration, outcome and notable facts."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from operator_cli.executions import ExecutionRecord, execution_history
from operator_cli.state_facts import state_facts
from operator_cli.states import StateRun, state_runs

if TYPE_CHECKING:
    from types_boto3_stepfunctions import SFNClient


POLL_SECONDS = 0.2
NAME_WIDTH = 25

OK, FAILED, CHOICE = "✓", "✗", "◆"
_GREEN, _RED, _DIM, _RESET = "\033[32m", "\033[31m", "\033[2m", "\033[0m"


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
    sfn: SFNClient,
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
        self, sfn: SFNClient, state_machine_arns: Sequence[str], *, console: Console, poll_seconds: float = 0.5
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
