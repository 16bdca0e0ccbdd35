"""UpdateParameters: moves the watermark to the deployed run and publishes the run's figures as metrics."""

from __future__ import annotations

from constructs import Construct

from contract import env
from contract.steps import UPDATE_PARAMETERS
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, watermark = resources.config, resources.watermark
    step = step_function(
        scope,
        UPDATE_PARAMETERS,
        resources,
        {
            env.PIPELINE_NAME: config.name,  # the dimension of its metrics
            env.WATERMARK_PARAMETER: watermark.parameter_name,
            env.ENDPOINT_NAME: config.endpoint.name,
        },
    )
    watermark.grant_get(step.role)
    watermark.grant_put(step.role)
    allow(step, ["sagemaker:DescribeEndpoint"], [RunArns.of(scope, config).endpoint])
    return step
