"""The pipeline's model registry: a model package group, and what resumes a run when a person decides."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import env
from contract.events import APPROVED, MODEL_PACKAGE_STATE_CHANGE, REJECTED
from stacks.arns import VERSIONS_REASON, sagemaker_arn
from stacks.compliance import acknowledge, resource_finding
from stacks.config import PipelineConfig
from stacks.constructs.data_store import DataStore
from stacks.constructs.lambda_assets import LambdaAssets
from stacks.constructs.state_machine import STATE_MACHINE_NAME
from stacks.constructs.step_function import StepFunction


class ModelRegistry(Construct):
    """`<pipeline>-models`: every trained model is a version here, with its metrics and data manifest.

    EvaluateModel creates the group with the first version, so it outlives the stack: its versions are the
    record of what was trained and decided (and CloudFormation has no model package groups in some regions,
    such as China's). With manual approval, an EventBridge rule passes each decision to ApprovalListener,
    which resumes the waiting run; nothing polls.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PipelineConfig, assets: LambdaAssets, data: DataStore
    ) -> None:
        super().__init__(scope, construct_id)
        self.group_name = config.model_package_group
        self.group_arn = sagemaker_arn(self, "model-package-group", self.group_name)
        self.versions_arn = sagemaker_arn(self, "model-package", f"{self.group_name}/*")
        self.listener: StepFunction | None = None
        if config.registry.manual:
            self.listener = self._approval_listener(config, assets, data)

    def grant_register(self, step: StepFunction) -> None:
        """Create the group on the first run, register versions and find them again (ListModelPackages has no
        resource-level permission)."""
        step.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeModelPackageGroup", "sagemaker:CreateModelPackageGroup"],
                resources=[self.group_arn],
            )
        )
        step.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:CreateModelPackage"], resources=[self.group_arn, self.versions_arn])
        )
        self.grant_describe(step)
        step.role.add_to_principal_policy(iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"]))
        acknowledge(
            step.role,
            "AwsSolutions-IAM5",
            "sagemaker:ListModelPackages supports no resource-level permission; the step lists its own group.",
            applies_to="Resource::*",
        )

    def grant_describe(self, step: StepFunction) -> None:
        step.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[self.versions_arn])
        )
        acknowledge(
            step.role, "AwsSolutions-IAM5", VERSIONS_REASON, applies_to=resource_finding(self, self.versions_arn)
        )

    def grant_list_versions(self, step: StepFunction) -> None:
        """Find versions by status and read them (ListModelPackages has no resource-level permission)."""
        self.grant_describe(step)
        step.role.add_to_principal_policy(iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"]))
        acknowledge(
            step.role,
            "AwsSolutions-IAM5",
            "sagemaker:ListModelPackages supports no resource-level permission; the function lists its own group.",
            applies_to="Resource::*",
        )

    def grant_reject(self, step: StepFunction) -> None:
        """Mark a version Rejected (SmokeTest: the deployed model answered errors)."""
        step.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:UpdateModelPackage"], resources=[self.versions_arn])
        )
        acknowledge(
            step.role, "AwsSolutions-IAM5", VERSIONS_REASON, applies_to=resource_finding(self, self.versions_arn)
        )

    def _approval_listener(self, config: PipelineConfig, assets: LambdaAssets, data: DataStore) -> StepFunction:
        listener = StepFunction(
            self,
            "ApprovalListener",
            step="approval_listener",
            assets=assets,
            log_retention_days=config.log_retention_days,
            environment={env.DATA_BUCKET: data.bucket.bucket_name, env.APPROVAL_PREFIX: config.approval_prefix},
        )
        data.grant_get(listener.role, config.approval_prefix)
        # A version no run waits for has no record: 404 NoSuchKey only with s3:ListBucket (403 without it).
        data.grant_list(listener.role, config.approval_prefix)
        data.grant_delete(listener.role, config.approval_prefix)
        self.grant_describe(listener)
        grant_task_response(listener, config)
        events.Rule(
            self,
            "ApprovalRule",
            description=f"A person approved or rejected a model of pipeline {config.name}: resume the waiting run",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[MODEL_PACKAGE_STATE_CHANGE],
                detail={"ModelPackageGroupName": [self.group_name], "ModelApprovalStatus": [APPROVED, REJECTED]},
            ),
            targets=[targets.LambdaFunction(listener.function, retry_attempts=4)],
        )
        return listener


def grant_task_response(step: StepFunction, config: PipelineConfig) -> None:
    """Allow resuming the pipeline's waiting executions (what CDK's grantTaskResponse grants)."""
    step.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            resources=[
                Stack.of(step).format_arn(
                    service="states",
                    resource="stateMachine",
                    resource_name=STATE_MACHINE_NAME.format(pipeline=config.name),
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
    )
