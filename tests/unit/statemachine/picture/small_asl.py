"""A small workflow with every kind of transition, and DOT read back into edges and nodes."""

from __future__ import annotations

import re
from typing import Any

SMALL_ASL: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${CheckFunctionArn}", "Payload": {"state.$": "$"}},
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 3}],
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "Next": "Notify"},
                {"ErrorEquals": ["States.ALL"], "Next": "Failed"},
            ],
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.job.status", "StringEquals": "Completed", "Next": "Done"},
                {
                    "Or": [
                        {"Variable": "$.job.status", "StringEquals": "InProgress"},
                        {"Variable": "$.job.status", "StringEquals": "Starting"},
                    ],
                    "Next": "Pause",
                },
            ],
            "Default": "Failed",
        },
        "Pause": {"Type": "Wait", "SecondsPath": "$.job.poll_seconds", "Next": "Check"},
        "Notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${NotifySlackFunctionArn}"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            "Next": "Failed",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "JobFailed"},
    },
}


def dot_edges(dot: str) -> dict[tuple[str, str], str]:
    """(source, target) -> the edge's attribute list, read back from DOT text."""
    return {
        (source, target): attributes
        for source, target, attributes in re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$', dot, re.MULTILINE)
    }


def dot_nodes(dot: str) -> dict[str, str]:
    return dict(re.findall(r'^\s*"([^"]+)" \[(shape=.*)\];$', dot, re.MULTILINE))
