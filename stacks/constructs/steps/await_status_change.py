"""AwaitStatusChange: every wait loop's wait (WaitForPreprocessing, WaitForTraining, WaitForDeployment,
WaitForBatchTransform), which keeps the run's task token until SageMaker's state-change event returns it.

StatusChangeListener, the function that returns the token, is built with the event rules in
stacks/constructs/status_changes.py.
"""

from __future__ import annotations

from constructs import Construct

from contract import env
from contract.steps import AWAIT_STATUS_CHANGE
from stacks.arns import optional_run_jobs, run_resources_arn
from stacks.constructs.model_registry import grant_task_response
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import (
    RunArns,
    StepResources,
    allow,
    allow_run_resources,
    kept_parent,
    step_function,
)

# Built under the status-change construct before the registry existed; kept there, see kept_parent.
PARENT = "StatusChanges"


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, data = resources.config, resources.data
    step = step_function(
        kept_parent(scope, PARENT),
        AWAIT_STATUS_CHANGE,
        resources,
        {env.DATA_BUCKET: data.bucket.bucket_name, env.WAKE_PREFIX: config.wake_prefix},
    )
    data.grant_put(step.role, config.wake_prefix)
    data.grant_delete(step.role, config.wake_prefix)
    arns = RunArns.of(scope, config)
    allow_run_resources(step, ["sagemaker:DescribeTrainingJob"], [arns.training_jobs])
    allow(step, ["sagemaker:DescribeEndpoint"], [arns.endpoint])
    for resource, noun in optional_run_jobs(config):
        allow_run_resources(step, [f"sagemaker:Describe{noun}"], [run_resources_arn(scope, resource, config.name)])
    grant_task_response(step, config)
    return step
