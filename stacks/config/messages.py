"""Turns pydantic's validation errors into one ConfigError naming the pipeline and the field, in the project's words."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from stacks.config.errors import ConfigError, FieldError, join_label
from stacks.config.fields import Rule
from stacks.show import show

# Reported with the error they follow (a default computed from a field that was itself invalid).
_CONSEQUENCES = frozenset({"default_factory_not_called"})


def config_error(error: ValidationError, *, model: type[BaseModel], where: str) -> ConfigError:
    """The first of `error`'s problems as a ConfigError: "<where>: <field> <problem>"."""
    details = [detail for detail in error.errors() if detail["type"] not in _CONSEQUENCES]
    first = details[0]
    if first["type"] == "missing":
        # A misspelt key explains the missing one: "emails" given, "email" missing.
        section = first["loc"][:-1]
        first = next(
            (d for d in details if d["type"] == "extra_forbidden" and d["loc"][:-1] == section),
            first,
        )
    return ConfigError(f"{where}: {_message(first, model)}")


def _message(detail: ErrorDetails, model: type[BaseModel]) -> str:
    loc = _without_union_tags(model, detail["loc"])
    label = _label(loc)
    if detail["type"] == "extra_forbidden":
        return _unknown_field(model, loc)
    if detail["type"] in ("value_error", "assertion_error"):
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            return cause.message(label)
        return f"{label} {cause}" if label else str(cause)
    annotation, metadata = _field_at(model, loc)
    rule = _rule(annotation, metadata)
    if detail["type"] == "missing":
        return f"{label} is required: {rule}"
    too_many = next((item.too_many for item in metadata if isinstance(item, Rule) and item.too_many), None)
    if detail["type"] == "too_long" and too_many:
        context = detail.get("ctx", {})
        return f"{label} may hold at most {context['max_length']} {too_many}, got {context['actual_length']}"
    return f"{label} must be {rule}, got {show(detail['input'])}"


def _without_union_tags(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """`loc` without the parts pydantic adds for the member of a union it tried (`HoldoutConfig`,
    `function-after[_check(), HoldoutConfig]`, `literal['none']`): the field's path as the user wrote it."""
    kept: list[int | str] = []
    annotation: Any = model
    for part in loc:
        annotation, _ = _unwrap(annotation)
        if get_origin(annotation) in (Union, types.UnionType) and isinstance(part, str):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            chosen = next((o for o in options if _is_model(o) and _tag_names(part, o.__name__)), None)
            if chosen is not None or part.startswith("literal["):
                annotation = chosen if chosen is not None else Any
                continue
        kept.append(part)
        annotation, _ = _field_at_part(annotation, part)
    return tuple(kept)


def _tag_names(tag: str, name: str) -> bool:
    return tag == name or (tag.startswith("function-") and tag.endswith(f", {name}]"))


def _field_at_part(annotation: Any, part: int | str) -> tuple[Any, list[Any]]:
    annotation, _ = _unwrap(annotation)
    if isinstance(part, str) and get_origin(annotation) in (Union, types.UnionType):
        # A field inside a union's member: the union's one model holds it.
        annotation = next((arg for arg in get_args(annotation) if _is_model(arg)), annotation)
    if isinstance(part, int):
        items = [arg for arg in get_args(annotation) if arg is not Ellipsis]
        return (items[-1] if items else Any), []
    if _is_model(annotation) and part in _keys(annotation):
        field = _keys(annotation)[part]
        return field.annotation, list(field.metadata)
    return Any, []


def _label(loc: tuple[int | str, ...]) -> str:
    label = ""
    for part in loc:
        label = join_label(label, f"[{part}]" if isinstance(part, int) else part)
    return label


def _unknown_field(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    section, key = _label(loc[:-1]), str(loc[-1])
    parent, _ = _field_at(model, loc[:-1])
    known = sorted(_keys(parent)) if _is_model(parent) else []
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {join_label(section, close[0])!r}?)" if close else ""
    return f"unknown field {join_label(section, key)!r}{hint}; known fields: {', '.join(known)}"


def _keys(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A section's fields by the key they are written with."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _field_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[Any, list[Any]]:
    """The type of the value at `loc` under `model`, and the metadata (constraints, rule) it was declared with."""
    annotation: Any = model
    metadata: list[Any] = []
    for part in loc:
        annotation, metadata = _field_at_part(annotation, part)
        if annotation is Any:
            return Any, []
    annotation, inner = _unwrap(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        # A model or a word ("none"): the model's rule says both.
        annotation = next((arg for arg in get_args(annotation) if _is_model(arg)), annotation)
    return annotation, metadata + inner


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """`annotation` without `| None` and Annotated[...], with the metadata Annotated carried."""
    metadata: list[Any] = []
    while True:
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        elif get_origin(annotation) in (Union, types.UnionType):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation, metadata
            annotation = options[0]
        else:
            return annotation, metadata


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _rule(annotation: Any, metadata: list[Any]) -> str:
    """What a value of the field must be, in words: its declared Rule, or one read from its type and bounds."""
    declared = next((item.text for item in metadata if isinstance(item, Rule)), None)
    if declared:
        return declared
    if _is_model(annotation):
        return str(getattr(annotation, "rule", "an object"))
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(annotation))
    if annotation is bool:
        return "true or false"
    if annotation is str:
        return "a non-empty string"
    low = next((item.ge for item in metadata if isinstance(item, annotated_types.Ge)), None)
    high = next((item.le for item in metadata if isinstance(item, annotated_types.Le)), None)
    within = f" between {_bound(low)} and {_bound(high)}" if low is not None and high is not None else ""
    if annotation is int:
        return f"an integer{within}"
    if annotation is float:
        return f"a finite number{within}"
    return "valid"


def _bound(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"
