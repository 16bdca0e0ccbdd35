"""Step Functions' "Step Functions Execution Status Change" events, as Step Functions sends them; moto sends none.

One event per status change of a Standard execution (Express workflows send none): RUNNING when it starts, then
SUCCEEDED, FAILED, TIMED_OUT or ABORTED. Source `aws.states`, `resources` the execution's ARN, and a detail that
"provides the same information as the DescribeExecution API" (the developer guide's "EventBridge (CloudWatch
Events) for Step Functions execution status changes", cw-events.md in awsdocs/aws-step-functions-developer-guide,
whose examples this follows): executionArn, stateMachineArn, name, status, startDate and stopDate as epoch
milliseconds (stopDate null while running), input, inputDetails, output and outputDetails (null unless it
succeeded), and error and cause when DescribeExecution has them (a failure's, or the ones StopExecution was
given). Being DescribeExecution's information, it holds its redrive members too: redriveCount, redriveDate (epoch
milliseconds, null before a first redrive), redriveStatus, and redriveStatusReason when not redrivable. A redrive
sends a RUNNING event again, with the new redriveCount (redrive.py).

The same page: when the escaped input and output together exceed 248 KB, the input is left out; when the escaped
output alone does, the output is; `inputDetails`/`outputDetails` say `"included": false`.

They reach the rules that match them through local_runtime.event_bus, as SageMaker's events do; a delivery that
fails is the bus's to log, and a put that fails is logged here: Step Functions delivers these on a best-effort basis
and an execution never fails for them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from contract.events import EXECUTION_STATUS_CHANGE
from local_runtime import event_bus

SOURCE = "aws.states"
# "248KB" in the developer guide: taken as KiB, the unit of the 256 KiB limits it sits under.
MAX_ESCAPED_PAYLOAD_BYTES = 248 * 1024

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PutEvents = Callable[..., Sequence[Mapping[str, Any]]]

logger = logging.getLogger(__name__)


def status_change_detail(described: Mapping[str, Any]) -> dict[str, Any]:
    """The event's detail from an execution's DescribeExecution fields (datetimes, status as text or enum)."""
    status = str(getattr(described["status"], "value", described["status"]))
    output = described.get("output") if status == "SUCCEEDED" else None
    input_text = described.get("input")
    escaped_output = _escaped_size(output)
    input_included = _escaped_size(input_text) + escaped_output <= MAX_ESCAPED_PAYLOAD_BYTES
    output_included = escaped_output <= MAX_ESCAPED_PAYLOAD_BYTES
    detail: dict[str, Any] = {
        "executionArn": described["executionArn"],
        "stateMachineArn": described["stateMachineArn"],
        "name": described["name"],
        "status": status,
        "startDate": epoch_millis(described["startDate"]),
        "stopDate": epoch_millis(described.get("stopDate")),
        "input": input_text if input_included else None,
        "inputDetails": {"included": input_included},
        "output": output if output_included else None,
        "outputDetails": None if output is None else {"included": output_included},
    }
    for key in ("error", "cause"):
        if described.get(key) is not None:
            detail[key] = described[key]
    detail["redriveCount"] = described.get("redriveCount", 0)
    detail["redriveDate"] = epoch_millis(described.get("redriveDate"))
    detail["redriveStatus"] = described.get("redriveStatus")
    if described.get("redriveStatusReason") is not None:
        detail["redriveStatusReason"] = described["redriveStatusReason"]
    return detail


def epoch_millis(moment: datetime | None) -> int | None:
    """A date as the events write it: whole milliseconds since the epoch, as the API's dates are cut (naive
    datetimes are UTC)."""
    if moment is None:
        return None
    when = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return (when - _EPOCH) // timedelta(milliseconds=1)


def announce(
    described: Mapping[str, Any], *, region: str, account: str, put_events: PutEvents = event_bus.put_events
) -> None:
    """Put the event for an execution as DescribeExecution describes it now; never raises."""
    detail = status_change_detail(described)
    entry = {
        "Source": SOURCE,
        "DetailType": EXECUTION_STATUS_CHANGE,
        "Detail": json.dumps(detail),
        "Resources": [detail["executionArn"]],
    }
    try:
        put_events([entry], region=region, account=account)
    except Exception:  # best effort, as on AWS: the execution goes on whatever happens to its event
        logger.exception("%s of %s not sent", EXECUTION_STATUS_CHANGE, detail["executionArn"])


def _escaped_size(text: str | None) -> int:
    """The bytes of the text as it sits escaped in the event's JSON."""
    return 0 if text is None else len(json.dumps(text).encode()) - 2
