"""The `endpoint` section: the SageMaker endpoint each deployment updates."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, StrictInt, model_validator

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
    instance_count: StrictInt = Field(default=1, ge=1, le=100)
    serverless: ServerlessConfig | None = None  # None: the endpoint runs on instance_count instances

    @model_validator(mode="before")
    @classmethod
    def _no_instances_when_serverless(cls, data: Any) -> Any:
        return refuse_instance_fields(data)
