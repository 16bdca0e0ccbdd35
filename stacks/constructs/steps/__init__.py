"""The workflow's steps: one module per step, named as its Lambda folder, each with the step's environment,
grants and cdk-nag acknowledgements.

The registry of the steps is `contract.steps.WORKFLOW_STEPS` (plain data, read without the CDK by the local
runtime and the tests); each entry's builder is `build(scope, resources)` in the module of this package named
as the entry's folder: `CheckData` is built by `check_data.py`. Adding a step: a Lambda folder, a module here,
and an entry in the registry.
"""

from __future__ import annotations

import importlib
from typing import cast

from constructs import Construct

from contract.steps import WORKFLOW_STEPS, Step
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import StepBuilder, StepResources

__all__ = ["StepResources", "WorkflowSteps", "builder_of"]


def builder_of(step: Step) -> StepBuilder:
    """The `build` of the step's module; TypeError when the module has none."""
    module = importlib.import_module(f"{__name__}.{step.folder}")
    build = getattr(module, "build", None)
    if not callable(build):
        raise TypeError(f"{module.__name__} defines no build(scope, resources) for {step.name}")
    return cast(StepBuilder, build)


class WorkflowSteps(Construct):
    """Every step of the registry, in its order: `functions` maps each Step to its function."""

    def __init__(self, scope: Construct, construct_id: str, *, resources: StepResources) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[Step, StepFunction] = {step: builder_of(step)(self, resources) for step in WORKFLOW_STEPS}
