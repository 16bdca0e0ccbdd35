"""Each step of the registry is built by the module named as its Lambda folder, at a construct path that keeps
its logical IDs."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from contract.steps import AWAIT_STATUS_CHANGE, NOTIFY_SLACK, WORKFLOW_STEPS, Step
from stacks.config import PipelineConfig
from stacks.constructs import steps as steps_package
from stacks.constructs.steps import builder_of
from tests.unit.stacks.synth import function_id

STEPS_DIR = Path(steps_package.__file__).parent
NOT_STEPS = {"__init__", "shared"}
# Where each function's construct sits: its path is its resources' logical IDs, which must not change.
PARENTS = {AWAIT_STATUS_CHANGE: "StatusChanges", NOTIFY_SLACK: "Notifications"}


@pytest.mark.parametrize("step", WORKFLOW_STEPS, ids=lambda step: step.name)
def test_every_step_is_built_by_the_module_named_as_its_folder(step: Step) -> None:
    build = builder_of(step)

    assert build.__module__ == f"stacks.constructs.steps.{step.folder}"


def test_every_module_of_the_package_is_a_step_of_the_registry() -> None:
    modules = {path.stem for path in STEPS_DIR.glob("*.py")} - NOT_STEPS

    assert modules == {step.folder for step in WORKFLOW_STEPS}


def test_a_step_reached_only_with_a_config_section_names_a_section_of_the_config() -> None:
    sections = set(PipelineConfig.model_fields)
    optional = {step.reached_with for step in WORKFLOW_STEPS if step.reached_with is not None}

    assert optional == {"preprocessing", "batch_transform", "evaluation"}
    assert optional <= sections


@pytest.mark.parametrize("step", WORKFLOW_STEPS, ids=lambda step: step.name)
def test_each_steps_function_keeps_its_logical_id(demo_template: Template, step: Step) -> None:
    # GIVEN the construct the function was built under before the registry ("Steps" for most)
    parent = PARENTS.get(step, "Steps")

    # THEN its logical ID is still the one CDK derives from that path: a new one would replace the function
    assert function_id(demo_template, step.name).startswith(f"{parent}{step.name}Function")
