"""What the algorithm section tells SageMaker's containers: metric definitions for training, environment for serving."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema

from stacks.config.errors import FieldError
from stacks.config.fields import Rule, Section
from stacks.show import show

# CreateTrainingJob's AlgorithmSpecification.MetricDefinitions: at most 40, Name 1-255 and Regex 1-500 characters
# (botocore's SageMaker service model, shapes MetricDefinition and MetricDefinitionList).
MAX_METRIC_DEFINITIONS = 40
MAX_METRIC_NAME_LENGTH = 255
MAX_METRIC_REGEX_LENGTH = 500
# CreateModel's ContainerDefinition.Environment: at most 100 entries, keys [a-zA-Z_][a-zA-Z0-9_]* and keys and
# values of at most 1024 characters (the same service model, shape EnvironmentMap).
MAX_ENVIRONMENT_ENTRIES = 100
MAX_ENVIRONMENT_LENGTH = 1024
_ENVIRONMENT_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _compiles(regex: str) -> str:
    """SageMaker searches each log line with the regex and reads the metric from its first group."""
    try:
        pattern = re.compile(regex)
    except re.error as error:
        raise ValueError(f"must be a regular expression that compiles ({error}), got {regex!r}") from None
    if pattern.groups < 1:
        raise ValueError(f"must capture the metric's value in a group, like 'loss=([0-9.]+)', got {regex!r}")
    return regex


class MetricDefinition(Section):
    """A metric SageMaker reads from the training job's log: `Name` and the `Regex` whose group is the value."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_METRIC_NAME_LENGTH)] = Field(alias="Name")
    regex: Annotated[
        str,
        Field(min_length=1, max_length=MAX_METRIC_REGEX_LENGTH),
        AfterValidator(_compiles),
        Rule("a regular expression with a group for the value, like 'validation-rmse=([0-9.]+)'"),
    ] = Field(alias="Regex")


MetricDefinitions = Annotated[
    tuple[MetricDefinition, ...],
    Field(max_length=MAX_METRIC_DEFINITIONS),
    Rule('a list of {"Name", "Regex"} objects', too_many="metric definitions"),
]


def check_unique_metric_names(definitions: tuple[MetricDefinition, ...]) -> None:
    """Raise FieldError naming the second definition of a metric name."""
    seen: set[str] = set()
    for index, definition in enumerate(definitions):
        if definition.name in seen:
            raise FieldError(f"metric_definitions[{index}].Name", f"{definition.name!r} is defined twice")
        seen.add(definition.name)


def _environment(raw: Any) -> Mapping[str, str]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"must be an object of strings, got {show(raw)}")
    if len(raw) > MAX_ENVIRONMENT_ENTRIES:
        raise ValueError(f"may hold at most {MAX_ENVIRONMENT_ENTRIES} variables, got {len(raw)}")
    for key, value in raw.items():
        if not isinstance(key, str) or not _ENVIRONMENT_KEY.match(key) or len(key) > MAX_ENVIRONMENT_LENGTH:
            raise ValueError(f"keys must be variable names like MODEL_SERVER_WORKERS, got {show(key)}")
        if not isinstance(value, str) or len(value) > MAX_ENVIRONMENT_LENGTH:
            raise FieldError(key, f"must be a string of at most {MAX_ENVIRONMENT_LENGTH} characters, got {show(value)}")
    return MappingProxyType(dict(raw))


ContainerEnvironment = Annotated[
    Mapping[str, str],
    PlainValidator(_environment),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_ENVIRONMENT_ENTRIES,
            "propertyNames": {"pattern": _ENVIRONMENT_KEY.pattern, "maxLength": MAX_ENVIRONMENT_LENGTH},
            "additionalProperties": {"type": "string", "maxLength": MAX_ENVIRONMENT_LENGTH},
            "description": "the model container's environment variables",
        }
    ),
]
