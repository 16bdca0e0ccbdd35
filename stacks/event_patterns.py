"""Checks an EventBridge event pattern from the configuration the way PutRule would, but at synth time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stacks.show import show

# The fields of every EventBridge event (its envelope); anything an upstream job adds sits under `detail`.
EVENT_FIELDS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail", "replay-name"}
)
# The content filters EventBridge matches on, each an object with one of these keys inside a value list.
CONTENT_FILTERS = frozenset(
    {"prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case", "wildcard"}
)
# EventBridge's default quota for an event pattern's size, in characters.
MAX_PATTERN_CHARACTERS = 2048


def pattern_problem(pattern: Any) -> str | None:
    """Why EventBridge would refuse (or never match with) `pattern`; None when it is a valid pattern.

    A pattern is a non-empty object of event fields; each value is a non-empty list of values and content
    filters, or (below the envelope) a nested object of the same kind; `$or` takes a list of such objects.
    """
    if not isinstance(pattern, Mapping) or not pattern:
        return f"must be a non-empty JSON object of event fields, got {show(pattern)}"
    unknown = sorted(str(key) for key in pattern if key not in EVENT_FIELDS and key != "$or")
    if unknown:
        allowed = ", ".join(sorted(EVENT_FIELDS))
        return (
            f"has field(s) {', '.join(unknown)} that no event has at the top level "
            f"(allowed: {allowed}; an event's own fields are under detail)"
        )
    size = len(json.dumps(pattern, separators=(",", ":")))
    if size > MAX_PATTERN_CHARACTERS:
        return f"is {size} characters long, more than EventBridge's {MAX_PATTERN_CHARACTERS}"
    return _object_problem(pattern, path="", top=True)


def _object_problem(node: Mapping[str, Any], *, path: str, top: bool = False) -> str | None:
    for key, value in node.items():
        where = f"{path}{key}"
        if not isinstance(key, str) or not key:
            return f"has an empty or non-string field name at {path or 'the top'}"
        if key == "$or":
            problem = _or_problem(value, where=where)
        elif isinstance(value, Mapping):
            if top and key != "detail":
                return f"{where} must be a list of values: only detail holds nested fields"
            problem = f"{where} must not be an empty object" if not value else _object_problem(value, path=f"{where}.")
        elif isinstance(value, list):
            problem = _values_problem(value, where=where)
        else:
            problem = f"{where} must be a list of values or an object, got {show(value)}"
        if problem:
            return problem
    return None


def _or_problem(value: Any, *, where: str) -> str | None:
    if not isinstance(value, list) or len(value) < 2:
        return f"{where} must be a list of at least two patterns, got {show(value)}"
    for index, branch in enumerate(value):
        if not isinstance(branch, Mapping) or not branch:
            return f"{where}[{index}] must be a non-empty object, got {show(branch)}"
        problem = _object_problem(branch, path=f"{where}[{index}].")
        if problem:
            return problem
    return None


def _values_problem(values: list[Any], *, where: str) -> str | None:
    if not values:
        return f"{where} must not be an empty list: it would match no event"
    for value in values:
        if isinstance(value, Mapping):
            if len(value) != 1 or next(iter(value)) not in CONTENT_FILTERS:
                filters = ", ".join(sorted(CONTENT_FILTERS))
                return f"{where} holds {show(value)}: a content filter is an object with one of {filters}"
        elif not (value is None or isinstance(value, str | int | float | bool)):
            return f"{where} holds {show(value)}: values are strings, numbers, booleans, null or content filters"
    return None
