"""Create what a synthesized pipeline stack describes in the local AWS, from `cdk.out/<stack>.template.json`.

moto's CloudFormation is not a faithful deploy (it drops DefinitionSubstitutions and skips resources), so
this reads the template itself: it resolves the intrinsic functions the stack uses and creates the KMS keys, the
buckets (with their EventBridge notifications, default encryption and bucket policies), the watermark parameter,
the functions, the state machine, the EventBridge rules, the Scheduler groups and schedules, the SQS queues and the
alarms, each under the name the template gives it. Rules with an EventPattern are delivered by
local_runtime.event_bus once deploy.py has put them into the local EventBridge; schedules are fired by
local_runtime.scheduler once deploy.py has created them in the local EventBridge Scheduler.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_runtime.lambda_invoke import LocalFunction

ACCOUNT = "123456789012"
# Where synthesize() notes the stack's file assets (the CDK CLI would publish them to the bootstrap bucket):
# [{"bucket": <bucketName as the asset manifest writes it>, "key": <objectKey>, "body_base64": <the file>}].
FILE_ASSETS_METADATA = "local_runtime:file_assets"


# Resource types whose Ref is their ARN rather than their name.
_REF_IS_ARN = frozenset({"AWS::StepFunctions::StateMachine", "AWS::Lambda::LayerVersion", "AWS::SNS::Topic"})


@dataclass(frozen=True)
class EventRule:
    """An AWS::Events::Rule with its intrinsic functions resolved, in the shape PutRule and PutTargets take."""

    name: str
    event_bus_name: str = "default"
    event_pattern: dict[str, Any] | None = None
    schedule_expression: str | None = None
    state: str = "ENABLED"
    description: str | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class KmsKey:
    """An AWS::KMS::Key as the local runtime creates it: under the key id its ARN names, with its key policy."""

    key_id: str
    arn: str
    policy: dict[str, Any]
    description: str = ""


class TemplateError(Exception):
    """The template uses something the local runtime cannot reproduce; the message names it."""


@dataclass
class LocalStack:
    """The physical names a deployed stack ends up with, and the resources to create for it."""

    name: str
    region: str
    account: str
    buckets: list[str] = field(default_factory=list)
    eventbridge_buckets: list[str] = field(default_factory=list)  # buckets that send their object events to EventBridge
    schedule_groups: list[str] = field(default_factory=list)  # EventBridge Scheduler groups
    parameters: dict[str, str] = field(default_factory=dict)
    functions: dict[str, LocalFunction] = field(default_factory=dict)  # by logical id
    state_machines: dict[str, tuple[str, str]] = field(default_factory=dict)  # logical id -> (name, definition)
    state_machine_roles: dict[str, str] = field(default_factory=dict)  # logical id -> the RoleArn it runs as
    # logical id -> an AWS::Scheduler::Schedule's properties, resolved, as CreateSchedule takes them (Name included)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, EventRule] = field(default_factory=dict)  # logical id -> every EventBridge rule
    queues: list[str] = field(default_factory=list)  # SQS queue names (the schedule's dead-letter queue)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> alarm properties
    outputs: dict[str, str] = field(default_factory=dict)
    file_assets: list[tuple[str, str, bytes]] = field(default_factory=list)  # (bucket, key, content) to publish
    # Bucket name -> its default encryption as PutBucketEncryption takes it, and its AWS::S3::BucketPolicy document.
    bucket_encryption: dict[str, dict[str, Any]] = field(default_factory=dict)
    bucket_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    kms_keys: dict[str, KmsKey] = field(default_factory=dict)  # logical id -> the AWS::KMS::Key to create

    def state_machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"


def load_template(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(path.read_text())
    return template


def read_stack(template: Mapping[str, Any], *, stack_name: str, region: str, account: str = ACCOUNT) -> LocalStack:
    """Resolve the template into the resources the local runtime creates."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    resolver = _Resolver(template, stack_name=stack_name, region=region, account=account)
    stack = LocalStack(name=stack_name, region=region, account=account)
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in _STORAGE:
            _read_storage(stack, resolver, logical_id, kind, props)
        elif kind == "AWS::Scheduler::ScheduleGroup":
            stack.schedule_groups.append(resolver.physical_id(logical_id))
        elif kind == "AWS::SSM::Parameter":
            stack.parameters[resolver.resolve(props["Name"])] = resolver.resolve(props["Value"])
        elif kind == "AWS::Lambda::Function":
            environment = resolver.resolve(props.get("Environment", {}).get("Variables", {}))
            stack.functions[logical_id] = LocalFunction(
                name=resolver.physical_id(logical_id),
                arn=resolver.arn(logical_id),
                handler=props["Handler"],
                environment={k: str(v) for k, v in environment.items()},
                memory_mb=int(props.get("MemorySize", 128)),
                timeout_seconds=int(props.get("Timeout", 3)),
                role_arn=str(resolver.resolve(props["Role"])) if "Role" in props else None,
            )
        elif kind == "AWS::StepFunctions::StateMachine":
            _read_state_machine(stack, resolver, logical_id, props)
        elif kind == "AWS::Events::Rule":
            stack.rules[logical_id] = _event_rule(resolver.physical_id(logical_id), resolver.resolve(props))
        elif kind == "AWS::Scheduler::Schedule":
            resolved = without_no_value(resolver.resolve(props))
            stack.schedules[logical_id] = {**resolved, "Name": resolver.physical_id(logical_id)}
        elif kind == "AWS::SQS::Queue":
            stack.queues.append(resolver.physical_id(logical_id))
        elif kind == "AWS::CloudWatch::Alarm":
            stack.alarms[logical_id] = {**resolver.resolve(props), "AlarmName": resolver.physical_id(logical_id)}
    for output_name, output in template.get("Outputs", {}).items():
        stack.outputs[output_name] = str(resolver.resolve(output["Value"]))
    for asset in template.get("Metadata", {}).get(FILE_ASSETS_METADATA, []):
        bucket = resolver.resolve({"Fn::Sub": asset["bucket"]})
        stack.file_assets.append((str(bucket), str(asset["key"]), base64.b64decode(asset["body_base64"])))
    return stack


def _read_state_machine(stack: LocalStack, resolver: _Resolver, logical_id: str, props: Mapping[str, Any]) -> None:
    """The definition with its substitutions made, and the role it runs as; TemplateError for one left unresolved."""
    definition = resolver.resolve(props["DefinitionString"])
    for key, value in resolver.resolve(props.get("DefinitionSubstitutions", {})).items():
        definition = definition.replace("${" + key + "}", str(value))
    if re.search(r"\$\{[A-Za-z0-9_]+\}", definition):
        raise TemplateError(f"state machine {logical_id}: unresolved substitution in its definition")
    stack.state_machines[logical_id] = (resolver.physical_id(logical_id), definition)
    if "RoleArn" in props:
        stack.state_machine_roles[logical_id] = str(resolver.resolve(props["RoleArn"]))


_STORAGE = frozenset({"AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::KMS::Key"})


def _read_storage(stack: LocalStack, resolver: _Resolver, logical_id: str, kind: str, props: Mapping[str, Any]) -> None:
    """A bucket (its notifications to EventBridge and default encryption), a bucket policy, or a KMS key."""
    if kind == "AWS::S3::Bucket":
        name = resolver.physical_id(logical_id)
        stack.buckets.append(name)
        if "BucketEncryption" in props:
            stack.bucket_encryption[name] = _bucket_encryption(
                without_no_value(resolver.resolve(props["BucketEncryption"]))
            )
        notifications = props.get("NotificationConfiguration", {})
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") is True:
            stack.eventbridge_buckets.append(name)
    elif kind == "AWS::S3::BucketPolicy":
        document = without_no_value(resolver.resolve(props["PolicyDocument"]))
        stack.bucket_policies[str(resolver.resolve(props["Bucket"]))] = document
    else:
        stack.kms_keys[logical_id] = KmsKey(
            key_id=resolver.physical_id(logical_id),
            arn=resolver.arn(logical_id),
            policy=without_no_value(resolver.resolve(props.get("KeyPolicy", {}))),
            description=str(resolver.resolve(props.get("Description", ""))),
        )


def _bucket_encryption(cfn: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's BucketEncryption in the shape PutBucketEncryption takes (`Rules`, each rule's default under
    `ApplyServerSideEncryptionByDefault`)."""
    rules = []
    for rule in cfn.get("ServerSideEncryptionConfiguration", []):
        converted: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": dict(rule["ServerSideEncryptionByDefault"])}
        if "BucketKeyEnabled" in rule:
            converted["BucketKeyEnabled"] = bool(rule["BucketKeyEnabled"])
        rules.append(converted)
    return {"Rules": rules}


def without_no_value(value: Any) -> Any:
    """The value with AWS::NoValue (None once resolved) removed, as CloudFormation removes the property or item."""
    if isinstance(value, dict):
        return {key: without_no_value(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_no_value(item) for item in value if item is not None]
    return value


# The target properties PutTargets takes as the template writes them; the rest (e.g. EcsParameters) is not emulated.
_TARGET_KEYS = ("Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "RetryPolicy", "DeadLetterConfig")


def _event_rule(name: str, props: Mapping[str, Any]) -> EventRule:
    pattern = props.get("EventPattern")
    if isinstance(pattern, str):  # CloudFormation takes the pattern as an object or as its JSON text
        pattern = json.loads(pattern)
    bus = str(props.get("EventBusName") or "default")
    return EventRule(
        name=name,
        event_bus_name=bus.rsplit("/", 1)[-1] if bus.startswith("arn:") else bus,
        event_pattern=pattern,
        schedule_expression=props.get("ScheduleExpression"),
        state=str(props.get("State", "ENABLED")),
        description=props.get("Description"),
        targets=[{k: target[k] for k in _TARGET_KEYS if k in target} for target in props.get("Targets", [])],
    )


class _Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::FindInMap, Fn::Select and Fn::Split."""

    def __init__(self, template: Mapping[str, Any], *, stack_name: str, region: str, account: str) -> None:
        self._resources: Mapping[str, Any] = template.get("Resources", {})
        self._mappings: Mapping[str, Any] = template.get("Mappings", {})
        self._parameters: Mapping[str, Any] = template.get("Parameters", {})
        self._stack, self._region, self._account = stack_name, region, account
        self._pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::NoValue": None,
        }

    def physical_id(self, logical_id: str) -> str:
        resource = self._resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"reference to {logical_id}, which the template does not define")
        kind, props = resource["Type"], resource.get("Properties", {})
        explicit = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::StepFunctions::StateMachine": "StateMachineName",
            "AWS::IAM::Role": "RoleName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::SSM::Parameter": "Name",
            "AWS::Events::Rule": "Name",
            "AWS::Events::EventBus": "Name",
            "AWS::CloudWatch::Alarm": "AlarmName",
            "AWS::Scheduler::ScheduleGroup": "Name",
            "AWS::Scheduler::Schedule": "Name",
            "AWS::SQS::Queue": "QueueName",
        }.get(kind)
        if explicit and explicit in props:
            return str(self.resolve(props[explicit]))
        if kind == "AWS::KMS::Key":
            # A key id is a UUID KMS chooses; here one derived from the stack and logical id, so that the key's ARN
            # in the roles' policies and the key created at deploy (local_runtime.iam.kms.put_key) agree.
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kms:{self._region}:{self._account}:{self._stack}/{logical_id}"))
        # CloudFormation's own scheme: stack name, logical id and a random suffix; deterministic here.
        generated = f"{self._stack}-{logical_id}"
        if kind == "AWS::S3::Bucket":
            return re.sub(r"[^a-z0-9-]", "-", generated.lower())[:63].strip("-")
        return generated[:64]

    def arn(self, logical_id: str) -> str:
        kind = self._resources[logical_id]["Type"]
        name = self.physical_id(logical_id)
        region, account = self._region, self._account
        arns = {
            "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{account}:role/{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{region}:{account}:stateMachine:{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{account}:log-group:{name}:*",
            "AWS::SSM::Parameter": f"arn:aws:ssm:{region}:{account}:parameter{name}",
            "AWS::Lambda::LayerVersion": f"arn:aws:lambda:{region}:{account}:layer:{name}:1",
            "AWS::Events::Rule": f"arn:aws:events:{region}:{account}:rule/{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{region}:{account}:event-bus/{name}",
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
            "AWS::Scheduler::ScheduleGroup": f"arn:aws:scheduler:{region}:{account}:schedule-group/{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{region}:{account}:key/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{account}:{name}",
            "AWS::Scheduler::Schedule": f"arn:aws:scheduler:{region}:{account}:schedule/default/{name}",
        }
        return arns.get(kind, f"arn:aws:local:{region}:{account}:{name}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._get_att(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(str(p) for p in self.resolve(parts))
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::FindInMap":
                name, top, second = self.resolve(argument)
                try:
                    return self._mappings[name][top][second]
                except KeyError:
                    raise TemplateError(f"mapping {name} has no entry {top}/{second}") from None
            if key == "Fn::Select":
                index, items = self.resolve(argument)
                return items[int(index)]
            if key == "Fn::Split":
                separator, source = self.resolve(argument)
                return str(source).split(separator)
            if key.startswith("Fn::"):
                raise TemplateError(f"intrinsic function {key} is not supported by the local runtime")
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name].get("Default")
        kind = self._resources.get(name, {}).get("Type")
        if kind in _REF_IS_ARN:
            return self.arn(name)
        if kind == "AWS::SQS::Queue":  # a queue's Ref is its URL
            return f"https://sqs.{self._region}.amazonaws.com/{self._account}/{self.physical_id(name)}"
        return self.physical_id(name)

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "BucketName", "RoleId", "KeyId", "QueueName"):
            return self.physical_id(logical_id)
        if attribute == "DomainName":
            return f"{self.physical_id(logical_id)}.s3.amazonaws.com"
        raise TemplateError(f"attribute {attribute} of {logical_id} is not supported by the local runtime")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = self.resolve(variables)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)
