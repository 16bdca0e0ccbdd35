"""The workflow as a graph: transitions, their labels and the happy path."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.picture import graph
from statemachine.picture.dot import to_dot
from tests.unit.statemachine.picture.small_asl import SMALL_ASL, dot_nodes


def test_transitions_follow_next_choices_default_and_catch() -> None:
    edges = {(edge.source, edge.target): edge for edge in graph.transitions(SMALL_ASL["States"])}

    assert set(edges) == {
        ("Check", "Decide"),
        ("Check", "Notify"),
        ("Check", "Failed"),
        ("Decide", "Done"),
        ("Decide", "Pause"),
        ("Decide", "Failed"),
        ("Pause", "Check"),
        ("Notify", "Failed"),
    }
    assert (edges["Check", "Decide"].kind, edges["Check", "Decide"].label) == ("next", "")
    assert (edges["Check", "Notify"].kind, edges["Check", "Notify"].label) == ("catch", "Timeout")
    assert (edges["Check", "Failed"].kind, edges["Check", "Failed"].label) == ("catch", "any error")
    assert (edges["Decide", "Done"].kind, edges["Decide", "Done"].label) == ("choice", "status = Completed")
    assert edges["Decide", "Pause"].label == "status = InProgress | Starting"
    assert (edges["Decide", "Failed"].kind, edges["Decide", "Failed"].label) == ("default", "otherwise")


def test_a_catch_into_the_next_state_folds_into_the_next_edge() -> None:
    # GIVEN Notify, whose errors go where it goes anyway
    edges = [edge for edge in graph.transitions(SMALL_ASL["States"]) if edge.source == "Notify"]

    # THEN one plain edge, and the node says errors go on
    assert [(edge.target, edge.kind) for edge in edges] == [("Failed", "next")]
    assert "on error: goes on" in dot_nodes(to_dot(SMALL_ASL))["Notify"]


def test_choice_rules_into_one_state_share_an_edge_with_their_values_merged() -> None:
    states = {
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.endpoint.status", "StringEquals": "Failed", "Next": "Broken"},
                {"Variable": "$.endpoint.status", "StringEquals": "OutOfService", "Next": "Broken"},
            ],
            "Default": "Broken",
        },
        "Broken": {"Type": "Fail"},
    }

    edges = graph.transitions(states)

    assert [(edge.kind, edge.label) for edge in edges] == [
        ("choice", "status = Failed | OutOfService"),
        ("default", "otherwise"),
    ]


@pytest.mark.parametrize(
    ("rule", "label"),
    [
        ({"Variable": "$.run.has_new_data", "BooleanEquals": True}, "has_new_data"),
        ({"Variable": "$.run.has_new_data", "BooleanEquals": False}, "not has_new_data"),
        ({"Variable": "$.run.blocked_by", "IsString": True}, "blocked_by is a string"),
        ({"Variable": "$.run.blocked_by", "IsPresent": False}, "blocked_by is not present"),
        ({"Variable": "$.metric", "NumericGreaterThan": 0.5}, "metric > 0.5"),
        ({"Variable": "$.metric", "NumericLessThanEqualsPath": "$.gate.max"}, "metric ≤ max"),
        ({"Not": {"Variable": "$.a", "StringEquals": "x"}}, "not (a = x)"),
        (
            {
                "And": [
                    {"Or": [{"Variable": "$.s", "StringEquals": "A"}, {"Variable": "$.s", "StringEquals": "B"}]},
                    {"Variable": "$.wait_exceeded", "BooleanEquals": True},
                ]
            },
            "s = A | B and wait_exceeded",
        ),
    ],
)
def test_condition_labels_are_short(rule: dict[str, Any], label: str) -> None:
    assert graph.condition_label(rule) == label


def test_a_transition_to_a_missing_state_is_an_error() -> None:
    with pytest.raises(graph.PictureError, match="Nowhere"):
        graph.transitions({"A": {"Type": "Pass", "Next": "Nowhere"}})


def test_happy_path_takes_the_first_choice_that_reaches_the_farthest_success() -> None:
    # GIVEN a choice whose first rule ends early and whose second leads to the deepest Succeed state
    states = {
        "Start": {"Type": "Pass", "Next": "Decide"},
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.skip", "BooleanEquals": True, "Next": "Skipped"},
                {"Variable": "$.good", "BooleanEquals": True, "Next": "Work"},
                {"Variable": "$.shortcut", "BooleanEquals": True, "Next": "Record"},
            ],
            "Default": "Broken",
        },
        "Skipped": {"Type": "Succeed"},
        "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Record"},
        "Record": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Broken": {"Type": "Fail"},
    }

    path = graph.happy_path("Start", states, graph.transitions(states))

    # THEN it goes through Work, not the shorter shortcut
    assert path == ["Start", "Decide", "Work", "Record", "Done"]
