"""Typed readers of the environment variables, whose names (contract/env.py) are re-exported here: a core reads
`names.require_str(env, names.DATA_BUCKET)` from one module."""

from __future__ import annotations

import json
from collections.abc import Mapping

from contract.env import *  # noqa: F403  (the names; the stack sets them from the same module)
from lambdas.common.errors import ConfigurationError


def require_str(env: Mapping[str, str], name: str) -> str:
    """Return a non-empty variable; raise ConfigurationError naming it otherwise."""
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def optional_str(env: Mapping[str, str], name: str) -> str | None:
    """Return the variable, or None when it is unset or blank."""
    value = env.get(name, "").strip()
    return value or None


def require_int(env: Mapping[str, str], name: str, *, minimum: int = 1) -> int:
    """Return an integer variable of at least `minimum`; raise ConfigurationError naming it otherwise."""
    raw = require_str(env, name)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"environment variable {name} must be at least {minimum}, got {value}")
    return value


def require_bool(env: Mapping[str, str], name: str) -> bool:
    """Return a boolean variable ("true" or "false"); raise ConfigurationError naming it otherwise."""
    raw = require_str(env, name).lower()
    if raw not in ("true", "false"):
        raise ConfigurationError(f"environment variable {name} must be true or false, got {raw!r}")
    return raw == "true"


def require_json_object(env: Mapping[str, str], name: str) -> dict[str, str]:
    """Return a JSON object of strings; raise ConfigurationError naming the variable otherwise."""
    raw = require_str(env, name)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"environment variable {name} is not valid JSON: {error}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigurationError(f"environment variable {name} must be a JSON object of strings")
    return value
