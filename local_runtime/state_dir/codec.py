"""moto's records as JSON: an object's plain attributes, with dates and bytes tagged so they come back as they were.

moto has no persistence of its own, and pickling a whole backend keeps its locks, threads and open buffers (and
breaks on any of them). Only records made of plain data are kept this way: an attribute of any other type fails
the save with its path, so a moto upgrade that adds one is noticed, never silently half-kept.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

_DATE, _BYTES, _TUPLE = "$date", "$bytes", "$tuple"


class StateFormatError(ValueError):
    """A value the state directory cannot keep, or a file it cannot read back."""


def encode(value: Any, path: str = "") -> Any:
    """`value` as JSON-ready data; raises StateFormatError naming the path of what cannot be kept."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return {_DATE: value.isoformat()}
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode()}
    if isinstance(value, tuple):
        return {_TUPLE: [encode(item, f"{path}[{i}]") for i, item in enumerate(value)]}
    if isinstance(value, list | set | frozenset):
        return [encode(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise StateFormatError(f"{path}: a dict with keys that are not strings cannot be kept")
        return {key: encode(item, f"{path}.{key}") for key, item in value.items()}
    raise StateFormatError(f"{path}: a {type(value).__name__} cannot be kept")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag == _DATE:
                return datetime.fromisoformat(inner)
            if tag == _BYTES:
                return base64.b64decode(inner)
            if tag == _TUPLE:
                return tuple(decode(item) for item in inner)
        return {key: decode(item) for key, item in value.items()}
    return value


def attributes(record: object, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The record's attributes, encoded, except `skip` (references to other records, live objects)."""
    name = type(record).__name__
    return {key: encode(value, f"{name}.{key}") for key, value in vars(record).items() if key not in skip}


def rebuild(cls: type[Any], encoded: dict[str, Any], **extra: Any) -> Any:
    """A `cls` holding the saved attributes (its constructor is not run: it would draw new ids and dates)."""
    record = object.__new__(cls)
    vars(record).update({key: decode(value) for key, value in encoded.items()})
    vars(record).update(extra)
    return record
