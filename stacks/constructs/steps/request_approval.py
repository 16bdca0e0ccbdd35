"""RequestApproval: the WaitForApproval state; keeps the run's task token until a person decides on the version."""

from __future__ import annotations

from constructs import Construct

from contract import env
from contract.steps import REQUEST_APPROVAL
from stacks.constructs.model_registry import grant_task_response
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import StepResources, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, data = resources.config, resources.data
    step = step_function(
        scope,
        REQUEST_APPROVAL,
        resources,
        {env.DATA_BUCKET: data.bucket.bucket_name, env.APPROVAL_PREFIX: config.approval_prefix},
    )
    data.grant_put(step.role, config.approval_prefix)
    data.grant_delete(step.role, config.approval_prefix)
    resources.registry.grant_describe(step)
    grant_task_response(step, config)
    return step
