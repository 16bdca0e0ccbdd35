"""State sections more than one step reads or writes: the preprocessing, training and transform jobs, the
deployment."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self

from lambdas.common.errors import InvalidStepEventError


class StateSection:
    """A dataclass read from and written to one section of the workflow state (`SECTION`)."""

    SECTION: ClassVar[str]

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> Self:
        """Read the section; raise InvalidStepEventError naming the fields a previous step did not set."""
        fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]  # every subclass is a dataclass
        missing = [f for f in fields if f not in raw]
        if missing:
            raise InvalidStepEventError(f"state field '{cls.SECTION}' lacks {', '.join(missing)}")
        return cls(**{f: raw[f] for f in fields})

    def to_state(self) -> dict[str, Any]:
        fields: dict[str, Any] = asdict(self)  # type: ignore[call-overload]  # every subclass is a dataclass
        return fields


@dataclass(frozen=True)
class PreprocessingState(StateSection):
    """What the workflow knows about the run's processing job; GetStatus returns the same shape, updated.

    `training_data_uri` is where the job writes the transformed training data, `model_artifact` the fitted
    preprocessing (model.tar.gz) that the pipeline model's first and last containers serve.
    """

    SECTION: ClassVar[str] = "preprocessing"

    job_name: str
    status: str
    failure_reason: str | None
    training_data_uri: str
    model_artifact: str
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int


@dataclass(frozen=True)
class BatchTransformState(StateSection):
    """The transform job after deployment: the newest day's data through the deployed model, predictions beside."""

    SECTION: ClassVar[str] = "batch_transform"

    job_name: str
    status: str
    failure_reason: str | None
    day: str
    input_uri: str
    output_uri: str
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int


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
class DeploymentState(StateSection):
    """What the workflow knows about the rollout; DeployModel sets it, GetStatus updates it."""

    SECTION: ClassVar[str] = "deployment"

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
