"""Every path a Choice state reads is a field of the typed workflow state: a renamed or moved field fails here,
not in a run that takes the Default branch without a word."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdas.common.models import WorkflowState

ASL = json.loads((Path(__file__).parents[3] / "statemachine" / "retraining.asl.json").read_text())


def choice_paths(states: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(state name, path) of every Variable and ...Path a Choice rule reads, through And, Or and Not."""

    def rule_paths(rule: dict[str, Any]) -> Iterator[str]:
        for key, value in rule.items():
            if key == "Variable" or (key.endswith("Path") and isinstance(value, str)):
                yield value
        for nested in [*rule.get("And", []), *rule.get("Or", []), *([rule["Not"]] if "Not" in rule else [])]:
            yield from rule_paths(nested)

    for name, state in states.items():
        if state["Type"] == "Choice":
            for rule in state["Choices"]:
                yield from ((name, path) for path in rule_paths(rule))


def unresolved(path: str) -> str | None:
    """Why `path` is not a declared field of WorkflowState, or None when it is.

    A path may end inside a free-form object (a dict field such as training.metrics or failure): its keys are data.
    """
    assert path.startswith("$."), path
    current: Any = WorkflowState
    walked = "$"
    for segment in path[2:].split("."):
        if not dataclasses.is_dataclass(current):
            return None if typing.get_origin(current) is dict or current is dict else f"{walked} is not an object"
        hints = typing.get_type_hints(current)
        if segment not in hints:
            return f"{walked} ({current.__name__}) declares no field {segment!r}"
        current = _without_none(hints[segment])
        walked += f".{segment}"
    return None


def _without_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


PATHS = sorted(set(choice_paths(ASL["States"])))


def test_the_choice_states_read_paths() -> None:
    # The walk below must see the Choice rules, nested ones included, or it proves nothing.
    assert ("HasNewData", "$.run.preprocess") in PATHS
    assert ("ApprovalDecision", "$.approval.status") in PATHS


@pytest.mark.parametrize(("state", "path"), PATHS, ids=[f"{state}:{path}" for state, path in PATHS])
def test_every_choice_path_is_a_field_of_the_typed_state(state: str, path: str) -> None:
    assert unresolved(path) is None, f"{state} reads {path}: {unresolved(path)}"


@pytest.mark.parametrize(
    "path",
    ["$.run.preprocessing", "$.training.status.code", "$.deployment.serving"],
    ids=["typo", "into-a-str", "gone"],
)
def test_a_path_the_models_do_not_declare_is_caught(path: str) -> None:
    assert unresolved(path) is not None


def test_a_path_into_a_free_form_object_stops_there() -> None:
    assert unresolved("$.training.metrics.validation:auc") is None
