"""What a rollback reads before it changes anything: the pipeline's resources, who asks, whether a run is in
progress, what the endpoint serves and whether its rollout alarms would let a rollback through; and how it waits.

The rollback itself is operator_cli/rollback.py; which version it deploys, operator_cli/rollback_versions.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from botocore.exceptions import ClientError

from contract.names import lease_key
from contract.outputs import (
    DATA_BUCKET_NAME,
    ENDPOINT_NAME,
    RUNS_PREFIX,
    STATE_MACHINE_ARN,
    WAKE_PREFIX,
    WATERMARK_PARAMETER_NAME,
    model_package_group,
)
from lambdas.common.lease import is_running, read_lease
from operator_cli.not_found import is_not_found

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_stepfunctions import SFNClient

# The stack output naming the wake prefix (where the run lease is); a stack deployed before it existed has the
# default prefix.
WAKE_PREFIX_OUTPUT = WAKE_PREFIX
# UpdateEndpoint is accepted on an InService endpoint only; these states end on their own.
CHANGING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
DEFAULT_POLL_SECONDS = 15.0
DEFAULT_WAIT_SECONDS = 3600.0


class RollbackError(Exception):
    """The rollback is refused or failed; the message is the one line to show."""


class CallerIdentityClient(Protocol):
    """STS, as far as a rollback uses it (no type stubs for STS are installed)."""

    def get_caller_identity(self) -> Mapping[str, Any]: ...


class AlarmsClient(Protocol):
    """CloudWatch, as far as a rollback uses it (no type stubs for CloudWatch are installed)."""

    def describe_alarms(self, **request: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class PipelineResources:
    """What a rollback touches and reads, from the stack's outputs."""

    pipeline: str
    endpoint_name: str
    bucket: str
    runs_prefix: str
    wake_prefix: str
    state_machine_arn: str
    watermark_parameter: str | None

    @property
    def group(self) -> str:
        return model_package_group(self.pipeline)

    @classmethod
    def from_outputs(cls, pipeline: str, outputs: Mapping[str, str]) -> PipelineResources:
        """Read the stack's outputs; raise RollbackError naming the one missing."""
        for required in (DATA_BUCKET_NAME, STATE_MACHINE_ARN):
            if not outputs.get(required):
                raise RollbackError(f"the stack of pipeline {pipeline} has no {required} output")
        return cls(
            pipeline=pipeline,
            endpoint_name=outputs.get(ENDPOINT_NAME) or pipeline,
            bucket=outputs[DATA_BUCKET_NAME],
            runs_prefix=(outputs.get(RUNS_PREFIX) or f"runs/{pipeline}").strip("/"),
            wake_prefix=outputs.get(WAKE_PREFIX_OUTPUT) or f"waits/{pipeline}",
            state_machine_arn=outputs[STATE_MACHINE_ARN],
            watermark_parameter=outputs.get(WATERMARK_PARAMETER_NAME),
        )


@dataclass(frozen=True)
class Caller:
    """Who asks for the rollback."""

    arn: str
    account: str
    user_id: str

    def to_json(self) -> dict[str, str]:
        return {"arn": self.arn, "account": self.account, "user_id": self.user_id}


def caller_identity(sts: CallerIdentityClient) -> Caller:
    """STS GetCallerIdentity: the role session or user whose credentials the command runs with."""
    identity = sts.get_caller_identity()
    return Caller(arn=str(identity["Arn"]), account=str(identity["Account"]), user_id=str(identity["UserId"]))


def run_in_progress(s3: S3Client, sfn: SFNClient, resources: PipelineResources) -> str | None:
    """The ARN of the pipeline's execution in progress, None when no run is.

    The lease names the run that trains now; ListExecutions (eventually consistent) also catches a run that has not
    reached the lease yet, and DescribeExecution (strongly consistent) confirms that a listed one still runs.
    """
    lease = read_lease(s3, resources.bucket, lease_key(resources.wake_prefix))
    if lease is not None and lease.holder and is_running(sfn, lease.holder):
        return lease.holder
    listed = sfn.list_executions(stateMachineArn=resources.state_machine_arn, statusFilter="RUNNING", maxResults=10)
    return next((e["executionArn"] for e in listed.get("executions", []) if is_running(sfn, e["executionArn"])), None)


@dataclass(frozen=True)
class Serving:
    """What the endpoint serves now, and what a rollback keeps of it."""

    endpoint_name: str
    endpoint_arn: str
    config_name: str
    config: Mapping[str, Any]  # DescribeEndpointConfig's answer
    model_name: str
    role_arn: str
    last_deployment_config: Mapping[str, Any] | None

    @property
    def variant(self) -> Mapping[str, Any]:
        """The config's one production variant (serving_now refuses any other shape)."""
        return cast("Mapping[str, Any]", self.config["ProductionVariants"][0])


def serving_now(sagemaker: SageMakerClient, endpoint_name: str, where: str) -> Serving:
    """The endpoint's config, model and the model's execution role.

    Raises RollbackError when there is no endpoint, it is not InService, it is not one production variant as the
    pipeline deploys it, or its model was deleted.
    """
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        if is_not_found(error):
            raise RollbackError(
                f"endpoint {endpoint_name} does not exist in {where}: no run has deployed a model to roll back from"
            ) from None
        raise
    status, config_name = endpoint["EndpointStatus"], endpoint["EndpointConfigName"]
    if status != "InService":
        pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        raise RollbackError(
            f"endpoint {endpoint_name} is {status}"
            + (f" (switching to config {pending})" if pending else "")
            + (f" ({endpoint['FailureReason']})" if status == "Failed" and endpoint.get("FailureReason") else "")
            + ": SageMaker updates an InService endpoint only; try again once it is InService"
        )
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants, shadows = config.get("ProductionVariants") or [], config.get("ShadowProductionVariants") or []
    if len(variants) != 1 or shadows:
        raise RollbackError(
            f"endpoint {endpoint_name} serves config {config_name} with {len(variants)} production and "
            f"{len(shadows)} shadow variant(s): a pipeline deploys one production variant, the only shape this "
            "command rolls back"
        )
    model_name = str(variants[0]["ModelName"])
    try:
        role_arn = str(sagemaker.describe_model(ModelName=model_name)["ExecutionRoleArn"])
    except ClientError as error:
        if is_not_found(error):
            raise RollbackError(
                f"the serving model {model_name} no longer exists in {where}: its execution role, which the rolled "
                "back model is created with, cannot be read"
            ) from None
        raise
    return Serving(
        endpoint_name=endpoint_name,
        endpoint_arn=str(endpoint["EndpointArn"]),
        config_name=config_name,
        config=cast("Mapping[str, Any]", config),
        model_name=model_name,
        role_arn=role_arn,
        last_deployment_config=cast("Mapping[str, Any] | None", endpoint.get("LastDeploymentConfig")),
    )


def alarms_blocking(cloudwatch: AlarmsClient, deployment_config: Mapping[str, Any]) -> str | None:
    """Why the deployment config's rollback alarms would stop a rollback (one is in ALARM: SageMaker rolls back a
    deployment when one trips during it; or one no longer exists: UpdateEndpoint refuses it), None when nothing."""
    names = [a["AlarmName"] for a in (deployment_config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])]
    if not names:
        return None
    described = cloudwatch.describe_alarms(AlarmNames=names)
    states = {
        str(alarm["AlarmName"]): str(alarm["StateValue"])
        for alarm in [*described.get("MetricAlarms", []), *described.get("CompositeAlarms", [])]
    }
    missing = [name for name in names if name not in states]
    if missing:
        return f"the rollout's alarm(s) {', '.join(missing)} no longer exist"
    firing = [name for name in names if states[name] == "ALARM"]
    if firing:
        return (
            f"the rollout's alarm(s) {', '.join(firing)} are in ALARM now (the serving model's own errors?), and "
            "SageMaker rolls a deployment back when one trips during it"
        )
    return None


@dataclass(frozen=True)
class EndpointOutcome:
    """Where the endpoint is after an update: serving the new config, back on the old one, or still changing."""

    status: str
    config_name: str
    failure_reason: str | None

    def serves(self, config_name: str) -> bool:
        return self.status == "InService" and self.config_name == config_name

    @property
    def settled(self) -> bool:
        return self.status not in CHANGING


def wait_for_endpoint(
    sagemaker: SageMakerClient,
    endpoint_name: str,
    *,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    timeout_seconds: float = DEFAULT_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> EndpointOutcome:
    """Poll DescribeEndpoint until the update ends, or `timeout_seconds` passed (the outcome is then unsettled).

    UpdateEndpoint sets the endpoint Updating before it answers, so the first poll already sees the change.
    """
    deadline = clock() + timeout_seconds
    while True:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
        outcome = EndpointOutcome(
            status=endpoint["EndpointStatus"],
            config_name=endpoint["EndpointConfigName"],
            failure_reason=endpoint.get("FailureReason") or None,
        )
        if outcome.settled or clock() > deadline:
            return outcome
        sleep(poll_seconds)
