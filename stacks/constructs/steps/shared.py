"""What every step module builds with: the resources steps are granted on, the function, and the grants."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import env
from contract.steps import Step
from stacks.algorithms import AlgorithmImages
from stacks.arns import RUN_RESOURCE_REASON, run_resources_arn, sagemaker_arn
from stacks.compliance import acknowledge, resource_finding
from stacks.config import PipelineConfig
from stacks.constructs.data_store import DataStore
from stacks.constructs.evaluation_script import EvaluationScriptCode
from stacks.constructs.lambda_assets import LambdaAssets
from stacks.constructs.model_registry import ModelRegistry
from stacks.constructs.preprocessing import PreprocessingCode
from stacks.constructs.rollout_alarms import RolloutAlarms
from stacks.constructs.sagemaker_role import SageMakerExecutionRole
from stacks.constructs.step_function import StepFunction
from stacks.constructs.training_script import TrainingScript
from stacks.constructs.watermark import Watermark


@dataclass(frozen=True)
class StepResources:
    """The pipeline's config and the constructs its steps read, write or pass on."""

    config: PipelineConfig
    assets: LambdaAssets
    data: DataStore
    watermark: Watermark
    images: AlgorithmImages
    sagemaker: SageMakerExecutionRole
    registry: ModelRegistry
    rollout_alarms: RolloutAlarms | None = None
    preprocessing: PreprocessingCode | None = None
    script: TrainingScript | None = None  # a framework's script (Script Mode)
    evaluation_script: EvaluationScriptCode | None = None  # the user's evaluate.py

    def evaluation_env(self) -> dict[str, str]:
        """The EVALUATION variable of the steps that start, wait for, read and clean up the held-out evaluation:
        the built-in evaluators' transform jobs or the user's script's processing job; none without either."""
        if self.evaluation_script is not None:
            return {env.EVALUATION: self.evaluation_script.env_json()}
        evaluation = self.config.builtin_evaluation
        if evaluation is None:
            return {}
        return {env.EVALUATION: evaluation.to_env(self.config.evaluation, self.config.evaluation_prefix)}

    def preprocessing_env(self) -> dict[str, str]:
        """The steps that start, wait for, train on or serve the preprocessing know it by this one variable."""
        return {env.PREPROCESSING: self.preprocessing.spec_json()} if self.preprocessing is not None else {}

    def training_env(self) -> dict[str, str]:
        """The training job's hyperparameters (with a script's, which name its code) and metric definitions."""
        hyperparameters = dict(self.config.hyperparameters)
        variables: dict[str, str] = {}
        if self.script is not None:
            hyperparameters.update(self.script.hyperparameters())
            variables[env.SCRIPT_MODE] = "true"
        variables[env.HYPERPARAMETERS] = json.dumps(hyperparameters, sort_keys=True)
        definitions = self.config.algorithm.metric_definitions
        if definitions:
            variables[env.METRIC_DEFINITIONS] = json.dumps([{"Name": d.name, "Regex": d.regex} for d in definitions])
        return variables

    def model_env(self) -> dict[str, str]:
        """The steps that create or register the model know its container's environment by this variable."""
        environment = (
            self.script.model_environment() if self.script is not None else dict(self.config.algorithm.environment)
        )
        return {env.MODEL_ENVIRONMENT: json.dumps(environment, sort_keys=True)} if environment else {}

    def transform_env(self) -> dict[str, str]:
        return {env.BATCH_TRANSFORM: batch_transform_json(self.config)} if self.config.batch_transform else {}


class StepBuilder(Protocol):
    """A step module's `build`: the step's function under `scope`, with its environment and grants."""

    def __call__(self, scope: Construct, resources: StepResources) -> StepFunction: ...


@dataclass(frozen=True)
class RunArns:
    """ARNs (patterns) of what the pipeline's runs create and serve."""

    training_jobs: str
    processing_jobs: str
    transform_jobs: str
    models: str
    endpoint_configs: str
    endpoint: str

    @classmethod
    def of(cls, scope: Construct, config: PipelineConfig) -> RunArns:
        return cls(
            training_jobs=run_resources_arn(scope, "training-job", config.name),
            processing_jobs=run_resources_arn(scope, "processing-job", config.name),
            transform_jobs=run_resources_arn(scope, "transform-job", config.name),
            models=run_resources_arn(scope, "model", config.name),
            endpoint_configs=run_resources_arn(scope, "endpoint-config", config.name),
            endpoint=sagemaker_arn(scope, "endpoint", config.endpoint.name),
        )


def step_function(
    scope: Construct,
    step: Step,
    resources: StepResources,
    environment: dict[str, str],
    *,
    timeout: Duration | None = None,
    memory_size: int = 256,
) -> StepFunction:
    """The step's function, `lambdas/<folder>/handler.py`, as construct `<name>` under `scope`."""
    return StepFunction(
        scope,
        step.name,
        step=step.folder,
        assets=resources.assets,
        log_retention_days=resources.config.log_retention_days,
        environment=environment,
        timeout=timeout,
        memory_size=memory_size,
    )


def kept_parent(scope: Construct, construct_id: str) -> Construct:
    """The stack's construct `construct_id`, created if missing, for a function first built under it elsewhere:
    a construct's path is its resources' logical IDs, and a new one would replace the deployed function."""
    stack = Stack.of(scope)
    found = stack.node.try_find_child(construct_id)
    if found is None:
        return Construct(stack, construct_id)
    if not isinstance(found, Construct):
        raise TypeError(f"{stack.node.path}/{construct_id} is not a construct")
    return found


def allow(step: StepFunction, actions: Sequence[str], resources: Sequence[str]) -> None:
    step.role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources)))


def allow_run_resources(step: StepFunction, actions: Sequence[str], resources: Sequence[str]) -> None:
    """Allow the actions on the runs' resources, whose names hold a timestamp: acknowledged as wildcards."""
    allow(step, actions, resources)
    for arn in resources:
        acknowledge(step.role, "AwsSolutions-IAM5", RUN_RESOURCE_REASON, applies_to=resource_finding(step, arn))


def allow_transform_jobs(step: StepFunction, arns: RunArns) -> None:
    """Start, describe and tag the runs' transform jobs (the batch transform's, the evaluation's) of their models."""
    actions = [
        "sagemaker:CreateTransformJob",
        "sagemaker:DescribeTransformJob",
        "sagemaker:AddTags",
        "sagemaker:ListTags",
    ]
    allow_run_resources(step, actions, [arns.transform_jobs])
    # IAM authorizes CreateTransformJob on the model it runs as well.
    allow_run_resources(step, ["sagemaker:CreateTransformJob"], [arns.models])


def allow_evaluation_processing_jobs(step: StepFunction, arns: RunArns) -> None:
    """Start, describe and tag the runs' evaluation script's processing jobs."""
    actions = [
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:AddTags",
        "sagemaker:ListTags",
    ]
    allow_run_resources(step, actions, [arns.processing_jobs])


def batch_transform_json(config: PipelineConfig) -> str:
    """The BATCH_TRANSFORM variable: the transform job's settings."""
    transform = config.batch_transform
    if transform is None:
        raise ValueError(f"pipeline {config.name!r} runs no batch transform")
    return json.dumps(
        {
            "predictions_prefix": transform.predictions_prefix,
            "instance_type": transform.instance_type,
            "instance_count": transform.instance_count,
            "content_type": transform.content_type,
            "accept": transform.accept,
            "input_filter": transform.input_filter,
            "max_payload_mb": transform.max_payload_mb,
        },
        sort_keys=True,
    )
