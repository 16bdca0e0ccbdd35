"""State sections more than one step reads or writes: the preprocessing job, the training job and the deployment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lambdas.common.errors import InvalidStepEventError


@dataclass(frozen=True)
class PreprocessingState:
    """What the workflow knows about the run's processing job; GetStatus returns the same shape, updated.

    `training_data_uri` is where the job writes the transformed training data, `model_artifact` the fitted
    preprocessing (model.tar.gz) that the pipeline model's first and last containers serve.
    """

    job_name: str
    status: str
    failure_reason: str | None
    training_data_uri: str
    model_artifact: str
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> PreprocessingState:
        missing = [f for f in cls.__dataclass_fields__ if f not in raw]
        if missing:
            raise InvalidStepEventError(f"state field 'preprocessing' lacks {', '.join(missing)}")
        return cls(**{f: raw[f] for f in cls.__dataclass_fields__})

    def to_state(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainingJobState:
    """What the workflow knows about the run's training job; GetStatus returns the same shape, updated."""

    job_name: str
    status: str
    secondary_status: str | None
    failure_reason: str | None
    model_artifact: str | None
    metrics: dict[str, float]
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int

    def to_state(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeploymentState:
    """What the workflow knows about the rollout; DeployModel sets it, GetStatus updates it."""

    endpoint_name: str
    endpoint_config_name: str
    model_name: str
    action: str
    status: str
    failure_reason: str | None
    serving_new_model: bool
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> DeploymentState:
        missing = [f for f in cls.__dataclass_fields__ if f not in raw]
        if missing:
            raise InvalidStepEventError(f"state field 'deployment' lacks {', '.join(missing)}")
        return cls(**{f: raw[f] for f in cls.__dataclass_fields__})

    def to_state(self) -> dict[str, Any]:
        return asdict(self)
