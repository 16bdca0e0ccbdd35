"""Executions that end as Step Functions ends them: stopped, timed out or on their own, each end told once.

moto's interpreter learns of StopExecution and of the state machine's TimeoutSeconds only where a state looks:
a Wait wakes up, but a Task waiting for its callback token, a running Lambda or a Retry's backoff run to their own
end, and whatever error they then raise becomes the execution's (a stop of a callback wait ended FAILED
States.Timeout, with no ExecutionAborted event and the stop's error and cause lost). Here the end is decided from
outside the interpreter, at the moment it happens, under one lock:

- the execution takes its final status, stop date, error and cause at once, and its history gets its last event
  (ExecutionAborted or ExecutionTimedOut); the history is then sealed, so what the interrupted state still does
  (a callback wait that returns, a Lambda that answers later, a Catch) records nothing and enters no state;
- the state in progress is interrupted: the program is marked stopped (moto's Wait wakes up, every loop of the
  interpreter ends), and each callback token of the execution is released, as a closed task (SendTaskSuccess and
  the others answer that the task is gone). A Lambda already invoked runs to its end, as on AWS, unheard;
- the status-change event is sent (status_events.py).

What AWS shows, measured against real Step Functions (floci-io/floci#2733, #2734, #2965, which record the AWS CLI's
answers) and in LocalStack's AWS-validated snapshot of test_stop_execution:
- StopExecution with an error and a cause: DescribeExecution answers ABORTED with that error and cause; without them
  it omits both keys, and the last event is `ExecutionAborted` with `previousEventId` 0 and
  `executionAbortedEventDetails` holding what was given (`{}` when nothing was). A stopped Wait leaves no
  WaitStateExited.
- The state machine's TimeoutSeconds: TIMED_OUT, stopDate exactly startDate plus the timeout, no error or cause in
  DescribeExecution, and a last event `ExecutionTimedOut` with `previousEventId` 0 and details
  `{"error": "States.Timeout"}` (no cause).
- StopExecution on an execution that has already ended: the API reference lists no error for it (its errors are
  ExecutionDoesNotExist, InvalidArn, ValidationException and the KMS ones), so it is accepted and changes nothing;
  the answer's stopDate is the date the execution stopped. (Not measured: LocalStack answers likewise, with the
  time of the call.)
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.stepfunctions.parser.api import (
    ExecutionAbortedEventDetails,
    ExecutionStartedEventDetails,
    ExecutionStatus,
    ExecutionTimedOutEventDetails,
    HistoryEventExecutionDataDetails,
    HistoryEventType,
    StateMachineType,
)
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerTimeout
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.utils import TMP_THREADS

from local_runtime.step_functions import redrive_eligibility, status_events

TIMEOUT_ERROR = "States.Timeout"


@dataclass(frozen=True)
class _End:
    status: ExecutionStatus
    stop_date: datetime
    error: str | None
    cause: str | None
    event_type: HistoryEventType
    details: EventDetails


@dataclass(frozen=True)
class _Running:
    # Weak: moto's backend owns the execution, and through it the environment this is filed under.
    execution: weakref.ref[Execution]
    deadline: datetime | None  # start date plus the state machine's TimeoutSeconds


# One lock for every end and every history event: an end and the interpreter's last events never interleave.
_lock = threading.RLock()
_sealed: weakref.WeakSet[EventManager] = weakref.WeakSet()
_running: weakref.WeakKeyDictionary[Environment, _Running] = weakref.WeakKeyDictionary()
_installed = False
_original_add_event: Any = None
_original_set_timed_out: Any = None
_original_terminated: Any = None


def install() -> None:
    """Make moto's executions end as described above; calling it again does nothing."""
    global _installed, _original_add_event, _original_set_timed_out, _original_terminated
    if _installed:
        return
    _original_add_event = EventManager.add_event
    _original_set_timed_out = Environment.set_timed_out
    _original_terminated = BaseExecutionWorkerCommunication.terminated
    EventManager.add_event = _add_event  # type: ignore[method-assign]
    Environment.set_timed_out = _set_timed_out  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication.terminated = _terminated  # type: ignore[method-assign]
    ExecutionWorker.start = _start  # type: ignore[method-assign]
    _installed = True


def stop(execution: Execution, *, error: str | None, cause: str | None) -> datetime:
    """StopExecution: abort the execution if it still runs, with the error and cause given (None: not given).

    Returns the date it stopped: now, or when it ended if it had already ended.
    """
    stop_date = datetime.now(UTC)
    given = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
    details = EventDetails(executionAbortedEventDetails=ExecutionAbortedEventDetails(**given))  # type: ignore[typeddict-item]

    def interrupt(env: Environment) -> None:
        env.set_stop(stop_date=stop_date, cause=cause, error=error)

    end = _End(ExecutionStatus.ABORTED, stop_date, error, cause, HistoryEventType.ExecutionAborted, details)
    if not _close(execution, end, interrupt):
        ended: datetime | None = execution.stop_date
        return ended or stop_date
    announce(execution)
    return stop_date


def _start(self: ExecutionWorker) -> None:
    """moto's start, with the environment and the ExecutionStarted event made before StartExecution answers (a stop
    right after the start finds both), then the program evaluated in its own thread as moto does."""
    program = self._get_evaluation_entrypoint()
    if not isinstance(program, Program):
        raise TypeError(f"an execution evaluates a Program, not {type(program).__name__}")
    env = self.env = self._get_evaluation_environment()
    # Running from now on (moto's Program marks it so only when its thread starts): a stop before then must find a
    # program to stop, or it would go on to run its first state.
    env.next_state_name = program.start_at.start_at_name
    execution = getattr(self._execution_communication, "execution", None)
    if isinstance(execution, Execution):
        track(env, execution, program, started=execution.start_date)
    details = self._evaluation_details
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.ExecutionStarted,
        event_details=EventDetails(  # type: ignore[typeddict-item]  # (moto declares every key required)
            executionStartedEventDetails=ExecutionStartedEventDetails(
                input=to_json_str(details.execution_details.inpt),
                inputDetails=HistoryEventExecutionDataDetails(truncated=False),
                roleArn=details.aws_execution_details.role_arn,
            )
        ),
        update_source_event_id=False,
    )
    if isinstance(execution, Execution):
        announce(execution)
    run(self, program, env)


def track(env: Environment, execution: Execution, program: Program, *, started: datetime) -> None:
    """Let a stop or the state machine's TimeoutSeconds (counted from `started`) end the execution run in `env`."""
    timeout = program.timeout_seconds
    deadline = started + timedelta(seconds=timeout.timeout_seconds) if timeout else None
    with _lock:
        _running[env] = _Running(weakref.ref(execution), deadline)


def run(worker: ExecutionWorker, program: Program, env: Environment) -> None:
    """Evaluate the program in `env` in a thread of its own, as moto does."""
    thread = threading.Thread(target=_evaluate, args=(worker, program, env), name="execution", daemon=True)
    TMP_THREADS.append(thread)
    thread.start()


def _evaluate(worker: ExecutionWorker, program: Program, env: Environment) -> None:
    try:
        program.eval(env)
    except RuntimeError:
        # moto's Program names its first state again, which a program stopped before it began refuses
        if env.is_running():
            raise
    with _lock:
        # A program stopped or timed out ends late (a Lambda it waited for answers); if the execution has been
        # redriven meanwhile, another environment runs it now, and this end is not the execution's.
        if worker.env is env:
            worker._execution_communication.terminated()


def _set_timed_out(self: Environment) -> None:
    """moto's Program calls it when the state machine's TimeoutSeconds has passed with the program still running."""
    with _lock:
        running = _running.get(self)
    execution = running.execution() if running is not None else None
    if running is None or running.deadline is None or execution is None:
        _original_set_timed_out(self)  # a branch's own program, or an execution started before install()
        return
    if _environment(execution) is not self:
        return  # a run that ended and was redriven: its late timeout is not the redriven run's
    details = EventDetails(executionTimedOutEventDetails=ExecutionTimedOutEventDetails(error=TIMEOUT_ERROR))  # type: ignore[typeddict-item]
    end = _End(ExecutionStatus.TIMED_OUT, running.deadline, None, None, HistoryEventType.ExecutionTimedOut, details)
    if _close(execution, end, _original_set_timed_out):
        announce(execution)
    # otherwise it was stopped, or ended by itself at the deadline: that end stands


def _terminated(self: BaseExecutionWorkerCommunication) -> None:
    """The program has returned: an execution that ended by itself takes moto's status; one already stopped or
    timed out keeps the end it was given."""
    execution = self.execution
    with _lock:
        if execution.exec_status != ExecutionStatus.RUNNING:
            return
        _original_terminated(self)
        env = _environment(execution)
        if env is not None:
            _sealed.add(env.event_manager)
    announce(execution)


def _close(execution: Execution, end: _End, interrupt: Callable[[Environment], None]) -> bool:
    """End a running execution: its status, dates and last event, then no more events, then `interrupt` and the
    release of its callbacks stop the state in progress. False if it has ended, or is ending by itself (its program
    has ended or failed: moto is writing that end)."""
    with _lock:
        env = _environment(execution)
        if execution.exec_status != ExecutionStatus.RUNNING or env is None:
            return False
        if isinstance(env.program_state(), (ProgramEnded, ProgramError)):
            return False
        execution.exec_status, execution.stop_date = end.status, end.stop_date
        execution.error, execution.cause = end.error, end.cause
        # previousEventId 0, as AWS writes it for an end that comes from outside the states
        _original_add_event(
            env.event_manager,
            context=EventHistoryContext(previous_event_id=0),
            event_type=end.event_type,
            event_details=end.details,
            timestamp=end.stop_date,
            update_source_event_id=False,
        )
        _sealed.add(env.event_manager)
        # Under the lock too: the interpreter, which takes it for every event, enters no state meanwhile.
        interrupt(env)
        _release_callbacks(env)
    return True


def _add_event(self: EventManager, *args: Any, **kwargs: Any) -> int:
    """moto's, except that a sealed history (its execution has ended) takes no more events."""
    with _lock:
        if self in _sealed:
            return 0
        event_id: int = _original_add_event(self, *args, **kwargs)
        return event_id


def _release_callbacks(env: Environment) -> None:
    """Stop every wait for a callback token of the execution; the tokens answer as those of closed tasks."""
    for endpoint in list(env.callback_pool_manager._pool.values()):
        endpoint.report(CallbackConsumerTimeout())
        endpoint.interrupt_all()


def _environment(execution: Execution) -> Environment | None:
    worker = execution.exec_worker
    return worker.env if worker is not None else None


def announce(execution: Execution) -> None:
    if execution.sm_type == StateMachineType.EXPRESS:
        return  # "Express Workflows do not emit events to EventBridge"
    status_events.announce(described(execution), region=execution.region_name, account=execution.account_id)


def described(execution: Execution) -> dict[str, Any]:
    """The execution as the local DescribeExecution answers it: its input as it was given, its output as moto's
    answer writes it (its own to_describe_output re-serializes both)."""
    answer: dict[str, Any] = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": execution.start_date,
        "stopDate": execution.stop_date,
        "input": execution.execution_input,
        "error": execution.error,
        "cause": execution.cause,
        **redrive_eligibility.redrive_fields(execution, redrive_eligibility.history_length(execution)),
    }
    if execution.exec_status == ExecutionStatus.SUCCEEDED and execution.output is not None:
        output = execution.output
        answer["output"] = output if isinstance(output, str) else json.dumps(output)
    return answer
