"""The workflow as a picture: DOT generated from the ASL in pure Python, rendered to SVG and PNG by Graphviz.

`python -m statemachine.picture` (or `make picture`) rewrites docs/workflow.svg and docs/workflow.png. Both carry
the sha256 of the DOT they were drawn from, so a test can tell a stale picture without Graphviz: it regenerates
the DOT from the current ASL and compares the hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = PROJECT_ROOT / "statemachine" / "retraining.asl.json"
SVG_PATH = PROJECT_ROOT / "docs" / "workflow.svg"
PNG_PATH = PROJECT_ROOT / "docs" / "workflow.png"
REGENERATE_COMMAND = "make picture"
HASH_KEY = "dot-sha256"
# Crisp on a high-density screen, still a few hundred KB.
PNG_DPI = 110
# A state with this many arrows into it, off the happy path, is drawn once; the arrows end at stubs naming it.
HUB_MIN_INCOMING = 5

EdgeKind = Literal["next", "choice", "default", "catch"]


class GraphvizMissingError(RuntimeError):
    """The `dot` program is not installed."""


class PictureError(ValueError):
    """The definition cannot be drawn: a transition names a state that does not exist."""


@dataclass(frozen=True)
class Edge:
    """One transition of the workflow; `label` is what the picture writes on it."""

    source: str
    target: str
    kind: EdgeKind
    label: str = ""


# Colours by kind of state: fill, border. Tailwind's 100 and 700 shades, readable on white and in print.
_KIND_STYLE: dict[str, tuple[str, str]] = {
    "Task": ("#dbeafe", "#1d4ed8"),
    "Choice": ("#fef3c7", "#b45309"),
    "Wait": ("#ede9fe", "#6d28d9"),
    "Pass": ("#f3f4f6", "#4b5563"),
    "Succeed": ("#dcfce7", "#15803d"),
    "Fail": ("#fee2e2", "#b91c1c"),
}
_OTHER_STYLE = ("#f3f4f6", "#4b5563")
_HAPPY_COLOUR = "#111827"
_EDGE_COLOUR = "#6b7280"
_CATCH_COLOUR = "#b91c1c"
_FONT = "Helvetica,Arial,sans-serif"
_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")
_LABEL_WIDTH = 24


def _short_path(path: str) -> str:
    """`$.training.status` -> `status`: the last field says enough next to the state's name."""
    return path.rstrip(".").split(".")[-1].removeprefix("$") or path


def _value(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


# Longest suffix first: NumericLessThanEquals must not read as Equals.
_COMPARISONS = {
    "LessThanEquals": "≤",
    "GreaterThanEquals": "≥",
    "LessThan": "<",
    "GreaterThan": ">",
    "Equals": "=",
    "Matches": "matches",
}
_TYPE_TESTS = {
    "IsNull": "is null",
    "IsPresent": "is present",
    "IsNumeric": "is a number",
    "IsString": "is a string",
    "IsBoolean": "is a boolean",
    "IsTimestamp": "is a timestamp",
}


def condition_label(rule: Mapping[str, Any]) -> str:
    """A short reading of one Choice rule: `status = Completed`, `status = InProgress | Stopping and wait_exceeded`."""
    if "And" in rule or "Or" in rule:
        operator = "And" if "And" in rule else "Or"
        operands: Sequence[Mapping[str, Any]] = rule[operator]
        # An Or over one variable's values reads best as a list of the values.
        if operator == "Or" and (one_of := _one_of(rule)):
            return f"{_short_path(one_of[0])} = {' | '.join(one_of[1])}"
        parts = [condition_label(operand) for operand in operands]
        joined = f" {operator.lower()} ".join(parts)
        return joined
    if "Not" in rule:
        return f"not ({condition_label(rule['Not'])})"
    variable = _short_path(str(rule.get("Variable", "?")))
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment"):
            continue
        if key in _TYPE_TESTS:
            test = _TYPE_TESTS[key]
            return f"{variable} {test}" if value else f"{variable} {test.replace('is ', 'is not ', 1)}"
        if key == "BooleanEquals":
            return variable if value is True else f"not {variable}"
        for suffix, symbol in _COMPARISONS.items():
            if key.endswith(suffix) or key.endswith(f"{suffix}Path"):
                shown = _short_path(str(value)) if key.endswith("Path") else _value(value)
                return f"{variable} {symbol} {shown}"
    return variable


def _one_of(rule: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """(variable, values) when the rule tests one variable against strings (`StringEquals`, or an Or of them)."""
    operands: Sequence[Mapping[str, Any]] = rule.get("Or", [rule])
    variables = {operand.get("Variable") for operand in operands}
    values = [operand.get("StringEquals") for operand in operands]
    if len(variables) != 1 or None in variables or not all(isinstance(value, str) for value in values):
        return None
    return str(operands[0]["Variable"]), [str(value) for value in values]


def _choice_label(rules: Sequence[Mapping[str, Any]]) -> str:
    """The label of one Choice edge; rules that test the same variable against strings merge their values."""
    tests = [test for rule in rules if (test := _one_of(rule))]
    if len(rules) > 1 and len(tests) == len(rules) and len({variable for variable, _ in tests}) == 1:
        return f"{_short_path(tests[0][0])} = {' | '.join(value for _, values in tests for value in values)}"
    return " or ".join(condition_label(rule) for rule in rules)


def _error_label(errors: Iterable[str]) -> str:
    names = ["any error" if e == "States.ALL" else e.removeprefix("States.") for e in errors]
    return ", ".join(names)


def transitions(states: Mapping[str, Mapping[str, Any]]) -> list[Edge]:
    """Every transition in declaration order; Choice rules with the same target share one edge.

    A Catch whose target is the state's own Next is folded into the Next edge (the state says "errors ignored"):
    drawing both would double every best-effort notification's arrow.
    Raises PictureError when a transition names a state that does not exist.
    """
    edges: list[Edge] = []
    for name, state in states.items():
        choice_rules: dict[str, list[Mapping[str, Any]]] = {}
        for rule in state.get("Choices", []):
            choice_rules.setdefault(rule["Next"], []).append(rule)
        edges += [Edge(name, target, "choice", _choice_label(rules)) for target, rules in choice_rules.items()]
        if "Default" in state:
            edges.append(Edge(name, state["Default"], "default", "otherwise"))
        if "Next" in state:
            edges.append(Edge(name, state["Next"], "next"))
        catch_labels: dict[str, list[str]] = {}
        for catcher in state.get("Catch", []):
            if catcher["Next"] != state.get("Next"):
                catch_labels.setdefault(catcher["Next"], []).extend(catcher["ErrorEquals"])
        edges += [Edge(name, target, "catch", _error_label(errors)) for target, errors in catch_labels.items()]
    for edge in edges:
        if edge.target not in states:
            raise PictureError(f"{edge.source} goes to {edge.target!r}, which is not a state")
    return edges


def happy_path(start: str, states: Mapping[str, Mapping[str, Any]], edges: Sequence[Edge]) -> list[str]:
    """The way a run goes when all is well: from the start to the farthest Succeed state, without errors.

    At each Choice it takes the first rule (authors list the expected case first) from which that Succeed state
    can still be reached, and never a state already on the way. Empty when no Succeed state can be reached.
    """
    forward: dict[str, list[str]] = {}
    backward: dict[str, list[str]] = {}
    for edge in edges:
        if edge.kind != "catch":
            forward.setdefault(edge.source, []).append(edge.target)
            backward.setdefault(edge.target, []).append(edge.source)
    distance = _distances(start, forward)
    successes = [name for name in distance if states[name].get("Type") == "Succeed"]
    if not successes:
        return []
    goal = max(successes, key=lambda name: distance[name])
    to_goal = _distances(goal, backward)
    path = [start]
    while path[-1] != goal:
        candidates = [t for t in forward[path[-1]] if t in to_goal]
        fresh = [t for t in candidates if t not in path]
        # Every state on the way reaches the goal, so some successor does: the closest one when all are taken.
        path.append(fresh[0] if fresh else min(candidates, key=lambda t: to_goal[t]))
        if len(path) > len(states):
            break
    return path


def _distances(start: str, graph: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Breadth-first distances from start, in the order the states are first met (ties: declaration order)."""
    distance = {start: 0}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        for target in graph.get(name, []):
            if target not in distance:
                distance[target] = distance[name] + 1
                queue.append(target)
    return distance


def loops(states: Mapping[str, Any], edges: Sequence[Edge]) -> list[list[str]]:
    """The workflow's loops (strongly connected sets of more than one state, errors left out), in declaration order."""
    forward: dict[str, list[str]] = {}
    backward: dict[str, list[str]] = {}
    for edge in edges:
        if edge.kind != "catch":
            forward.setdefault(edge.source, []).append(edge.target)
            backward.setdefault(edge.target, []).append(edge.source)

    def reach(start: str, graph: Mapping[str, list[str]]) -> set[str]:
        seen, frontier = {start}, [start]
        while frontier:
            for target in graph.get(frontier.pop(), []):
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        return seen

    found: list[list[str]] = []
    placed: set[str] = set()
    for name in states:
        if name in placed:
            continue
        component = reach(name, forward) & reach(name, backward)
        if len(component) > 1:
            found.append([state for state in states if state in component])
            placed |= component
    return found


def hubs(states: Mapping[str, Any], edges: Sequence[Edge], happy: Iterable[str]) -> set[str]:
    """States off the happy path that many transitions lead to (the failure handler): each such transition ends
    at a small stub naming the state, so a dozen long arrows do not cross the picture."""
    incoming: dict[str, int] = {}
    for edge in edges:
        incoming[edge.target] = incoming.get(edge.target, 0) + 1
    return {name for name in states if incoming.get(name, 0) >= HUB_MIN_INCOMING and name not in set(happy)}


def _chain_length(hub: str, edges: Sequence[Edge], hubs: set[str]) -> int:
    """How many steps it takes to reach the farthest state after a hub (other hubs left out)."""
    forward: dict[str, list[str]] = {}
    for edge in edges:
        if edge.target not in hubs:
            forward.setdefault(edge.source, []).append(edge.target)
    return max(_distances(hub, forward).values())


def _stub(node_id: str, target: str, state: Mapping[str, Any]) -> str:
    _, border = _KIND_STYLE.get(str(state.get("Type", "")), _OTHER_STYLE)
    return (
        f'  {_quote(node_id)} [shape=box, style="rounded,dashed", color="{border}", fontcolor="{border}",'
        f' fontsize=9, height=0.2, margin="0.06,0.02", label={_quote("▸ " + target)}];'
    )


def _resource_note(name: str, state: Mapping[str, Any]) -> str:
    """What a Task calls, without ARNs or ${...} noise: `λ NotifySlack`, `sagemaker:stopTrainingJob`."""
    resource = str(state.get("Resource", ""))
    parameters = state.get("Parameters") or state.get("Arguments") or {}
    function = parameters.get("FunctionName", "") if isinstance(parameters, Mapping) else ""
    pattern = ""
    for suffix, note in ((".waitForTaskToken", "waits for a callback"), (".sync", "waits until done")):
        if resource.endswith(suffix):
            resource, pattern = resource.removesuffix(suffix), note
    integration = resource.startswith("arn:aws:states:::lambda:invoke")
    if integration or ":lambda:" in resource or _SUBSTITUTION.search(resource):
        target = str(function) if integration else resource
        placeholder = _SUBSTITUTION.search(target)
        called = placeholder.group(1) if placeholder else target.rsplit(":", 1)[-1]
        called = re.sub(r"(Function)?(Arn|Name)$", "", called)
        what = "" if called in ("", name) else f"λ {called}"
    else:
        what = resource.removeprefix("arn:aws:states:::").removeprefix("aws-sdk:")
    return " · ".join(part for part in (what, pattern) if part)


def _wait_note(state: Mapping[str, Any]) -> str:
    for key in ("Seconds", "Timestamp"):
        if key in state:
            return f"{state[key]} s" if key == "Seconds" else f"until {state[key]}"
    for key in ("SecondsPath", "TimestampPath"):
        if key in state:
            field = _short_path(str(state[key]))
            return f"seconds from {field}" if key == "SecondsPath" else f"until {field}"
    return ""


def _node_notes(name: str, state: Mapping[str, Any]) -> list[str]:
    kind = state.get("Type", "")
    notes: list[str] = []
    if kind == "Task":
        notes.append(_resource_note(name, state))
        if any(catcher["Next"] == state.get("Next") for catcher in state.get("Catch", [])):
            notes.append("on error: goes on")
    elif kind == "Wait":
        notes.append(f"wait: {_wait_note(state)}")
    elif kind == "Succeed":
        notes.append("succeeded")
    elif kind == "Fail":
        error = state.get("Error")
        notes.append(f"failed: {error}" if isinstance(error, str) else "failed")
    elif kind not in _KIND_STYLE:
        notes.append(str(kind))
    return [note for note in notes if note]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrap(text: str, width: int = _LABEL_WIDTH) -> str:
    """Break a long label at spaces so edge labels stay narrow; DOT's `\\n` centres each line."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)


def _legend(hub_names: Sequence[str]) -> str:
    """The key under the picture: a swatch per kind of state, then what the lines mean."""
    swatches = "".join(
        f'<td bgcolor="{fill}" color="{border}" border="1" width="72" fixedsize="true" height="20">{kind}</td>'
        for kind, (fill, border) in _KIND_STYLE.items()
    )
    stubs = "".join(f"   ▸ {html.escape(name)}: goes on at {html.escape(name)}, drawn once" for name in hub_names)
    lines = (
        f'<font color="{_HAPPY_COLOUR}">━━</font> when all goes well   '
        f'<font color="{_EDGE_COLOUR}">──</font> other ways   '
        f'<font color="{_CATCH_COLOUR}">╍╍</font> on error (Catch){stubs}'
    )
    return (
        '<table border="0" cellborder="0" cellspacing="4" cellpadding="3">'
        f"<tr>{swatches}</tr>"
        f'<tr><td colspan="{len(_KIND_STYLE)}"><font point-size="10">{lines}</font></td></tr>'
        "</table>"
    )


def _node(name: str, state: Mapping[str, Any], *, on_happy_path: bool) -> str:
    kind = str(state.get("Type", ""))
    fill, border = _KIND_STYLE.get(kind, _OTHER_STYLE)
    label = f"<b>{html.escape(name)}</b>"
    for note in _node_notes(name, state):
        label += f'<br/><font point-size="9" color="#4b5563">{html.escape(note)}</font>'
    shape = {"Choice": "diamond", "Succeed": "box", "Fail": "box"}.get(kind, "box")
    style = "filled" if kind == "Choice" else "rounded,filled"
    attributes = [
        f"shape={shape}",
        f'style="{style}{",bold" if on_happy_path or kind in ("Succeed", "Fail") else ""}"',
        f'fillcolor="{fill}"',
        f'color="{border}"',
        f"label=<{label}>",
    ]
    if kind in ("Succeed", "Fail"):
        attributes.append("peripheries=2")
    if kind == "Choice":
        attributes.append('margin="0.02,0.02"')
    return f"  {_quote(name)} [{', '.join(attributes)}];"


def _edge(edge: Edge, *, happy: bool) -> str:
    attributes: list[str] = []
    if edge.label:
        attributes.append(f'label="{_wrap(edge.label)}"')
    if edge.kind == "catch":
        attributes += ["style=dashed", f'color="{_CATCH_COLOUR}"', f'fontcolor="{_CATCH_COLOUR}"', "weight=0"]
    elif happy:
        attributes += [f'color="{_HAPPY_COLOUR}"', "penwidth=2.2", "weight=20"]
    else:
        attributes += [f'color="{_EDGE_COLOUR}"']
    return f"  {_quote(edge.source)} -> {_quote(edge.target)} [{', '.join(attributes)}];"


def to_dot(definition: Mapping[str, Any]) -> str:
    """The DOT source for an ASL definition: the same definition always gives the same text.

    Raises PictureError when a transition names a state that does not exist.
    """
    states: Mapping[str, Mapping[str, Any]] = definition["States"]
    start = str(definition["StartAt"])
    if start not in states:
        raise PictureError(f"StartAt names {start!r}, which is not a state")
    edges = transitions(states)
    path = happy_path(start, states, edges)
    happy_steps = set(pairwise(path))
    on_path = set(path)
    shared = hubs(states, edges, on_path)
    lines = [
        "digraph workflow {",
        f'  graph [rankdir=TB, bgcolor="white", fontname="{_FONT}", fontsize=11, nodesep=0.25, ranksep=0.32,'
        f" newrank=true, pad=0.2, labelloc=b, label=<{_legend(sorted(shared, key=list(states).index))}>];",
        f'  node [fontname="{_FONT}", fontsize=11, penwidth=1.2, margin="0.12,0.04", height=0.3];',
        f'  edge [fontname="{_FONT}", fontsize=9, arrowsize=0.7, fontcolor="#374151"];',
        f'  start [shape=circle, style=filled, fillcolor="{_HAPPY_COLOUR}", label="", width=0.18];',
    ]
    in_loop: set[str] = set()
    for index, members in enumerate(loops(states, edges)):
        waits = [m for m in members if states[m].get("Type") == "Wait"]
        title = f"loop: {waits[0]}" if waits else "loop"
        lines += [
            f"  subgraph cluster_loop_{index} {{",
            f'    label="{_wrap(title, 60)}"; labelloc=t; labeljust=l; style="rounded,dashed"; color="#9ca3af";'
            ' fontcolor="#4b5563"; fontsize=9;',
        ]
        lines += ["  " + _node(m, states[m], on_happy_path=m in on_path) for m in members]
        lines.append("  }")
        in_loop |= set(members)
    lines += [
        _node(name, state, on_happy_path=name in on_path) for name, state in states.items() if name not in in_loop
    ]
    lines.append(f'  start -> {_quote(start)} [color="{_HAPPY_COLOUR}", penwidth=2.2, weight=20];')
    # A hub has no predecessor left once its arrows end at stubs: without an anchor dot would draw it at the top.
    # Anchored below the happy path's state one more step from the end than the hub's chain is long, the chain ends
    # level with the happy path's last state.
    for hub in sorted(shared, key=list(states).index):
        depth = _chain_length(hub, edges, shared)
        anchor = path[max(0, len(path) - depth - 2)] if path else start
        lines.append(f"  {_quote(anchor)} -> {_quote(hub)} [style=invis];")
    for index, edge in enumerate(edges):
        if edge.target in shared:
            stub = f"to_{edge.target}_{index}"
            lines.append(_stub(stub, edge.target, states[edge.target]))
            edge = Edge(edge.source, stub, edge.kind, edge.label)
        lines.append(_edge(edge, happy=(edge.source, edge.target) in happy_steps))
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_sha256(dot: str) -> str:
    return hashlib.sha256(dot.encode()).hexdigest()


def stamp_svg(svg: bytes, digest: str) -> bytes:
    """The SVG with a comment naming the DOT's hash, right after the XML declaration."""
    comment = f"<!-- {HASH_KEY}: {digest} (regenerate with: {REGENERATE_COMMAND}) -->\n".encode()
    if svg.startswith(b"<?xml"):
        end = svg.index(b"?>") + 2
        newline = 1 if svg[end : end + 1] == b"\n" else 0
        return svg[: end + newline] + comment + svg[end + newline :]
    return comment + svg


def svg_stamp(svg: bytes) -> str | None:
    found = re.search(rb"<!-- " + HASH_KEY.encode() + rb": ([0-9a-f]{64})", svg)
    return found.group(1).decode() if found else None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    chunks, offset = [], len(_PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        chunks.append((kind, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def stamp_png(png: bytes, digest: str) -> bytes:
    """The PNG with a tEXt chunk naming the DOT's hash, right after the header chunk (IHDR).

    Raises ValueError when the bytes are not a PNG.
    """
    chunks = [(kind, data) for kind, data in _png_chunks(png) if not _is_stamp(kind, data)]
    stamp = (b"tEXt", HASH_KEY.encode() + b"\x00" + digest.encode())
    chunks.insert(1, stamp)
    return _PNG_SIGNATURE + b"".join(_png_chunk(kind, data) for kind, data in chunks)


def _is_stamp(kind: bytes, data: bytes) -> bool:
    return kind == b"tEXt" and data.startswith(HASH_KEY.encode() + b"\x00")


def png_stamp(png: bytes) -> str | None:
    """The DOT hash a PNG carries, or None. Raises ValueError when the bytes are not a PNG."""
    for kind, data in _png_chunks(png):
        if _is_stamp(kind, data):
            return data.split(b"\x00", 1)[1].decode()
    return None


def render(dot: str, output_format: Literal["svg", "png"], *, dot_program: str = "dot") -> bytes:
    """The picture Graphviz draws from DOT source, stamped with the DOT's hash.

    Raises GraphvizMissingError when `dot` is not installed, subprocess.CalledProcessError when it fails.
    """
    program = shutil.which(dot_program)
    if program is None:
        raise GraphvizMissingError(f"Graphviz's `{dot_program}` is not installed: apt-get install graphviz")
    arguments = [program, f"-T{output_format}"] + ([f"-Gdpi={PNG_DPI}"] if output_format == "png" else [])
    drawn = subprocess.run(arguments, input=dot.encode(), capture_output=True, check=True).stdout
    digest = dot_sha256(dot)
    return stamp_svg(drawn, digest) if output_format == "svg" else stamp_png(drawn, digest)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m statemachine.picture", description=__doc__.splitlines()[0])
    parser.add_argument("--asl", type=Path, default=ASL_PATH, help="the ASL file (default: %(default)s)")
    parser.add_argument("--svg", type=Path, default=SVG_PATH, help="where to write the SVG (default: %(default)s)")
    parser.add_argument("--png", type=Path, default=PNG_PATH, help="where to write the PNG (default: %(default)s)")
    parser.add_argument("--dot", action="store_true", help="print the DOT source instead of rendering it")
    arguments = parser.parse_args(argv)
    dot = to_dot(json.loads(arguments.asl.read_text()))
    if arguments.dot:
        sys.stdout.write(dot)
        return 0
    try:
        for path, picture in ((arguments.svg, render(dot, "svg")), (arguments.png, render(dot, "png"))):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(picture)
            sys.stdout.write(f"wrote {path}\n")
    except GraphvizMissingError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
