"""Loading the app's configuration: the pipelines from cdk.json's context or a file, and the tags."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter, ValidationError

from stacks.config.errors import ConfigError
from stacks.config.messages import config_error
from stacks.config.pipeline import PIPELINE_NAME_RULE, PipelineConfig, PipelineName
from stacks.show import show

# A pipelines file may name its JSON Schema (schema/pipelines.schema.json) so editors validate it.
SCHEMA_KEY = "$schema"
_TAG_KEY = re.compile(r"^[\w .:/=+@-]{1,128}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{0,256}$")
_PIPELINE_NAME = TypeAdapter(PipelineName)


@dataclass(frozen=True)
class AppConfig:
    """Everything app.py builds: the pipelines and the tags put on every resource."""

    pipelines: tuple[PipelineConfig, ...]
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def load_app_config(
    *, pipelines: Any = None, config_file: Any = None, tags: Any = None, project_root: Path
) -> AppConfig:
    """Build the app's configuration from the context keys `pipelines`, `config_file` and `tags`.

    `config_file` names a JSON file, relative to `project_root`, holding `{"pipelines": [...]}` (and optionally
    its `"$schema"`); when set it replaces the `pipelines` list (so `cdk synth -c config_file=prod.json` works
    although cdk.json holds an example list). Raises ConfigError naming the pipeline and the field of the first
    problem found.
    """
    if config_file is not None:
        pipelines = _read_config_file(config_file, project_root)
    if pipelines is None:
        raise ConfigError("no pipelines configured: set the context key 'pipelines' or 'config_file'")
    return AppConfig(pipelines=parse_pipelines(pipelines), tags=_parse_tags(tags))


def parse_pipelines(raw: Any) -> tuple[PipelineConfig, ...]:
    """Validate a list of raw pipeline objects; raise ConfigError for the first invalid one."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"pipelines must be a non-empty list of objects, got {show(raw)}")
    configs = tuple(parse_pipeline(item, index=index) for index, item in enumerate(raw))
    _check_unique(configs)
    return configs


def parse_pipeline(raw: Any, *, index: int = 0) -> PipelineConfig:
    """Validate one raw pipeline object; raise ConfigError naming the pipeline and the field."""
    where = f"pipelines[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be an object, got {show(raw)}")
    if "name" not in raw:
        raise ConfigError(f"{where}: name is required")
    # Until the name is known the errors name the pipeline by its position; from then on by its name.
    name = raw["name"]
    try:
        _PIPELINE_NAME.validate_python(name)
    except ValidationError:
        raise ConfigError(f"{where}: name must be {PIPELINE_NAME_RULE}, got {show(name)}") from None
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as error:
        raise config_error(error, model=PipelineConfig, where=f"pipeline {name!r}") from None


def _check_unique(configs: Sequence[PipelineConfig]) -> None:
    names: set[str] = set()
    endpoints: dict[str, str] = {}
    for config in configs:
        if config.name in names:
            raise ConfigError(f"pipeline {config.name!r}: name is used by another pipeline")
        names.add(config.name)
    for config in configs:
        # IAM scopes a pipeline's training jobs, models and endpoint configs by "<name>-*": with pipelines
        # "churn" and "churn-v2", churn's functions could act on churn-v2's jobs.
        for other in names:
            if config.name.startswith(f"{other}-"):
                raise ConfigError(
                    f"pipeline {config.name!r}: name starts with {other!r} and a hyphen, the name of "
                    "another pipeline; SageMaker permissions are scoped by the prefix '<name>-', so pick "
                    "another name"
                )
        # SageMaker resource names are case-insensitive (their ARNs are lowercase).
        endpoint = config.endpoint.name.lower()
        if endpoint in endpoints:
            raise ConfigError(
                f"pipeline {config.name!r}: endpoint.name {config.endpoint.name!r} is already the endpoint "
                f"of pipeline {endpoints[endpoint]!r}"
            )
        endpoints[endpoint] = config.name


def _parse_tags(raw: Any) -> Mapping[str, str]:
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        raise ConfigError(f"tags must be an object of strings, got {show(raw)}")
    for key, value in raw.items():
        if not isinstance(key, str) or not _TAG_KEY.match(key) or key.lower().startswith("aws:"):
            raise ConfigError(f"tags: key {key!r} is not a valid tag key")
        if not isinstance(value, str) or not _TAG_VALUE.match(value):
            raise ConfigError(f"tags.{key} must be a string of up to 256 characters, got {show(value)}")
    return MappingProxyType(dict(raw))


def _read_config_file(config_file: Any, project_root: Path) -> Any:
    if not isinstance(config_file, str) or not config_file:
        raise ConfigError(f"config_file must be the path of a JSON file, got {show(config_file)}")
    path = project_root / config_file
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config_file {config_file!r}: no such file under {project_root}") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"config_file {config_file!r}: invalid JSON: {error}") from None
    if not isinstance(document, Mapping) or set(document) - {SCHEMA_KEY} != {"pipelines"}:
        raise ConfigError(
            f'config_file {config_file!r}: must hold exactly {{"pipelines": [...]}} (and optionally "{SCHEMA_KEY}")'
        )
    return document["pipelines"]
