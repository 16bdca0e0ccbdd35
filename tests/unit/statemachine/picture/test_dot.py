"""The DOT drawn from an ASL: the happy path bold, errors dashed, states by kind, loops, hubs; always the same."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

from statemachine.picture import render
from statemachine.picture.dot import to_dot
from tests.unit.statemachine.picture.small_asl import SMALL_ASL, dot_edges, dot_nodes


def test_happy_path_edges_are_bold_and_catch_edges_dashed_and_labelled() -> None:
    edges = dot_edges(to_dot(SMALL_ASL))

    assert "penwidth" in edges["Check", "Decide"]
    assert "penwidth" in edges["Decide", "Done"]
    assert "penwidth" not in edges["Decide", "Pause"]
    assert "style=dashed" in edges["Check", "Notify"]
    assert 'label="Timeout"' in edges["Check", "Notify"]
    assert "style=dashed" not in edges["Decide", "Pause"]


def test_states_are_drawn_by_kind_and_substitutions_are_not_shown() -> None:
    dot = to_dot(SMALL_ASL)
    nodes = dot_nodes(dot)

    assert "shape=diamond" in nodes["Decide"]
    assert "succeeded" in nodes["Done"]
    assert "failed: JobFailed" in nodes["Failed"]
    assert "seconds from poll_seconds" in nodes["Pause"]
    assert "λ NotifySlack" in nodes["Notify"]
    # The state's own function is not repeated under its name.
    assert "λ" not in nodes["Check"]
    fills = {name: re.search(r'fillcolor="([^"]+)"', attributes) for name, attributes in nodes.items()}
    assert len({match.group(1) for match in fills.values() if match}) == 5
    assert "${" not in dot
    assert "arn:aws" not in dot


def test_a_loop_is_drawn_in_a_cluster() -> None:
    dot = to_dot(SMALL_ASL)

    cluster = re.search(r"subgraph cluster_loop_0 \{(.*?)\n  \}", dot, re.DOTALL)
    assert cluster is not None
    assert set(re.findall(r'^\s*"([^"]+)" \[shape', cluster.group(1), re.MULTILINE)) == {"Check", "Decide", "Pause"}


def test_a_state_many_arrows_lead_to_is_drawn_once_with_stubs_for_its_arrows() -> None:
    # GIVEN five tasks that all catch into one handler
    states: dict[str, Any] = {
        f"Step{i}": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
            "Next": f"Step{i + 1}" if i < 4 else "Done",
        }
        for i in range(5)
    }
    states |= {"Done": {"Type": "Succeed"}, "Handle": {"Type": "Fail"}}

    dot = to_dot({"StartAt": "Step0", "States": states})

    edges = dot_edges(dot)
    assert not [edge for edge in edges if edge[1] == "Handle" and "invis" not in edges[edge]]
    stubs = [target for (source, target) in edges if target.startswith("to_Handle_")]
    assert len(stubs) == 5
    assert all('label="▸ Handle"' in dot_nodes(dot)[stub] for stub in stubs)
    assert '"Handle" [shape=' in dot


def test_the_dot_does_not_depend_on_the_interpreter_run() -> None:
    # GIVEN two interpreters whose string hashing, and so any set's order, differ
    def dot_with_hash_seed(seed: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "statemachine.picture", "--dot"],
            cwd=render.PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    # THEN the real ASL gives byte-identical DOT in both, the DOT this process gives too
    assert dot_with_hash_seed("1") == dot_with_hash_seed("2") == to_dot(json.loads(render.ASL_PATH.read_text()))
