"""RecordLineage: links the run's data, training job, model, version and deployment in SageMaker Lineage, and
writes the run's record."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from contract import env
from contract.names import endpoint_context_name
from contract.steps import RECORD_LINEAGE
from stacks.arns import RUN_RESOURCE_PATTERN, RUN_RESOURCE_REASON, sagemaker_arn
from stacks.compliance import acknowledge, resource_finding
from stacks.config import PipelineConfig
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import StepResources, allow, step_function

LINEAGE_LIST_REASON = (
    "Active tracing's xray:PutTraceSegments and xray:PutTelemetryRecords, and the lineage ListArtifacts, "
    "ListActions and ListContexts, have no resource-level permissions; RecordLineage lists by source URI to "
    "find the entities SageMaker or an earlier attempt already created."
)
LINEAGE_ARTIFACT_REASON = (
    "SageMaker names lineage artifacts by an id it generates at creation, so their ARNs are only known "
    "afterwards; CreateArtifact and AddAssociation take artifact/* as the narrowest scope."
)
LINEAGE_CONTEXT_REASON = (
    "SageMaker creates an endpoint's lineage context itself, named '<endpoint>-<timestamp>-aws-endpoint'; "
    "RecordLineage associates deployments with it, or with its own '<endpoint>-endpoint' where none exists."
)


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config = resources.config
    step = step_function(
        scope,
        RECORD_LINEAGE,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.DATA_BUCKET: resources.data.bucket.bucket_name,
            env.RUNS_PREFIX: config.runs_prefix,
            env.ENDPOINT_NAME: config.endpoint.name,
        },
    )
    resources.data.grant_put(step.role, config.runs_prefix)
    allow_lineage(step, config)
    return step


def allow_lineage(step: StepFunction, config: PipelineConfig) -> None:
    """SageMaker Lineage: find or create the run's entities and associate them (lambdas/record_lineage)."""
    # SageMaker gives artifacts ids of its own: their ARNs are unknown until created.
    artifacts = Stack.of(step).format_arn(service="sagemaker", resource="artifact", resource_name="*")
    actions = sagemaker_arn(step, "action", RUN_RESOURCE_PATTERN.format(pipeline=config.name))
    endpoint_context = sagemaker_arn(step, "context", endpoint_context_name(config.endpoint.name))
    endpoint_contexts = sagemaker_arn(step, "context", f"{config.endpoint.name}-*")
    allow(step, ["sagemaker:ListArtifacts", "sagemaker:ListActions", "sagemaker:ListContexts"], ["*"])
    allow(step, ["sagemaker:CreateArtifact", "sagemaker:AddAssociation"], [artifacts])
    allow(step, ["sagemaker:CreateAction", "sagemaker:DescribeAction", "sagemaker:AddAssociation"], [actions])
    allow(step, ["sagemaker:CreateContext", "sagemaker:DescribeContext"], [endpoint_context])
    allow(step, ["sagemaker:AddAssociation"], [endpoint_contexts])
    role = step.role
    acknowledge(role, "AwsSolutions-IAM5", LINEAGE_LIST_REASON, applies_to="Resource::*")
    acknowledge(role, "AwsSolutions-IAM5", LINEAGE_ARTIFACT_REASON, applies_to=resource_finding(step, artifacts))
    acknowledge(role, "AwsSolutions-IAM5", RUN_RESOURCE_REASON, applies_to=resource_finding(step, actions))
    acknowledge(role, "AwsSolutions-IAM5", LINEAGE_CONTEXT_REASON, applies_to=resource_finding(step, endpoint_contexts))
