"""EvaluateModel: judges the run's model against the quality gate and the production model, and registers it."""

from __future__ import annotations

import json

from constructs import Construct

from contract import env
from contract.steps import EVALUATE_MODEL
from stacks.config import PipelineConfig
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow, allow_run_resources, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, registry = resources.config, resources.registry
    step = step_function(
        scope,
        EVALUATE_MODEL,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.ENDPOINT_NAME: config.endpoint.name,
            env.MODEL_PACKAGE_GROUP: registry.group_name,
            env.INFERENCE_IMAGE: resources.images.inference,
            **resources.model_env(),
            env.APPROVAL_MODE: config.registry.approval,
            env.APPROVAL_TIMEOUT_SECONDS: str(config.registry.approval_timeout_hours * 3600),
            **({env.QUALITY_GATE: quality_gate_json(config)} if config.quality_gate else {}),
            **resources.preprocessing_env(),
            **resources.evaluation_env(),
        },
        memory_size=1024,  # reads the holdout and both models' answers to score them
    )
    registry.grant_register(step)
    if config.evaluates_models:
        # The holdout's manifest and files (the labels), both models' answers or the script's evaluation.json; it
        # writes the reports beside them.
        data = resources.data
        data.grant_get(step.role, config.manifest_prefix)
        if config.builtin_evaluation is not None:
            data.grant_get(step.role, config.data_prefix)
        data.grant_get(step.role, config.evaluation_prefix)
        data.grant_list(step.role, config.evaluation_prefix)  # a missing answer file reads as 404, not 403
        data.grant_put(step.role, config.evaluation_prefix)
    arns = RunArns.of(scope, config)
    # The production model's metric: the endpoint's config names the model, whose training job reported it.
    allow(step, ["sagemaker:DescribeEndpoint"], [arns.endpoint])
    allow_run_resources(step, ["sagemaker:DescribeEndpointConfig"], [arns.endpoint_configs])
    allow_run_resources(step, ["sagemaker:DescribeTrainingJob"], [arns.training_jobs])
    return step


def quality_gate_json(config: PipelineConfig) -> str:
    """The gate as EvaluateModel reads it from its environment."""
    gate = config.quality_gate
    assert gate is not None
    return json.dumps(
        {
            "metric": gate.metric,
            "direction": gate.direction,
            "threshold": gate.threshold,
            "max_regression_percent": gate.max_regression_percent,
        },
        sort_keys=True,
    )
