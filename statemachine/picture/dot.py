"""DOT source for the workflow: states styled by kind, the happy path bold, errors dashed, hubs as stubs."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from statemachine.picture.graph import (
    Edge,
    PictureError,
    chain_length,
    happy_path,
    hubs,
    loops,
    short_path,
    transitions,
)

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
            field = short_path(str(state[key]))
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
        depth = chain_length(hub, edges, shared)
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
