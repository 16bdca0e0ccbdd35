"""The workflow as a graph: its transitions with their labels, the happy path, the loops and the hubs."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# A state with this many arrows into it, off the happy path, is drawn once; the arrows end at stubs naming it.
HUB_MIN_INCOMING = 5

EdgeKind = Literal["next", "choice", "default", "catch"]


class PictureError(ValueError):
    """The definition cannot be drawn: a transition names a state that does not exist."""


@dataclass(frozen=True)
class Edge:
    """One transition of the workflow; `label` is what the picture writes on it."""

    source: str
    target: str
    kind: EdgeKind
    label: str = ""


def short_path(path: str) -> str:
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
            return f"{short_path(one_of[0])} = {' | '.join(one_of[1])}"
        parts = [condition_label(operand) for operand in operands]
        joined = f" {operator.lower()} ".join(parts)
        return joined
    if "Not" in rule:
        return f"not ({condition_label(rule['Not'])})"
    variable = short_path(str(rule.get("Variable", "?")))
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
                shown = short_path(str(value)) if key.endswith("Path") else _value(value)
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
        return f"{short_path(tests[0][0])} = {' | '.join(value for _, values in tests for value in values)}"
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
    forward, backward = _without_errors(edges)
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


def _without_errors(edges: Sequence[Edge]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(successors, predecessors) of each state by the transitions that are not Catch, in declaration order."""
    forward: dict[str, list[str]] = {}
    backward: dict[str, list[str]] = {}
    for edge in edges:
        if edge.kind != "catch":
            forward.setdefault(edge.source, []).append(edge.target)
            backward.setdefault(edge.target, []).append(edge.source)
    return forward, backward


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
    forward, backward = _without_errors(edges)

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


def chain_length(hub: str, edges: Sequence[Edge], hubs: set[str]) -> int:
    """How many steps it takes to reach the farthest state after a hub (other hubs left out)."""
    forward: dict[str, list[str]] = {}
    for edge in edges:
        if edge.target not in hubs:
            forward.setdefault(edge.source, []).append(edge.target)
    return max(_distances(hub, forward).values())
