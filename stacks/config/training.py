"""The `training` section: the training job's resources, Managed Spot training, and how the window's data is
checked before it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, StrictBool, StrictInt, model_validator

from stacks.config.errors import FieldError
from stacks.config.fields import InstanceType, Section

# One GetObject per file when StartTrainingJob checks the data, within its 15 minutes (see its validation
# module); and CheckData lists 1,000 keys per request.
DEFAULT_MAX_FILES_PER_RUN = 100_000
MAX_FILES_PER_RUN_LIMIT = 1_000_000
# CreateTrainingJob's StoppingCondition allows up to 28 days of MaxRuntimeInSeconds.
MAX_RUNTIME_LIMIT_SECONDS = 2_419_200
# The run waits for a spot job at most a year (Step Functions' longest execution).
MAX_SPOT_WAIT_SECONDS = 31_536_000


class SpotConfig(Section):
    """Managed Spot training: the job runs on spot capacity, checkpointing to the run's own S3 prefix."""

    # StoppingCondition.MaxWaitTimeInSeconds: "the amount of time spent waiting for Spot capacity plus the amount of
    # time the job can run. It must be equal to or greater than MaxRuntimeInSeconds" (SageMaker API reference,
    # StoppingCondition).
    max_wait_seconds: StrictInt = Field(ge=1, le=MAX_SPOT_WAIT_SECONDS)


class TrainingConfig(Section):
    instance_type: InstanceType = "ml.m5.large"
    instance_count: StrictInt = Field(default=1, ge=1, le=100)
    volume_size_gb: StrictInt = Field(default=30, ge=1, le=16_384)
    max_runtime_seconds: StrictInt = Field(default=86_400, ge=1, le=MAX_RUNTIME_LIMIT_SECONDS)
    validate_data: StrictBool = True  # StartTrainingJob checks every file is numeric CSV before training
    # CheckData refuses a window with more files
    max_files_per_run: StrictInt = Field(default=DEFAULT_MAX_FILES_PER_RUN, ge=1, le=MAX_FILES_PER_RUN_LIMIT)
    spot: SpotConfig | None = None  # None: on-demand instances

    @model_validator(mode="after")
    def _spot_waits_at_least_the_runtime(self) -> TrainingConfig:
        """SageMaker refuses a MaxWaitTimeInSeconds below MaxRuntimeInSeconds (API reference, StoppingCondition)."""
        if self.spot is not None and self.spot.max_wait_seconds < self.max_runtime_seconds:
            wait, runtime = self.spot.max_wait_seconds, self.max_runtime_seconds
            raise FieldError(
                "spot.max_wait_seconds",
                lambda label: (
                    f"({wait}) must be at least {label('max_runtime_seconds')} ({runtime}): it is the time spent "
                    "waiting for spot capacity plus the time the job runs, and SageMaker refuses a "
                    "StoppingCondition.MaxWaitTimeInSeconds below MaxRuntimeInSeconds"
                ),
            )
        return self


# SageMaker ends a spot job at MaxWaitTimeInSeconds; the run waits this much longer, for the Stopping that follows.
SPOT_STOPPING_MARGIN_SECONDS = 900
# "SageMaker built-in algorithms and marketplace algorithms that do not checkpoint are currently limited to a
# MaxWaitTimeInSeconds of 3600 seconds" (Developer Guide, Managed Spot Training). Of the built-ins this project
# runs, XGBoost checkpoints (0.90-1 or later: Developer Guide, Checkpoints in Amazon SageMaker) and Linear Learner
# does not.
NON_CHECKPOINTING_MAX_WAIT_SECONDS = 3_600
CHECKPOINTING_BUILTINS = frozenset({"xgboost"})


def with_spot_training_wait(data: Any) -> Any:
    """A raw pipeline whose spot job may take longer than the default wait: polling.max_training_wait_seconds, when
    not given, becomes training.spot.max_wait_seconds plus the margin for Stopping. Anything else as it is."""
    if not isinstance(data, Mapping):
        return data
    training, polling = data.get("training"), data.get("polling") or {}
    spot = training.get("spot") if isinstance(training, Mapping) else None
    wait = spot.get("max_wait_seconds") if isinstance(spot, Mapping) else None
    if isinstance(wait, bool) or not isinstance(wait, int) or not isinstance(polling, Mapping):
        return data  # an invalid value is its own field's error
    if polling.get("max_training_wait_seconds") is not None:
        return data
    derived = min(wait + SPOT_STOPPING_MARGIN_SECONDS, MAX_SPOT_WAIT_SECONDS)
    return {**data, "polling": {**polling, "max_training_wait_seconds": derived}}


def check_spot_fits(training: TrainingConfig, *, max_training_wait_seconds: int, builtin: str | None) -> None:
    """A spot job's max wait must fit the run's wait for training and, for a built-in that does not checkpoint,
    SageMaker's one hour. Raises FieldError naming the fields, relative to the pipeline."""
    spot = training.spot
    if spot is None:
        return
    if max_training_wait_seconds < spot.max_wait_seconds:
        raise FieldError(
            "polling.max_training_wait_seconds",
            f"({max_training_wait_seconds}) must be at least training.spot.max_wait_seconds ({spot.max_wait_seconds}): "
            "SageMaker may keep a spot job going that long (waiting for capacity, restarting after interruptions) "
            "and the run would give up on it first; leave it out to wait training.spot.max_wait_seconds plus "
            f"{SPOT_STOPPING_MARGIN_SECONDS} s",
        )
    if (
        builtin is not None
        and builtin not in CHECKPOINTING_BUILTINS
        and (spot.max_wait_seconds > NON_CHECKPOINTING_MAX_WAIT_SECONDS)
    ):
        raise FieldError(
            "training.spot.max_wait_seconds",
            f"({spot.max_wait_seconds}) may be at most {NON_CHECKPOINTING_MAX_WAIT_SECONDS} for {builtin}: SageMaker "
            "limits built-in algorithms that do not checkpoint to that MaxWaitTimeInSeconds (built-in xgboost "
            "checkpoints)",
        )
