"""The workflow picture: the DOT drawn from an ASL, the hash stamps, and the committed picture's freshness."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from statemachine import picture

STALE_HINT = f"run `{picture.REGENERATE_COMMAND}` (python -m statemachine.picture) and commit docs/workflow.*"

SMALL_ASL: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${CheckFunctionArn}", "Payload": {"state.$": "$"}},
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 3}],
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "Next": "Notify"},
                {"ErrorEquals": ["States.ALL"], "Next": "Failed"},
            ],
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.job.status", "StringEquals": "Completed", "Next": "Done"},
                {
                    "Or": [
                        {"Variable": "$.job.status", "StringEquals": "InProgress"},
                        {"Variable": "$.job.status", "StringEquals": "Starting"},
                    ],
                    "Next": "Pause",
                },
            ],
            "Default": "Failed",
        },
        "Pause": {"Type": "Wait", "SecondsPath": "$.job.poll_seconds", "Next": "Check"},
        "Notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${NotifySlackFunctionArn}"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            "Next": "Failed",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "JobFailed"},
    },
}


def dot_edges(dot: str) -> dict[tuple[str, str], str]:
    """(source, target) -> the edge's attribute list, read back from DOT text."""
    return {
        (source, target): attributes
        for source, target, attributes in re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$', dot, re.MULTILINE)
    }


def dot_nodes(dot: str) -> dict[str, str]:
    return dict(re.findall(r'^\s*"([^"]+)" \[(shape=.*)\];$', dot, re.MULTILINE))


# The committed picture


@pytest.mark.parametrize(
    ("path", "read_stamp"),
    [(picture.SVG_PATH, picture.svg_stamp), (picture.PNG_PATH, picture.png_stamp)],
    ids=["svg", "png"],
)
def test_committed_picture_was_drawn_from_the_current_asl(path: Path, read_stamp: Any) -> None:
    # GIVEN the DOT the current ASL gives (pure Python: no Graphviz needed)
    expected = picture.dot_sha256(picture.to_dot(json.loads(picture.ASL_PATH.read_text())))

    # WHEN the committed picture's stamp is read
    assert path.exists(), f"{path.relative_to(picture.PROJECT_ROOT)} is missing: {STALE_HINT}"
    stamp = read_stamp(path.read_bytes())

    # THEN it names that DOT
    assert stamp == expected, f"{path.relative_to(picture.PROJECT_ROOT)} is stale against the ASL: {STALE_HINT}"


def test_a_changed_asl_gives_a_different_stamp() -> None:
    # GIVEN the real ASL with one more choice rule
    definition = json.loads(picture.ASL_PATH.read_text())
    changed = json.loads(picture.ASL_PATH.read_text())
    choice = next(state for state in changed["States"].values() if state["Type"] == "Choice")
    choice["Choices"].append({"Variable": "$.extra", "BooleanEquals": True, "Next": changed["StartAt"]})

    # THEN the staleness test would notice
    assert picture.dot_sha256(picture.to_dot(changed)) != picture.dot_sha256(picture.to_dot(definition))


def test_readme_shows_the_picture_and_the_command_that_redraws_it() -> None:
    readme = (picture.PROJECT_ROOT / "README.md").read_text()

    assert "](docs/workflow.svg)" in readme
    assert picture.REGENERATE_COMMAND in readme


# Transitions


def test_transitions_follow_next_choices_default_and_catch() -> None:
    edges = {(edge.source, edge.target): edge for edge in picture.transitions(SMALL_ASL["States"])}

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
    edges = [edge for edge in picture.transitions(SMALL_ASL["States"]) if edge.source == "Notify"]

    # THEN one plain edge, and the node says errors go on
    assert [(edge.target, edge.kind) for edge in edges] == [("Failed", "next")]
    assert "on error: goes on" in dot_nodes(picture.to_dot(SMALL_ASL))["Notify"]


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

    edges = picture.transitions(states)

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
    assert picture.condition_label(rule) == label


def test_a_transition_to_a_missing_state_is_an_error() -> None:
    with pytest.raises(picture.PictureError, match="Nowhere"):
        picture.transitions({"A": {"Type": "Pass", "Next": "Nowhere"}})


# The picture's structure


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

    path = picture.happy_path("Start", states, picture.transitions(states))

    # THEN it goes through Work, not the shorter shortcut
    assert path == ["Start", "Decide", "Work", "Record", "Done"]


def test_happy_path_edges_are_bold_and_catch_edges_dashed_and_labelled() -> None:
    edges = dot_edges(picture.to_dot(SMALL_ASL))

    assert "penwidth" in edges["Check", "Decide"]
    assert "penwidth" in edges["Decide", "Done"]
    assert "penwidth" not in edges["Decide", "Pause"]
    assert "style=dashed" in edges["Check", "Notify"]
    assert 'label="Timeout"' in edges["Check", "Notify"]
    assert "style=dashed" not in edges["Decide", "Pause"]


def test_states_are_drawn_by_kind_and_substitutions_are_not_shown() -> None:
    dot = picture.to_dot(SMALL_ASL)
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
    dot = picture.to_dot(SMALL_ASL)

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

    dot = picture.to_dot({"StartAt": "Step0", "States": states})

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
            cwd=picture.PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    # THEN the real ASL gives byte-identical DOT in both, the DOT this process gives too
    assert (
        dot_with_hash_seed("1") == dot_with_hash_seed("2") == picture.to_dot(json.loads(picture.ASL_PATH.read_text()))
    )


# The stamps


def minimal_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )


def test_png_stamp_round_trips_and_replaces_an_older_stamp() -> None:
    once = picture.stamp_png(minimal_png(), "a" * 64)
    twice = picture.stamp_png(once, "b" * 64)

    assert picture.png_stamp(minimal_png()) is None
    assert picture.png_stamp(once) == "a" * 64
    assert picture.png_stamp(twice) == "b" * 64
    assert twice.count(b"tEXt") == 1
    assert len(twice) == len(minimal_png()) + 12 + len(b"dot-sha256\x00") + 64


def test_png_stamp_keeps_every_chunk_valid() -> None:
    stamped = picture.stamp_png(minimal_png(), "c" * 64)

    offset = 8
    while offset < len(stamped):
        (length,) = struct.unpack(">I", stamped[offset : offset + 4])
        kind_and_data = stamped[offset + 4 : offset + 8 + length]
        (crc,) = struct.unpack(">I", stamped[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind_and_data)
        offset += 12 + length
    assert offset == len(stamped)


def test_svg_stamp_round_trips_after_the_xml_declaration() -> None:
    svg = b'<?xml version="1.0"?>\n<svg></svg>\n'

    stamped = picture.stamp_svg(svg, "d" * 64)

    assert stamped.startswith(b'<?xml version="1.0"?>\n<!-- dot-sha256: ' + b"d" * 64)
    assert picture.svg_stamp(stamped) == "d" * 64
    assert picture.svg_stamp(svg) is None


# Rendering, where Graphviz is installed


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed (apt-get install graphviz)")
def test_the_command_renders_a_stamped_svg_and_png(tmp_path: Path) -> None:
    # GIVEN the small ASL in a file
    asl = tmp_path / "small.asl.json"
    asl.write_text(json.dumps(SMALL_ASL))
    svg, png = tmp_path / "out" / "w.svg", tmp_path / "out" / "w.png"

    # WHEN the command draws it
    status = picture.main(["--asl", str(asl), "--svg", str(svg), "--png", str(png)])

    # THEN both pictures carry the DOT's hash, and the SVG shows every state
    digest = picture.dot_sha256(picture.to_dot(SMALL_ASL))
    assert status == 0
    assert picture.svg_stamp(svg.read_bytes()) == digest
    assert picture.png_stamp(png.read_bytes()) == digest
    assert all(f">{name}<" in svg.read_text() for name in SMALL_ASL["States"])


def test_without_graphviz_the_command_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    asl = tmp_path / "small.asl.json"
    asl.write_text(json.dumps(SMALL_ASL))

    status = picture.main(["--asl", str(asl), "--svg", str(tmp_path / "w.svg"), "--png", str(tmp_path / "w.png")])

    assert status == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not (tmp_path / "w.svg").exists()
