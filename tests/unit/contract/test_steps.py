"""The registry of the workflow's steps agrees with the ASL, the Lambda folders, and loads without the CDK."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract.steps import GET_STATUS, NOTIFY_SLACK, STEPS_BY_NAME, WORKFLOW_STEPS, Step

ROOT = Path(__file__).resolve().parents[3]
ASL = json.loads((ROOT / "statemachine" / "retraining.asl.json").read_text())
PLACEHOLDER = re.compile(r"\$\{(\w+)FunctionArn\}")


def task_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state, those in Parallel branches and Map iterators included."""
    for name, state in states.items():
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from task_states(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from task_states(state[key]["States"])


def states_by_function() -> dict[str, set[str]]:
    """The Task states that invoke each `${<name>FunctionArn}`, by name."""
    found: dict[str, set[str]] = defaultdict(set)
    for state_name, state in task_states(ASL["States"]):
        for function in PLACEHOLDER.findall(json.dumps(state)):
            found[function].add(state_name)
    return found


def test_the_registry_lists_every_function_the_asl_invokes_and_no_other() -> None:
    assert set(states_by_function()) == set(STEPS_BY_NAME)


@pytest.mark.parametrize("step", WORKFLOW_STEPS, ids=lambda step: step.name)
def test_each_step_names_exactly_the_states_that_invoke_it(step: Step) -> None:
    assert set(step.states) == states_by_function()[step.name]
    assert len(step.states) == len(set(step.states))


@pytest.mark.parametrize("step", WORKFLOW_STEPS, ids=lambda step: step.name)
def test_a_step_shares_its_name_with_its_lambda_folder(step: Step) -> None:
    assert re.sub(r"(?<!^)(?=[A-Z])", "_", step.name).lower() == step.folder
    assert (ROOT / "lambdas" / step.folder / "handler.py").is_file()
    assert step.handler == f"lambdas.{step.folder}.handler.lambda_handler"
    assert step.placeholder == f"{step.name}FunctionArn"


def test_steps_are_unique_by_name_and_folder() -> None:
    assert len({step.name for step in WORKFLOW_STEPS}) == len({step.folder for step in WORKFLOW_STEPS})
    assert len(STEPS_BY_NAME) == len(WORKFLOW_STEPS)


def test_a_lambda_serving_several_states_has_no_single_state() -> None:
    assert NOTIFY_SLACK.states[0] == "NotifyNoNewData"
    with pytest.raises(ValueError, match="GetStatus serves 5 states: GetPreprocessingStatus, GetTrainingStatus"):
        _ = GET_STATUS.state


def test_the_registry_and_the_progress_view_load_without_the_cdk() -> None:
    probe = (
        "import sys; import contract.steps, operator_cli.progress, operator_cli.state_facts; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('aws_cdk', 'jsii', 'stacks')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"
