"""Step Functions' API where moto's answers differ from AWS's: StopExecution, StartExecution's input limit, the
stop date of a timed-out execution, RedriveExecution and the redrive members, and the task callbacks' limits.

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
- RedriveExecution (redrive.py); DescribeExecution answers `redriveCount`, `redriveDate`, `redriveStatus` and
  `redriveStatusReason`, ListExecutions' items `redriveCount` and `redriveDate`, and ListExecutions takes
  `redriveFilter` (REDRIVEN: redriven at least once; NOT_REDRIVEN: never). The filter applies to the page moto
  made, which may then hold fewer than maxResults items, as the API reference allows ("only an upper limit").
- SendTaskSuccess refuses an `output` over 262,144 UTF-8 bytes and SendTaskFailure an `error` over 256 or a
  `cause` over 32,768 characters (SensitiveData, SensitiveError and SensitiveCause in the service model), as
  StartExecution's input; moto checks no length.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import ValidationException
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from local_runtime.step_functions import executions, redrive, redrive_eligibility

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
        ("send_task_success", _send_task_success),
        ("send_task_failure", _send_task_failure),
    ):
        _original[name] = getattr(StepFunctionResponse, name)
        setattr(StepFunctionResponse, name, replacement)
    StepFunctionResponse.redrive_execution = _redrive_execution  # type: ignore[attr-defined]
    _installed = True


def too_long(member: str, maximum: int) -> str:
    """AWS's message for a sensitive member over its maximum length (the value is not repeated)."""
    return (
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {maximum}"
    )


def _check_error_and_cause(self: StepFunctionResponse) -> tuple[str | None, str | None]:
    error, cause = self._get_param("error"), self._get_param("cause")
    for member, value, maximum in (("error", error, MAX_ERROR_LENGTH), ("cause", cause, MAX_CAUSE_LENGTH)):
        if value is not None and len(value) > maximum:
            raise ValidationException(too_long(member, maximum))
    return error, cause


def _check_data(member: str, value: Any) -> None:
    if isinstance(value, str) and len(value.encode("utf-8")) > MAX_INPUT_BYTES:
        raise ValidationException(too_long(member, MAX_INPUT_BYTES))


def _stop_execution(self: StepFunctionResponse) -> ActionResult:
    error, cause = _check_error_and_cause(self)
    if not isinstance(self.stepfunction_backend, StepFunctionsParserBackend):
        result: ActionResult = _original["stop_execution"](self)  # moto without the interpreter: nothing runs
        return result
    execution = _execution(self, self._get_param("executionArn"))
    return ActionResult({"stopDate": executions.stop(execution, error=error, cause=cause)})


def _redrive_execution(self: StepFunctionResponse) -> ActionResult:
    execution = _execution(self, self._get_param("executionArn"))
    return ActionResult({"redriveDate": redrive.redrive(execution, self._get_param("clientToken"))})


def _send_task_success(self: StepFunctionResponse) -> ActionResult:
    _check_data("output", self._get_param("output"))
    result: ActionResult = _original["send_task_success"](self)
    return result


def _send_task_failure(self: StepFunctionResponse) -> ActionResult:
    _check_error_and_cause(self)
    result: ActionResult = _original["send_task_failure"](self)
    return result


def _execution(self: StepFunctionResponse, arn: str) -> Execution:
    """The execution of moto's interpreter; ExecutionDoesNotExist or InvalidArn as moto answers them."""
    execution = self.stepfunction_backend.describe_execution(arn)
    if not isinstance(execution, Execution):
        raise TypeError(f"not an execution of moto's interpreter: {execution!r}")
    return execution


def _start_execution(self: StepFunctionResponse) -> ActionResult:
    _check_data("input", self._get_param("input"))
    result: ActionResult = _original["start_execution"](self)
    return result


def _describe_execution(self: StepFunctionResponse) -> ActionResult:
    result: ActionResult = _original["describe_execution"](self)
    _date_timed_out(self, [result.result])
    if isinstance(result.result, dict) and isinstance(self.stepfunction_backend, StepFunctionsParserBackend):
        execution = _execution(self, result.result["executionArn"])
        length = redrive_eligibility.history_length(execution)
        result.result.update(redrive_eligibility.redrive_fields(execution, length))
    return result


def _list_executions(self: StepFunctionResponse) -> ActionResult:
    result: ActionResult = _original["list_executions"](self)
    answer = result.result
    items = answer.get("executions", []) if isinstance(answer, dict) else []
    _date_timed_out(self, items)
    if isinstance(answer, dict) and isinstance(self.stepfunction_backend, StepFunctionsParserBackend):
        for item in items:
            redrives = redrive_eligibility.redrives_of(_execution(self, item["executionArn"]))
            item["redriveCount"] = redrives.count
            if redrives.date is not None:
                item["redriveDate"] = redrives.date
        wanted = self._get_param("redriveFilter")
        if wanted is not None:
            answer["executions"] = [item for item in items if (item["redriveCount"] > 0) == (wanted == "REDRIVEN")]
    return result


def _date_timed_out(self: StepFunctionResponse, items: list[Any]) -> None:
    for item in items:
        if isinstance(item, dict) and item.get("status") == ExecutionStatus.TIMED_OUT and "stopDate" not in item:
            item["stopDate"] = self.stepfunction_backend.describe_execution(item["executionArn"]).stop_date
