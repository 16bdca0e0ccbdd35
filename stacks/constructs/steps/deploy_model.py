"""DeployModel: creates the run's model and endpoint config and updates the endpoint, guarded when configured."""

from __future__ import annotations

import json

from constructs import Construct

from contract import env
from contract.steps import DEPLOY_MODEL
from stacks.config import PipelineConfig
from stacks.constructs.endpoint_scaling import allow_scaling
from stacks.constructs.rollout_alarms import RolloutAlarms
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow, allow_run_resources, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config = resources.config
    step = step_function(
        scope,
        DEPLOY_MODEL,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.ENDPOINT_NAME: config.endpoint.name,
            **endpoint_capacity_env(config),
            env.INFERENCE_IMAGE: resources.images.inference,
            **resources.model_env(),
            env.SAGEMAKER_ROLE_ARN: resources.sagemaker.role_arn,
            env.POLL_INTERVAL_SECONDS: str(config.polling.interval_seconds),
            **resources.preprocessing_env(),
        },
    )
    arns = RunArns.of(scope, config)
    allow_run_resources(step, ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:AddTags"], [arns.models])
    allow_run_resources(
        step,
        ["sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig", "sagemaker:AddTags"],
        [arns.endpoint_configs],
    )
    allow(
        step,
        ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint", "sagemaker:AddTags"],
        [arns.endpoint],
    )
    # IAM authorizes CreateEndpoint and UpdateEndpoint on the endpoint config they name as well.
    allow_run_resources(step, ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"], [arns.endpoint_configs])
    resources.sagemaker.grant_pass_role(step.role)
    # An update of a scaled variant keeps its count, or deregisters it first when the instance type changes.
    allow_scaling(scope, step, config)
    if resources.rollout_alarms is not None:
        guard_rollout(step, config, resources.rollout_alarms)
    return step


def endpoint_capacity_env(config: PipelineConfig) -> dict[str, str]:
    """What the endpoint's variant runs on: its ServerlessConfig, or its instance type and count."""
    endpoint = config.endpoint
    if endpoint.serverless is not None:
        return {env.ENDPOINT_SERVERLESS_CONFIG: json.dumps(endpoint.serverless.variant_config(), sort_keys=True)}
    return {
        env.ENDPOINT_INSTANCE_TYPE: endpoint.instance_type,
        env.ENDPOINT_INSTANCE_COUNT: str(endpoint.instance_count),
    }


def guard_rollout(step: StepFunction, config: PipelineConfig, alarms: RolloutAlarms) -> None:
    """DeployModel asks UpdateEndpoint for the configured traffic shifting and rollback on these alarms."""
    rollout = config.rollout
    if rollout is None:
        raise ValueError(f"pipeline {config.name!r}: rollout alarms without a rollout config")
    variables = {
        env.ROLLOUT_STRATEGY: rollout.strategy,
        env.ROLLOUT_WAIT_SECONDS: str(rollout.wait_seconds),
        env.ROLLOUT_TERMINATION_WAIT_SECONDS: str(rollout.termination_wait_seconds),
        env.ROLLOUT_ALARM_NAMES: ",".join(alarms.alarm_names),
    }
    size = rollout.canary_percent or rollout.linear_step_percent
    if size is not None:
        variables[env.ROLLOUT_STEP_PERCENT] = str(size)
    if rollout.max_execution_seconds is not None:
        variables[env.ROLLOUT_MAX_EXECUTION_SECONDS] = str(rollout.max_execution_seconds)
    for name, value in variables.items():
        step.add_environment(name, value)
    alarms.grant_describe(step.role)
