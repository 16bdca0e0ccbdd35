"""The `rollout` section: a guarded deployment (UpdateEndpoint's DeploymentConfig) and the alarms that roll it back."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, StrictInt, model_validator

from stacks.config.errors import FieldError
from stacks.config.fields import Section

RolloutStrategy = Literal["all_at_once", "canary", "linear"]
ROLLOUT_STRATEGIES: tuple[str, ...] = get_args(RolloutStrategy)
# SageMaker's documented limits: TrafficRoutingConfig.WaitIntervalInSeconds 0..3600; CanarySize at most 50% of the
# fleet; LinearStepSize 10..50%; BlueGreenUpdatePolicy.TerminationWaitInSeconds 0..3600 and
# MaximumExecutionTimeoutInSeconds 600..28800, larger than the waits; AutoRollbackConfig 1..10 alarms.
ROLLOUT_MAX_WAIT_SECONDS = 3_600
ROLLOUT_CANARY_PERCENT = (1, 50)
ROLLOUT_LINEAR_STEP_PERCENT = (10, 50)
ROLLOUT_EXECUTION_TIMEOUT_SECONDS = (600, 28_800)
# SageMaker publishes endpoint metrics every minute; CloudWatch caps EvaluationPeriods x Period at one day.
ROLLOUT_ALARM_PERIOD_SECONDS = 60
ROLLOUT_MAX_EVALUATION_PERIODS = 86_400 // ROLLOUT_ALARM_PERIOD_SECONDS
# Each traffic shift's size when the strategy's own key is left out: the canary's share, the linear step.
_DEFAULT_SIZES = {"canary": ("canary_percent", 10), "linear": ("linear_step_percent", 20)}


class RolloutAlarmsConfig(Section):
    """The CloudWatch alarms whose ALARM state rolls a deployment back, each over one-minute periods."""

    # alarm when a minute has more 5xx answers than this (0: any)
    max_5xx_errors: StrictInt = Field(default=0, ge=0, le=1_000_000)
    # alarm when a minute's average ModelLatency is above; null: no alarm
    max_model_latency_ms: Annotated[StrictInt, Field(ge=1, le=3_600_000)] | None = 1_000
    # consecutive breaching minutes before the alarm fires
    evaluation_periods: StrictInt = Field(default=1, ge=1, le=ROLLOUT_MAX_EVALUATION_PERIODS)


class RolloutConfig(Section):
    """Blue/green traffic shifting with baking periods and automatic rollback on the stack's alarms."""

    strategy: RolloutStrategy
    wait_seconds: StrictInt = Field(default=300, ge=0, le=ROLLOUT_MAX_WAIT_SECONDS)  # each baking period
    # canary only: the canary's share of the new fleet's capacity
    canary_percent: Annotated[StrictInt, Field(ge=ROLLOUT_CANARY_PERCENT[0], le=ROLLOUT_CANARY_PERCENT[1])] | None = (
        None
    )
    # linear only: each step's share of the new fleet's capacity
    linear_step_percent: (
        Annotated[StrictInt, Field(ge=ROLLOUT_LINEAR_STEP_PERCENT[0], le=ROLLOUT_LINEAR_STEP_PERCENT[1])] | None
    ) = None
    # after the last bake, before the old fleet is terminated
    termination_wait_seconds: StrictInt = Field(default=0, ge=0, le=ROLLOUT_MAX_WAIT_SECONDS)
    # MaximumExecutionTimeoutInSeconds; null: SageMaker's default
    max_execution_seconds: (
        Annotated[StrictInt, Field(ge=ROLLOUT_EXECUTION_TIMEOUT_SECONDS[0], le=ROLLOUT_EXECUTION_TIMEOUT_SECONDS[1])]
        | None
    ) = None
    alarms: RolloutAlarmsConfig = Field(default_factory=RolloutAlarmsConfig)

    @model_validator(mode="before")
    @classmethod
    def _size_of_the_strategy(cls, data: Any) -> Any:
        """A traffic shift's size belongs to its strategy, and defaults there."""
        if not isinstance(data, Mapping):
            return data
        chosen = data.get("strategy")
        if chosen not in ROLLOUT_STRATEGIES:
            return data
        for strategy, (key, default) in _DEFAULT_SIZES.items():
            if chosen != strategy and data.get(key) is not None:
                raise FieldError(key, f"applies to strategy {strategy!r} only, not {chosen!r}")
            if chosen == strategy and data.get(key) is None:
                data = {**data, key: default}
        return data

    @model_validator(mode="after")
    def _timeout_after_the_waits(self) -> RolloutConfig:
        timeout = self.max_execution_seconds
        if timeout is not None and timeout <= self.total_wait_seconds:
            raise FieldError(
                "max_execution_seconds",
                lambda label: (
                    f"({timeout}) must be larger than the rollout's waits: {self.baking_periods} baking period(s) of "
                    f"{label('wait_seconds')} ({self.wait_seconds}) plus "
                    f"{label('termination_wait_seconds')} ({self.termination_wait_seconds}) = "
                    f"{self.total_wait_seconds} s"
                ),
            )
        return self

    @property
    def baking_periods(self) -> int:
        """How many baking periods a rollout waits: one per traffic shift (the last one shifts the rest)."""
        if self.strategy == "canary":
            return 2
        if self.strategy == "linear" and self.linear_step_percent:
            return math.ceil(100 / self.linear_step_percent)
        return 1

    @property
    def total_wait_seconds(self) -> int:
        """The waits of a rollout that never trips an alarm: every baking period, then the termination wait."""
        return self.baking_periods * self.wait_seconds + self.termination_wait_seconds
