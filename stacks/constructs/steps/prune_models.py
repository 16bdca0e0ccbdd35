"""PruneModels: housekeeping after a deployment; deletes the pipeline's old models and endpoint configs, tagged
as its own."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import env
from contract.names import PIPELINE_TAG
from contract.steps import PRUNE_MODELS
from stacks.compliance import acknowledge
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow, allow_run_resources, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, watermark = resources.config, resources.watermark
    step = step_function(
        scope,
        PRUNE_MODELS,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.ENDPOINT_NAME: config.endpoint.name,
            env.WATERMARK_PARAMETER: watermark.parameter_name,
            env.KEEP_LAST: str(config.housekeeping.keep_last),
        },
    )
    arns = RunArns.of(scope, config)
    # The previous deployment, kept for a rollback, is read from the watermark's history.
    watermark.grant_get_history(step.role)
    allow(step, ["sagemaker:DescribeEndpoint"], [arns.endpoint])
    # The List APIs have no resource types; each listed resource's tags are read on the pipeline's own ARNs.
    allow(step, ["sagemaker:ListModels", "sagemaker:ListEndpointConfigs"], ["*"])
    acknowledge(
        step.role,
        "AwsSolutions-IAM5",
        "sagemaker:ListModels and ListEndpointConfigs have no resource-level permissions; the function "
        "describes, reads the tags of and deletes only the pipeline's own run resources.",
        applies_to="Resource::*",
    )
    allow_run_resources(step, ["sagemaker:ListTags"], [arns.models, arns.endpoint_configs])
    allow_run_resources(step, ["sagemaker:DescribeEndpointConfig"], [arns.endpoint_configs])
    # Deletion also requires the pipeline tag the runs put on what they create: a resource of another
    # pipeline whose name shares the prefix cannot be deleted even if the function's checks were wrong.
    step.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel"],
            resources=[arns.models, arns.endpoint_configs],
            conditions={"StringEquals": {f"aws:ResourceTag/{PIPELINE_TAG}": config.name}},
        )
    )
    return step
