"""The `quality_gate` and `registry` sections: when a trained model may replace production, and who approves it."""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import Field, StrictFloat, StrictInt, model_validator

from stacks.config.errors import FieldError
from stacks.config.fields import Rule, Section

# SageMaker's metric names: `channel:name` as the algorithm's metric definitions give them.
_METRIC_NAME = re.compile(r"^.{1,255}$")
GateDirection = Literal["minimize", "maximize"]
GATE_DIRECTIONS: tuple[str, ...] = get_args(GateDirection)
ApprovalMode = Literal["automatic", "manual"]
APPROVAL_MODES: tuple[str, ...] = get_args(ApprovalMode)
# Step Functions waits for a task token at most a year.
MAX_APPROVAL_TIMEOUT_HOURS = 8_760

FiniteNumber = Annotated[StrictFloat, Field(allow_inf_nan=False)]


class QualityGateConfig(Section):
    """When a trained model may replace the one in production, judged on one of its training job's metrics.

    `threshold` is absolute (at most it when minimizing, at least it when maximizing);
    `max_regression_percent` allows the new model to be worse than the production model by that much.
    """

    metric: Annotated[
        str, Field(pattern=_METRIC_NAME.pattern), Rule("a training job metric name like train:objective_loss")
    ]
    direction: GateDirection
    threshold: FiniteNumber | None = None
    max_regression_percent: Annotated[FiniteNumber, Field(ge=0, le=1000)] | None = None

    @model_validator(mode="after")
    def _judges_something(self) -> QualityGateConfig:
        if self.threshold is None and self.max_regression_percent is None:
            raise FieldError(
                "threshold", "or max_regression_percent must be set: a gate with neither would pass every model"
            )
        return self


class RegistryConfig(Section):
    """How a registered model version gets approved: at once, or by a person within the timeout."""

    approval: ApprovalMode = "automatic"
    approval_timeout_hours: StrictInt = Field(default=168, ge=1, le=MAX_APPROVAL_TIMEOUT_HOURS)

    @property
    def manual(self) -> bool:
        return self.approval == "manual"
