"""SmokeTest: sends a few of the run's records to the endpoint serving the new model, and rolls it back to the
config it served before when the answer is an error or unreadable.

Always deployed (the definition is the same for every pipeline); with `smoke_test: false` it has no SMOKE_TEST
variable, returns at once, and may do nothing else.
"""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from contract import env
from contract.steps import SMOKE_TEST
from stacks.constructs.endpoint_scaling import allow_scaling
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow, allow_run_resources, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, watermark, data = resources.config, resources.watermark, resources.data
    smoke = config.smoke_test
    step = step_function(
        scope,
        SMOKE_TEST,
        resources,
        {
            env.WATERMARK_PARAMETER: watermark.parameter_name,
            **({env.SMOKE_TEST: smoke.to_env()} if smoke is not False else {}),
        },
        # One request to a model that may take SageMaker's 60 s to answer, and the roll-back.
        timeout=Duration.minutes(3),
    )
    if smoke is False:
        return step
    arns = RunArns.of(scope, config)
    # The run's manifests, and the first records of one of its files (ranged reads of the data).
    data.grant_get(step.role, config.manifest_prefix)
    data.grant_get(step.role, config.data_prefix)
    allow(step, ["sagemaker:InvokeEndpoint"], [arns.endpoint])
    # The roll-back: the config the watermark names (the last deployed run's), which the endpoint goes back to.
    watermark.grant_get(step.role)
    allow(step, ["sagemaker:UpdateEndpoint"], [arns.endpoint])
    allow_run_resources(step, ["sagemaker:DescribeEndpointConfig", "sagemaker:UpdateEndpoint"], [arns.endpoint_configs])
    # The roll-back obeys SageMaker's rules for a scaled variant, as DeployModel's update does.
    allow_scaling(scope, step, config)
    # The failed model's version is marked Rejected, so that no rollback picks it.
    resources.registry.grant_reject(step)
    return step
