"""The `endpoint` section: the SageMaker endpoint each deployment updates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StrictInt, model_validator

from stacks.config.autoscaling import AutoscalingConfig
from stacks.config.errors import FieldError
from stacks.config.fields import InstanceType, Rule, Section, derived_in_schema
from stacks.config.serverless import ServerlessConfig, refuse_instance_fields

_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SageMakerName = Annotated[
    str,
    Field(pattern=_SAGEMAKER_NAME.pattern),
    Rule("a SageMaker name: up to 63 letters, digits or hyphens, starting and ending with a letter or digit"),
]


class EndpointConfig(Section):
    """The endpoint; its `name` is the pipeline's unless given (PipelineConfig fills it in)."""

    model_config = derived_in_schema(name="the pipeline's name")

    name: SageMakerName
    instance_type: InstanceType = "ml.m5.large"
    # Without autoscaling, 1; with it, autoscaling.min unless given.
    instance_count: StrictInt = Field(default=1, ge=1, le=100)
    serverless: ServerlessConfig | None = None  # None: the endpoint runs on instance_count instances
    autoscaling: AutoscalingConfig | None = None  # None: the instance count stays as configured

    @model_validator(mode="before")
    @classmethod
    def _count_starts_at_the_minimum(cls, data: Any) -> Any:
        data = refuse_instance_fields(data)  # first: a serverless endpoint takes no instance fields at all
        if not isinstance(data, Mapping) or data.get("instance_count") is not None:
            return data
        scaling = data.get("autoscaling")
        low = scaling.get("min") if isinstance(scaling, Mapping) else None
        if isinstance(low, int) and not isinstance(low, bool) and low >= 1:
            return {**data, "instance_count": low}
        return data

    @model_validator(mode="after")
    def _scalable(self) -> EndpointConfig:
        scaling = self.autoscaling
        if scaling is None:
            return self
        if self.serverless is not None:
            raise FieldError(
                "autoscaling",
                lambda label: (
                    f"is for instance endpoints: a serverless endpoint scales itself, up to "
                    f"{label('serverless.max_concurrency')}"
                ),
            )
        if self.instance_type.startswith(_BURSTABLE):
            # "Amazon SageMaker automatic scaling doesn't support automatic scaling for burstable instances such as
            # T2" (Developer Guide, "Configure model auto scaling with the console").
            kind = self.instance_type
            raise FieldError(
                "autoscaling",
                lambda label: (
                    f"needs a non-burstable {label('instance_type')}: SageMaker does not scale {kind} "
                    "(burstable ml.t* instances) automatically"
                ),
            )
        if not scaling.min <= self.instance_count <= scaling.max:
            # RegisterScalableTarget would move the count into the range at once: a count outside it is a
            # contradiction to resolve, not a start.
            count, low, high = self.instance_count, scaling.min, scaling.max
            raise FieldError(
                "instance_count",
                lambda label: (
                    f"({count}) must be within {label('autoscaling.min')} ({low}) and "
                    f"{label('autoscaling.max')} ({high}): it is the count the endpoint starts with"
                ),
            )
        return self


_BURSTABLE = ("ml.t2.", "ml.t3.", "ml.t3a.", "ml.t4g.")
