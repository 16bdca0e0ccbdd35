"""The held-out evaluation's settings, read by the steps that start, wait for, read and clean it up."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError

BUILTIN, SCRIPT = "builtin", "script"


@dataclass(frozen=True)
class EvaluationScript:
    """The user's evaluation script: its packed source directory, the file to run and the image it runs in."""

    code_uri: str
    entry_point: str
    image: str
    volume_size_gb: int


@dataclass(frozen=True)
class EvaluationSettings:
    """The EVALUATION variable: who scores the models (the built-in evaluators in transform jobs, or the user's
    script in a processing job) and where their output goes.

    `algorithm`, `accept` and `hyperparameters` say how the built-in evaluators read a built-in's answers (empty
    with a script); `task` is the built-in model's task, None for a script's model of unknown task.
    """

    task: str | None
    instance_type: str
    output_prefix: str
    max_wait_seconds: int
    algorithm: str = ""
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    accept: str = ""
    script: EvaluationScript | None = None
    kind: str = BUILTIN

    @property
    def uses_script(self) -> bool:
        return self.script is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EvaluationSettings | None:
        """None when the pipeline's models are not scored on the holdout; ConfigurationError if malformed."""
        raw = names.optional_str(env, names.EVALUATION)
        if raw is None:
            return None
        try:
            spec = json.loads(raw)
            if not isinstance(spec, dict):
                raise TypeError(f"a JSON object is needed, got {type(spec).__name__}")
            kind = str(spec.get("kind", BUILTIN))
            common: dict[str, Any] = {
                "kind": kind,
                "task": None if spec.get("task") is None else str(spec["task"]),
                "instance_type": str(spec["instance_type"]),
                "output_prefix": str(spec["output_prefix"]).strip("/"),
                "max_wait_seconds": int(spec["max_wait_seconds"]),
            }
            if kind == SCRIPT:
                script = dict(spec["script"])
                return cls(
                    **common,
                    script=EvaluationScript(
                        code_uri=str(script["code_uri"]),
                        entry_point=str(script["entry_point"]),
                        image=str(script["image"]),
                        volume_size_gb=int(script["volume_size_gb"]),
                    ),
                )
            if kind != BUILTIN:
                raise ValueError(f"kind must be {BUILTIN} or {SCRIPT}, got {kind!r}")
            if common["task"] is None:
                raise KeyError("task")
            return cls(
                **common,
                algorithm=str(spec["algorithm"]),
                hyperparameters={str(k): str(v) for k, v in dict(spec.get("hyperparameters") or {}).items()},
                accept=str(spec["accept"]),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ConfigurationError(
                f"environment variable {names.EVALUATION} must be a JSON object of the evaluation's settings: {error!r}"
            ) from None
