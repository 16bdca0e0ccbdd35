"""What a step that updates or registers an autoscaled endpoint needs: the scaling settings and its permissions.

The workflow, not CloudFormation, registers the variant with Application Auto Scaling (lambdas/common/autoscaling.py):
the endpoint does not exist before the first run deploys it, and SageMaker requires the variant deregistered before
an update that changes its instance type, which a CloudFormation-owned scalable target would not survive.
"""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import env
from contract.names import VARIANT_NAME
from stacks.compliance import acknowledge, resource_finding
from stacks.config import PipelineConfig
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, allow, allow_run_resources

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SERVICE_LINKED_ROLE_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SERVICE_LINKED_ROLE = "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"

SCALABLE_TARGET_REASON = (
    "Application Auto Scaling names a scalable target 'scalable-target/<random id>' when it registers it (Service "
    "Authorization Reference), so no ARN can name the endpoint's variant in advance; the statement is narrowed by "
    "its conditions to SageMaker variants' instance counts, and Describe* support only '*'."
)
TARGET_TRACKING_ALARMS_REASON = (
    "A target tracking policy's alarms are named 'TargetTracking-<resource id>-AlarmHigh|AlarmLow-<uuid>' by "
    "Application Auto Scaling; the endpoint's variant's resource id is the narrowest prefix that holds them."
)


def scaling_env(config: PipelineConfig) -> dict[str, str]:
    """ENDPOINT_AUTOSCALING (the section as JSON) and the pipeline's name when the endpoint scales, else nothing."""
    scaling = config.endpoint.autoscaling
    if scaling is None:
        return {}
    # PIPELINE_NAME: the dimension of the instance count GetStatus records (contract/metrics.py)
    return {env.ENDPOINT_AUTOSCALING: json.dumps(scaling.model_dump(), sort_keys=True), env.PIPELINE_NAME: config.name}


def allow_scaling(scope: Construct, step: StepFunction, config: PipelineConfig) -> None:
    """Let `step` find, register and deregister the endpoint's variant with Application Auto Scaling, and set the
    settings in its environment. Nothing when the endpoint does not scale."""
    if config.endpoint.autoscaling is None:
        return
    for name, value in scaling_env(config).items():
        step.add_environment(name, value)
    stack = Stack.of(scope)
    describe = ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies"]
    allow(step, describe, ["*"])
    targets = stack.format_arn(service="application-autoscaling", resource="scalable-target", resource_name="*")
    step.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
            ],
            resources=[targets],
            conditions={
                "StringEquals": {
                    "application-autoscaling:service-namespace": SERVICE_NAMESPACE,
                    "application-autoscaling:scalable-dimension": SCALABLE_DIMENSION,
                }
            },
        )
    )
    acknowledge(step.role, "AwsSolutions-IAM5", SCALABLE_TARGET_REASON, applies_to="Resource::*")
    acknowledge(step.role, "AwsSolutions-IAM5", SCALABLE_TARGET_REASON, applies_to=resource_finding(step, targets))
    # RegisterScalableTarget creates Application Auto Scaling's service-linked role for SageMaker the first time
    # (Application Auto Scaling User Guide, "Service-linked roles"); only that role, for only that service.
    step.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["iam:CreateServiceLinkedRole"],
            resources=[
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name=f"aws-service-role/{SERVICE_LINKED_ROLE_SERVICE}/{SERVICE_LINKED_ROLE}",
                )
            ],
            conditions={"StringLike": {"iam:AWSServiceName": SERVICE_LINKED_ROLE_SERVICE}},
        )
    )
    # The caller's permissions on the target service and CloudWatch that registering and target tracking need (SageMaker
    # Developer Guide, "Auto scaling prerequisites"; Application Auto Scaling User Guide, identity-based policies).
    arns = RunArns.of(scope, config)
    allow(step, ["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"], [arns.endpoint])
    allow_run_resources(step, ["sagemaker:DescribeEndpointConfig"], [arns.endpoint_configs])
    alarms = stack.format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name=f"TargetTracking-endpoint/{config.endpoint.name}/variant/{VARIANT_NAME}-*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    allow(step, ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"], [alarms])
    acknowledge(
        step.role, "AwsSolutions-IAM5", TARGET_TRACKING_ALARMS_REASON, applies_to=resource_finding(step, alarms)
    )
