"""The guard against overlapping runs: of the pipeline's running executions, only the earliest goes on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdas.common.events import Execution

if TYPE_CHECKING:
    from types_boto3_stepfunctions import SFNClient


def state_machine_arn(execution: Execution) -> str:
    """The state machine of an execution: arn:…:execution:<machine>:<name> → arn:…:stateMachine:<machine>."""
    prefix, machine, _name = execution.id.rsplit(":", 2)
    return f"{prefix.removesuffix(':execution')}:stateMachine:{machine}"


def earlier_running_execution(sfn: SFNClient, execution: Execution) -> str | None:
    """Return the ARN of a running execution that started before this one, if any.

    Executions are ordered by start time, then by ARN, so of two that start in the same instant exactly one
    goes on. Step Functions' own list is the lock: it needs no cleanup when a run dies, and it holds on AWS
    as in the local runtime.
    """
    me = (execution.start_time, execution.id)
    paginator = sfn.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=state_machine_arn(execution), statusFilter="RUNNING"):
        for other in page["executions"]:
            if other["executionArn"] == execution.id:
                continue
            if (other["startDate"], other["executionArn"]) < me:
                return str(other["executionArn"])
    return None
