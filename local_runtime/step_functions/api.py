"""Step Functions' API where moto's answers differ from AWS's: StopExecution, StartExecution's input limit, and the
stop date of a timed-out execution.

- StopExecution takes `error` (at most 256 characters) and `cause` (at most 32,768) and aborts the execution with
  them (executions.py); moto read neither and did not stop a task waiting for its callback.
- StartExecution refuses an input over 262,144 bytes: the API reference gives `input` a maximum length of 262144,
  "expressed as bytes in UTF-8 encoding". A length constraint is checked before the request is served and answered
  as every AWS API answers one: ValidationException, "1 validation error detected: Value at '<member>' failed to
  satisfy constraint: Member must have length less than or equal to <n>", the value left out for a sensitive member
  such as `input`, `error` or `cause` (as users quote it for SendTaskFailure's `error`; the words for `input` are
  inferred from that, not measured). moto checks no length.
- DescribeExecution and ListExecutions give a TIMED_OUT execution its stopDate (moto gives one only to SUCCEEDED,
  FAILED and ABORTED ones); AWS gives it to every execution that has ended.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import ValidationException
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from local_runtime.step_functions import executions

MAX_INPUT_BYTES = 262_144
MAX_ERROR_LENGTH = 256
MAX_CAUSE_LENGTH = 32_768

_installed = False
_original: dict[str, Any] = {}


def install() -> None:
    """Answer the operations above as AWS does; calling it again does nothing."""
    global _installed
    if _installed:
        return
    for name, replacement in (
        ("stop_execution", _stop_execution),
        ("start_execution", _start_execution),
        ("describe_execution", _describe_execution),
        ("list_executions", _list_executions),
    ):
        _original[name] = getattr(StepFunctionResponse, name)
        setattr(StepFunctionResponse, name, replacement)
    _installed = True


def too_long(member: str, maximum: int) -> str:
    """AWS's message for a sensitive member over its maximum length (the value is not repeated)."""
    return (
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {maximum}"
    )


def _stop_execution(self: StepFunctionResponse) -> ActionResult:
    error, cause = self._get_param("error"), self._get_param("cause")
    for member, value, maximum in (("error", error, MAX_ERROR_LENGTH), ("cause", cause, MAX_CAUSE_LENGTH)):
        if value is not None and len(value) > maximum:
            raise ValidationException(too_long(member, maximum))
    backend = self.stepfunction_backend
    if not isinstance(backend, StepFunctionsParserBackend):
        result: ActionResult = _original["stop_execution"](self)  # moto without the interpreter: nothing runs
        return result
    execution = backend.describe_execution(self._get_param("executionArn"))  # ExecutionDoesNotExist, InvalidArn
    if not isinstance(execution, Execution):
        raise TypeError(f"not an execution of moto's interpreter: {execution!r}")
    return ActionResult({"stopDate": executions.stop(execution, error=error, cause=cause)})


def _start_execution(self: StepFunctionResponse) -> ActionResult:
    execution_input = self._get_param("input")
    if isinstance(execution_input, str) and len(execution_input.encode("utf-8")) > MAX_INPUT_BYTES:
        raise ValidationException(too_long("input", MAX_INPUT_BYTES))
    result: ActionResult = _original["start_execution"](self)
    return result


def _describe_execution(self: StepFunctionResponse) -> ActionResult:
    result: ActionResult = _original["describe_execution"](self)
    _date_timed_out(self, [result.result])
    return result


def _list_executions(self: StepFunctionResponse) -> ActionResult:
    result: ActionResult = _original["list_executions"](self)
    answer = result.result
    _date_timed_out(self, answer.get("executions", []) if isinstance(answer, dict) else [])
    return result


def _date_timed_out(self: StepFunctionResponse, items: list[Any]) -> None:
    for item in items:
        if isinstance(item, dict) and item.get("status") == ExecutionStatus.TIMED_OUT and "stopDate" not in item:
            item["stopDate"] = self.stepfunction_backend.describe_execution(item["executionArn"]).stop_date
