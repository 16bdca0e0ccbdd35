"""The held-out evaluation's settings, read by the steps that start it, wait for it, read it and clean it up."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError


@dataclass(frozen=True)
class EvaluationSettings:
    """The EVALUATION variable: what the built-in evaluator scores and where the transform jobs write."""

    task: str
    algorithm: str
    hyperparameters: dict[str, str]  # those that say how the model answers (predictor_type, objective)
    accept: str
    instance_type: str
    output_prefix: str
    max_wait_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EvaluationSettings | None:
        """None when the pipeline's models are not scored on the holdout; ConfigurationError if malformed."""
        raw = names.optional_str(env, names.EVALUATION)
        if raw is None:
            return None
        try:
            spec = json.loads(raw)
            return cls(
                task=str(spec["task"]),
                algorithm=str(spec["algorithm"]),
                hyperparameters={str(k): str(v) for k, v in dict(spec.get("hyperparameters") or {}).items()},
                accept=str(spec["accept"]),
                instance_type=str(spec["instance_type"]),
                output_prefix=str(spec["output_prefix"]).strip("/"),
                max_wait_seconds=int(spec["max_wait_seconds"]),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ConfigurationError(
                f"environment variable {names.EVALUATION} must be a JSON object of the evaluation's settings: {error!r}"
            ) from None
