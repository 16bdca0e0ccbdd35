"""Deploy a synthesized pipeline stack into the local AWS and run executions of its state machine."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import boto3

from local_runtime.iam.kms import put_key
from local_runtime.scheduler_delivery import substitute_context
from local_runtime.server import LocalAws
from local_runtime.template import LocalStack
from operator_cli.executions import ExecutionRecord as ExecutionRecord
from operator_cli.executions import execution_history

# Given to every function on top of its template environment: there is no X-Ray daemon to send traces to.
_LOCAL_FUNCTION_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "1"}
# moto's interpreter sleeps for real between retries, honouring IntervalSeconds, BackoffRate, MaxDelaySeconds,
# MaxAttempts and JitterStrategy; the local time scale keeps every attempt and the backoff, but shortens it.
LOCAL_RETRY_INTERVAL_SECONDS = 1


@dataclass(frozen=True)
class DeployedPipeline:
    stack: LocalStack
    state_machine_arn: str


def client(aws: LocalAws, service: str, region: str) -> Any:
    """A client of the local AWS, built once per service and region for the server's lifetime.

    Building a client costs more CPU than most calls; a client, once built, is safe to share between threads.
    """
    with aws.clients_lock:
        if (service, region) not in aws.clients:
            aws.clients[service, region] = boto3.client(  # type: ignore[call-overload]
                service,
                endpoint_url=aws.endpoint_url,
                region_name=region,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return aws.clients[service, region]


def compress_retries(definition: str, *, max_delay_seconds: int) -> str:
    """The definition with every Retry's first interval at 1 s and its backoff capped at `max_delay_seconds`.

    MaxAttempts, BackoffRate, JitterStrategy and ErrorEquals stay as written, so a local run retries the same
    errors as often as AWS does, in seconds instead of minutes. Retries nested in Parallel and Map states too.
    """
    if max_delay_seconds < 1:
        raise ValueError(f"max_delay_seconds must be at least 1, got {max_delay_seconds}")
    parsed = json.loads(definition)
    _compress(parsed, max_delay_seconds)
    return json.dumps(parsed)


def _compress(node: Any, max_delay_seconds: int) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Retry" and isinstance(value, list):
                for retrier in value:
                    if isinstance(retrier, dict):
                        retrier["IntervalSeconds"] = LOCAL_RETRY_INTERVAL_SECONDS
                        retrier["MaxDelaySeconds"] = min(
                            int(retrier.get("MaxDelaySeconds", max_delay_seconds)), max_delay_seconds
                        )
            else:
                _compress(value, max_delay_seconds)
    elif isinstance(node, list):
        for item in node:
            _compress(item, max_delay_seconds)


def deploy(
    aws: LocalAws,
    stack: LocalStack,
    *,
    function_environment: Mapping[str, str] | None = None,
    retry_max_delay_seconds: int | None = None,
) -> DeployedPipeline:
    """Create the stack's buckets, parameters, functions, state machine and rules; return where to start runs.

    With `retry_max_delay_seconds`, the state machine's retries wait on the local time scale (compress_retries).
    """
    for key in stack.kms_keys.values():  # before the buckets whose default encryption names them
        put_key(key, region=stack.region, account=stack.account)
    _create_buckets(aws, stack)
    _create_schedule_groups(aws, stack)
    ssm = client(aws, "ssm", stack.region)
    for name, value in stack.parameters.items():
        # Like CloudFormation redeploying an unchanged resource: an existing parameter keeps its value.
        with contextlib.suppress(ssm.exceptions.ParameterAlreadyExists):
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=False)
    if stack.alarms:
        cloudwatch = client(aws, "cloudwatch", stack.region)
        for alarm in stack.alarms.values():
            # PutMetricAlarm takes the template's properties as they are (and overwrites an existing alarm).
            cloudwatch.put_metric_alarm(**alarm)
    extra = {**_LOCAL_FUNCTION_ENVIRONMENT, **(function_environment or {})}
    for function in stack.functions.values():
        aws.register_function(replace(function, environment={**function.environment, **extra}))
    arn = _put_state_machine(aws, stack, retry_max_delay_seconds=retry_max_delay_seconds)
    put_rules(aws, stack)
    _create_queues(aws, stack)
    put_schedules(aws, stack)
    aws.stacks[stack.name] = dict(stack.outputs)  # what DescribeStacks answers on AWS, for the CLI
    return DeployedPipeline(stack=stack, state_machine_arn=arn)


def _create_buckets(aws: LocalAws, stack: LocalStack) -> None:
    """The stack's buckets, the file assets `cdk deploy` would publish, and the buckets that notify EventBridge."""
    s3 = client(aws, "s3", stack.region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in stack.buckets:
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
    for bucket, encryption in stack.bucket_encryption.items():
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption)
    for bucket, policy in stack.bucket_policies.items():
        # Read back at check time by local_runtime.iam (a bucket outside the stack, not created here, is skipped).
        if bucket in existing or bucket in stack.buckets:
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    for bucket, key, body in stack.file_assets:
        # What `cdk deploy` publishes to the bootstrap bucket before the stack reads it (the preprocessing's source).
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
            existing.add(bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    for bucket in stack.eventbridge_buckets:
        # moto then sends the bucket's object events to EventBridge, whose rules local_runtime.event_bus delivers.
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )


def _create_schedule_groups(aws: LocalAws, stack: LocalStack) -> None:
    if not stack.schedule_groups:
        return
    scheduler = client(aws, "scheduler", stack.region)
    for group in stack.schedule_groups:
        try:
            scheduler.get_schedule_group(Name=group)
        except scheduler.exceptions.ResourceNotFoundException:
            scheduler.create_schedule_group(Name=group)  # moto would replace an existing group and its schedules


def _create_queues(aws: LocalAws, stack: LocalStack) -> None:
    if stack.queues:
        sqs = client(aws, "sqs", stack.region)
        for name in stack.queues:
            sqs.create_queue(QueueName=name)  # idempotent for a queue of the same attributes, as on AWS


# The AWS::Scheduler::Schedule properties CreateSchedule takes under the same names.
_SCHEDULE_KEYS = (
    "Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Target", "State",
    "Description", "KmsKeyArn", "StartDate", "EndDate",
)  # fmt: skip


def put_schedules(aws: LocalAws, stack: LocalStack) -> None:
    """Create or update the stack's EventBridge Scheduler schedules (local_runtime.scheduler fires them)."""
    if not stack.schedules:
        return
    scheduler = client(aws, "scheduler", stack.region)
    for properties in stack.schedules.values():
        arguments = {key: properties[key] for key in _SCHEDULE_KEYS if key in properties}
        try:
            scheduler.get_schedule(Name=arguments["Name"], GroupName=arguments.get("GroupName", "default"))
            scheduler.update_schedule(**arguments)
        except scheduler.exceptions.ResourceNotFoundException:
            scheduler.create_schedule(**arguments)


def _put_state_machine(aws: LocalAws, stack: LocalStack, *, retry_max_delay_seconds: int | None) -> str:
    """Create the stack's one state machine, or update its definition; its ARN."""
    if len(stack.state_machines) != 1:
        raise ValueError(f"stack {stack.name} defines {len(stack.state_machines)} state machines, expected 1")
    ((logical_id, (name, definition)),) = stack.state_machines.items()
    # The template's role: the interpreter's calls sign as a session of it (local_runtime.moto_extensions).
    role = stack.state_machine_roles.get(logical_id) or f"arn:aws:iam::{stack.account}:role/{name}-role"
    if retry_max_delay_seconds is not None:
        definition = compress_retries(definition, max_delay_seconds=retry_max_delay_seconds)
    sfn = client(aws, "stepfunctions", stack.region)
    arn = stack.state_machine_arn(name)
    try:
        sfn.describe_state_machine(stateMachineArn=arn)
        sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role)
    except sfn.exceptions.StateMachineDoesNotExist:
        arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
    return arn


def put_rules(aws: LocalAws, stack: LocalStack) -> None:
    """Create or update the stack's EventBridge rules and their targets (local_runtime.event_bus delivers them)."""
    events = client(aws, "events", stack.region)
    buses = {bus["Name"] for bus in events.list_event_buses()["EventBuses"]}
    for rule in stack.rules.values():
        if rule.event_bus_name not in buses:
            events.create_event_bus(Name=rule.event_bus_name)
            buses.add(rule.event_bus_name)
        arguments: dict[str, Any] = {"Name": rule.name, "EventBusName": rule.event_bus_name, "State": rule.state}
        if rule.event_pattern is not None:
            arguments["EventPattern"] = json.dumps(rule.event_pattern)
        if rule.schedule_expression is not None:
            arguments["ScheduleExpression"] = rule.schedule_expression
        if rule.description:
            arguments["Description"] = rule.description
        events.put_rule(**arguments)
        if rule.targets:
            events.put_targets(Rule=rule.name, EventBusName=rule.event_bus_name, Targets=rule.targets)


def run_execution(
    aws: LocalAws,
    pipeline: DeployedPipeline,
    *,
    name: str,
    execution_input: Mapping[str, Any] | None = None,
    timeout_seconds: float = 120,
) -> ExecutionRecord:
    """Start an execution and wait for it to end; raise TimeoutError if it is still running at the deadline."""
    sfn = client(aws, "stepfunctions", pipeline.stack.region)
    arn = sfn.start_execution(
        stateMachineArn=pipeline.state_machine_arn, name=name, input=json.dumps(dict(execution_input or {}))
    )["executionArn"]
    return wait_for_execution(aws, arn, region=pipeline.stack.region, timeout_seconds=timeout_seconds)


def wait_for_execution(aws: LocalAws, arn: str, *, region: str, timeout_seconds: float = 120) -> ExecutionRecord:
    """Wait for an execution to end and return it with its history."""
    sfn = client(aws, "stepfunctions", region)
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {arn} still running after {timeout_seconds} s")
        time.sleep(0.1)
    return ExecutionRecord.from_description(described, execution_history(sfn, arn))


def fire_schedule(aws: LocalAws, pipeline: DeployedPipeline, *, name: str, at: datetime | None = None) -> str:
    """Start an execution the way the pipeline's schedule does, now: its target's input, with Scheduler's context
    attributes filled in for a tick at `at` (default: now, to the minute).

    For demos and tests that want a run at once; local_runtime.scheduler fires the schedule on its own clock.
    """
    schedules = [s for s in pipeline.stack.schedules.values() if s.get("State", "ENABLED") == "ENABLED"]
    if not schedules:
        raise ValueError(f"stack {pipeline.stack.name} has no enabled schedule")
    schedule = schedules[0]
    target = schedule["Target"]
    if target["Arn"] != pipeline.state_machine_arn:
        raise ValueError(f"the schedule of stack {pipeline.stack.name} does not start its state machine")
    tick = at or datetime.now(UTC).replace(second=0, microsecond=0)
    region, account = pipeline.stack.region, pipeline.stack.account
    group = schedule.get("GroupName", "default")
    execution_input = substitute_context(
        str(target.get("Input", "{}")),
        schedule_arn=f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{schedule['Name']}",
        scheduled_time=tick,
        execution_id=uuid.uuid4().hex[:16],
        attempt=1,
    )
    sfn = client(aws, "stepfunctions", region)
    arn: str = sfn.start_execution(stateMachineArn=pipeline.state_machine_arn, name=name, input=execution_input)[
        "executionArn"
    ]
    return arn
