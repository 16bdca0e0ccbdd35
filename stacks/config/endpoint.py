"""The `endpoint` section: the SageMaker endpoint each deployment updates."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StrictInt

from stacks.config.fields import InstanceType, Rule, Section, derived_in_schema

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
    instance_count: StrictInt = Field(default=1, ge=1, le=100)
