"""The `endpoint.autoscaling` section: Application Auto Scaling of the endpoint's variant, target tracking on
SageMakerVariantInvocationsPerInstance (the workflow registers it once the endpoint serves: see
lambdas/common/autoscaling.py)."""

from __future__ import annotations

from pydantic import Field, StrictInt, model_validator

from stacks.config.errors import FieldError
from stacks.config.fields import Section

# The endpoint's own instance_count takes 1 to 100; the scaling range stays within it.
MAX_INSTANCES = 100
# Application Auto Scaling takes cooldowns in seconds; a day is far beyond any useful one.
MAX_COOLDOWN_SECONDS = 86_400


class AutoscalingConfig(Section):
    """Target tracking: SageMaker adds instances when the variant's invocations per instance (per minute) stay above
    the target and removes them when they stay below, between `min` and `max` instances."""

    # RegisterScalableTarget: "MinCapacity ... must be set to at least 1 and must be equal to or less than
    # MaxCapacity" for a SageMaker variant (Developer Guide, "Register a model").
    min: StrictInt = Field(ge=1, le=MAX_INSTANCES)
    max: StrictInt = Field(ge=1, le=MAX_INSTANCES)
    # SageMakerVariantInvocationsPerInstance: the average invocations per instance per minute.
    target_invocations_per_instance: StrictInt = Field(ge=1, le=1_000_000)
    # Out within a minute of a burst, in only after five calm minutes, so a short lull does not remove an instance
    # the next burst needs (Application Auto Scaling's own default for both is 300 s).
    scale_in_cooldown_seconds: StrictInt = Field(default=300, ge=0, le=MAX_COOLDOWN_SECONDS)
    scale_out_cooldown_seconds: StrictInt = Field(default=60, ge=0, le=MAX_COOLDOWN_SECONDS)

    @model_validator(mode="after")
    def _min_at_most_max(self) -> AutoscalingConfig:
        if self.min > self.max:
            low, high = self.min, self.max
            raise FieldError(
                "min", lambda label: f"({low}) must be at most {label('max')} ({high}): the range scales between them"
            )
        return self
