"""One step of the workflow as a Lambda function with its own role and log group."""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IValidation

from contract.metrics import METRICS_NAMESPACE
from stacks.compliance import (
    INLINE_POLICY_REASON,
    LAMBDA_CONCURRENCY_REASON,
    LAMBDA_DLQ_REASON,
    LAMBDA_ENVIRONMENT_KEY_REASON,
    LAMBDA_VPC_REASON,
    acknowledge,
    skip_checkov,
)
from stacks.constructs.lambda_assets import ARCHITECTURE, RUNTIME, LambdaAssets

POWERTOOLS_SERVICE_NAME = "sagemaker-retraining"

RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def log_group(scope: Construct, construct_id: str, *, retention_days: int, name: str | None = None) -> logs.LogGroup:
    """A log group with the pipeline's retention, deleted with the stack.

    Deleted rather than retained: a retained group with a fixed name makes the next deployment of the stack
    fail, and the retention period already bounds how long its logs are kept.
    """
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        retention=RETENTION[retention_days],
        removal_policy=RemovalPolicy.DESTROY,
    )


# Lambda refuses a function whose environment variables (names and values) exceed 4 KB (Lambda quotas, "Environment
# variables"): a deploy that would fail at CloudFormation fails at synth instead. A value CloudFormation resolves
# at deploy time (an ARN, a name) is counted at its longest likely length.
ENVIRONMENT_LIMIT_BYTES = 4096
_UNRESOLVED_VALUE_BYTES = 256


@jsii.implements(IValidation)
class EnvironmentLimit:
    """Synth fails when a function's environment would exceed Lambda's 4 KB, naming the largest variables."""

    def __init__(self, path: str, variables: Mapping[str, str]) -> None:
        self.path = path
        self.variables = variables  # the step's, kept up to date by StepFunction.add_environment

    def validate(self) -> list[str]:
        sizes = {
            name: len(name.encode()) + (_UNRESOLVED_VALUE_BYTES if Token.is_unresolved(value) else len(value.encode()))
            for name, value in self.variables.items()
        }
        total = sum(sizes.values())
        if total <= ENVIRONMENT_LIMIT_BYTES:
            return []
        largest = ", ".join(f"{name} ({size} bytes)" for name, size in sorted(sizes.items(), key=lambda i: -i[1])[:3])
        return [
            f"function {self.path}: its environment variables take {total} bytes, over Lambda's "
            f"{ENVIRONMENT_LIMIT_BYTES}-byte limit; the largest: {largest}. Shorten the configuration they come "
            "from (e.g. fewer or shorter metric_definitions, hyperparameters or environment)."
        ]


class StepFunction(Construct):
    """`lambdas/<step>/handler.py` as a function: tracing on, logs in its own group, a role of its own.

    The role starts with no permissions but writing to the log group (no AWS managed policy); the caller
    grants what the step needs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        step: str,
        assets: LambdaAssets,
        environment: Mapping[str, str],
        log_retention_days: int,
        timeout: Duration | None = None,
        memory_size: int = 256,
        reserved_concurrent_executions: int | None = None,
        dlq_reason: str = LAMBDA_DLQ_REASON,
    ) -> None:
        """`reserved_concurrent_executions` caps the function (None: the account's unreserved pool); `dlq_reason`
        says why it has no dead-letter queue, for a function that is not only invoked by the state machine."""
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"The {construct_id} step of the retraining workflow",
        )
        self.log_group = log_group(self, "LogGroup", retention_days=log_retention_days)
        self.log_group.grant_write(self.role)
        self.environment = {
            "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            **environment,
        }
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"Retraining workflow step {construct_id} (lambdas/{step})",
            code=assets.code,
            handler=f"lambdas.{step}.handler.lambda_handler",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            layers=[assets.layer],
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout or Duration.minutes(1),
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrent_executions,
            environment=self.environment,
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5",
            "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which have no "
            "resource-level permissions.",
            applies_to="Resource::*",
        )
        acknowledge(self.role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)
        unmet = [
            ("NIST.800.53.R5-LambdaConcurrency", "CKV_AWS_115", LAMBDA_CONCURRENCY_REASON),
            ("NIST.800.53.R5-LambdaDLQ", "CKV_AWS_116", dlq_reason),
            ("NIST.800.53.R5-LambdaInsideVPC", "CKV_AWS_117", LAMBDA_VPC_REASON),
        ]
        if reserved_concurrent_executions is not None:
            unmet.pop(0)
        for rule, check, reason in unmet:
            acknowledge(self.function, rule, reason)
            skip_checkov(self.function, check, reason)
        skip_checkov(self.function, "CKV_AWS_173", LAMBDA_ENVIRONMENT_KEY_REASON)
        self.node.add_validation(EnvironmentLimit(self.node.path, self.environment))

    def add_environment(self, name: str, value: str) -> None:
        """A variable added after construction, counted against Lambda's limit with the others."""
        self.function.add_environment(name, value)
        self.environment[name] = value

    @property
    def function_arn(self) -> str:
        return self.function.function_arn
