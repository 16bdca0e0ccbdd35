"""ARNs of the SageMaker resources a pipeline's runs create, built with Stack.format_arn."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import IConstruct

from stacks.config import PipelineConfig

# lambdas/common/names.py names each run's training job, model and endpoint config "<pipeline>-<stamp>-<hash>".
RUN_RESOURCE_PATTERN = "{pipeline}-*"
RUN_RESOURCE_REASON = (
    "Each run names its training job, model and endpoint config '<pipeline>-<timestamp>-<hash>' "
    "(lambdas/common/names.py), so they are only known at run time; the pipeline's prefix is the narrowest "
    "scope that holds them, and config.py keeps one pipeline's prefix from matching another's names."
)

VERSIONS_REASON = (
    "A model package group's versions are numbered by SageMaker as they are registered "
    "('model-package/<group>/<version>'): the group's prefix is the narrowest scope that holds them."
)


def sagemaker_arn(scope: IConstruct, resource: str, name: str) -> str:
    """The ARN of a SageMaker resource; SageMaker lowercases names in ARNs, so the ARN does too."""
    return Stack.of(scope).format_arn(service="sagemaker", resource=resource, resource_name=name.lower())


def run_resources_arn(scope: IConstruct, resource: str, pipeline: str) -> str:
    """The ARN pattern of every `resource` (training-job, model, endpoint-config) the pipeline's runs create."""
    return sagemaker_arn(scope, resource, RUN_RESOURCE_PATTERN.format(pipeline=pipeline))


def optional_run_jobs(config: PipelineConfig) -> list[tuple[str, str]]:
    """The jobs a pipeline's runs start besides training, as (ARN resource type, API noun): the preprocessing's
    processing job and the transform jobs of the batch transform and the held-out evaluation, when configured."""
    jobs = []
    if config.preprocessing is not None or config.evaluation_script is not None:
        jobs.append(("processing-job", "ProcessingJob"))  # the preprocessing's, the evaluation script's
    if config.batch_transform is not None or config.builtin_evaluation is not None:
        jobs.append(("transform-job", "TransformJob"))  # the batch transform's, the held-out evaluation's
    return jobs
