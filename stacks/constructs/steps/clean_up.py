"""CleanUp: on the failure path only; stops and deletes the failed run's resources.

It may stop, and delete, nothing but the failed run's resources and an endpoint whose first creation failed (it
never served).
"""

from __future__ import annotations

from constructs import Construct

from contract import env
from contract.steps import CLEAN_UP
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow, allow_run_resources, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config = resources.config
    step = step_function(
        scope,
        CLEAN_UP,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.ENDPOINT_NAME: config.endpoint.name,
            **resources.preprocessing_env(),
            **resources.evaluation_env(),
            **resources.transform_env(),
        },
    )
    arns = RunArns.of(scope, config)
    if config.builtin_evaluation is not None or config.batch_transform is not None:
        allow_run_resources(
            step,
            ["sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:ListTags"],
            [arns.transform_jobs],
        )
    allow_run_resources(
        step,
        ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:ListTags"],
        [arns.training_jobs],
    )
    if resources.preprocessing is not None or config.evaluation_script is not None:
        allow_run_resources(
            step,
            ["sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "sagemaker:ListTags"],
            [arns.processing_jobs],
        )
    allow_run_resources(step, ["sagemaker:DescribeModel", "sagemaker:DeleteModel"], [arns.models])
    # The endpoint's current config may be any earlier run's: it is described to find the model it serves.
    allow_run_resources(
        step,
        ["sagemaker:DescribeEndpointConfig", "sagemaker:DeleteEndpointConfig"],
        [arns.endpoint_configs],
    )
    allow(step, ["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"], [arns.endpoint])
    return step
