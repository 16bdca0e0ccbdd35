"""The `algorithm` section and the `hyperparameters` passed to it: a built-in algorithm, a SageMaker framework running
the caller's script (Script Mode), or the caller's own image."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema, model_validator

from stacks.config.containers import ContainerEnvironment, MetricDefinitions, check_unique_metric_names
from stacks.config.errors import FieldError
from stacks.config.fields import EcrImage, EcrImageUri, Rule, Section
from stacks.image_tables import FRAMEWORKS, Framework, image_table
from stacks.show import show

LINEAR_LEARNER: Final = "linear-learner"
XGBOOST: Final = "xgboost"
BuiltinAlgorithm = Literal["linear-learner", "xgboost"]
BUILTIN_ALGORITHMS: tuple[str, ...] = get_args(BuiltinAlgorithm)
LINEAR_LEARNER_PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
# Built-in XGBoost refuses a job without num_round (aws/sagemaker-xgboost-container,
# src/sagemaker_xgboost_container/algorithm_mode/hyperparameter_validation.py: IntegerHyperparameter num_round,
# required=True, at least 1).
XGBOOST_REQUIRED_HYPERPARAMETERS = ("num_round",)
# SageMaker's CreateTrainingJob limits: 100 entries, keys up to 256 and values up to 2500 characters.
MAX_HYPERPARAMETERS = 100
MAX_HYPERPARAMETER_KEY_LENGTH = 256
MAX_HYPERPARAMETER_VALUE_LENGTH = 2500
# The hyperparameters the SageMaker Python SDK adds for a framework's script (sagemaker/estimator.py,
# Framework._script_mode_hyperparam_update); the pipeline sets them, so the config may not.
SCRIPT_MODE_HYPERPARAMETERS = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "sagemaker_region",
)
# The model container variables FrameworkModel._script_mode_env_vars sets (sagemaker/model.py).
SCRIPT_MODE_ENVIRONMENT = (
    "SAGEMAKER_PROGRAM",
    "SAGEMAKER_SUBMIT_DIRECTORY",
    "SAGEMAKER_CONTAINER_LOG_LEVEL",
    "SAGEMAKER_REGION",
)
# Linear Learner has one image, tagged 1 (stacks/data/linear_learner_registries.json).
_BUILTIN_VERSIONS: dict[str, tuple[str, ...]] = {LINEAR_LEARNER: ("1",), XGBOOST: image_table(XGBOOST).versions}
DEFAULT_ENTRY_POINT = "train.py"
# Which fields each kind of algorithm takes, beside its own key.
_TAKES: dict[str, frozenset[str]] = {
    "builtin": frozenset({"version"}),
    "framework": frozenset({"version", "py_version", "entry_point", "source_dir", "environment", "metric_definitions"}),
    "image_uri": frozenset({"inference_image_uri", "environment", "metric_definitions"}),
}
_OPTIONAL = frozenset().union(*_TAKES.values())


def _script_name(value: str) -> str:
    if "/" in value or "\\" in value:
        raise ValueError(f"must be a file name in source_dir (no directories), got {value!r}")
    if not value.endswith(".py") or not value[:-3].isidentifier():
        raise ValueError(f"must be a Python file name like train.py, got {value!r}")
    return value


def _inside_the_project(source_dir: str) -> str:
    if source_dir.startswith("/") or ".." in source_dir.split("/"):
        raise ValueError(f"must be a directory inside the project, got {show(source_dir)}")
    return source_dir.rstrip("/")


EntryPoint = Annotated[str, AfterValidator(_script_name), Rule("a Python file name like train.py")]
SourceDir = Annotated[
    str, Field(min_length=1), AfterValidator(_inside_the_project), Rule("a directory relative to the project root")
]


class AlgorithmConfig(Section):
    """A built-in algorithm (`builtin`), a SageMaker framework running the caller's script (`framework`), or the
    caller's own training image and optional inference image (`image_uri`)."""

    builtin: (
        Annotated[BuiltinAlgorithm, Rule(f"one of {', '.join(BUILTIN_ALGORITHMS)} (or use framework or image_uri)")]
        | None
    ) = LINEAR_LEARNER
    framework: Framework | None = None
    version: str | None = Field(
        default=None,
        description="built-in xgboost: the algorithm's version (default the newest supported); framework: required",
    )
    py_version: str | None = Field(
        default=None, description="framework only; default the one Python version the framework's image has"
    )
    entry_point: EntryPoint | None = None  # framework only; default train.py
    source_dir: SourceDir | None = None  # framework only: packed as sourcedir.tar.gz
    image: EcrImageUri | None = Field(default=None, alias="image_uri")
    inference_image: EcrImageUri | None = Field(default=None, alias="inference_image_uri")
    environment: ContainerEnvironment = Field(default_factory=dict)  # the model container's, framework or image
    metric_definitions: MetricDefinitions = ()  # framework or image: read from the training job's log

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        """Exactly one of builtin, framework and image_uri; without any of them, Linear Learner."""
        if not isinstance(data, Mapping):
            return data
        given = [key for key in ("builtin", "framework", "image_uri") if data.get(key) is not None]
        if len(given) > 1:
            raise FieldError(given[0], f"and {given[1]} are exclusive: give one of them")
        kind = given[0] if given else "builtin"
        if kind != "image_uri" and data.get("inference_image_uri") is not None:
            raise FieldError(
                "inference_image_uri", "needs image_uri: a built-in algorithm or framework serves its own image"
            )
        for key in sorted(_OPTIONAL - _TAKES[kind]):
            if data.get(key) not in (None, {}, []):
                raise FieldError(key, f"is not taken by {_kind_label(kind, data)}: {_TAKES_HINT[key]}")
        values = {key: value for key, value in data.items() if value is not None}
        if kind != "builtin":
            values["builtin"] = None
        if kind == "framework":
            values.setdefault("entry_point", DEFAULT_ENTRY_POINT)
        return _with_default_versions(values)

    @model_validator(mode="after")
    def _versions_exist(self) -> AlgorithmConfig:
        if self.builtin is not None:
            versions = _BUILTIN_VERSIONS[self.builtin]
            if self.version is not None and self.version not in versions:
                raise FieldError(
                    "version", f"must be one of {', '.join(versions)} for {self.builtin}, got {self.version!r}"
                )
        elif self.framework is not None:
            self._check_framework()
        check_unique_metric_names(self.metric_definitions)
        return self

    def _check_framework(self) -> None:
        table = image_table(str(self.framework))
        if self.version is None or self.version not in table.versions:
            raise FieldError(
                "version",
                f"must be one of {', '.join(table.versions)} for framework {self.framework}, got {show(self.version)}",
            )
        if self.source_dir is None:
            raise FieldError("source_dir", "is required: the directory holding the entry point, inside the project")
        python = table.training[self.version].py_versions
        if python and self.py_version not in python:
            raise FieldError(
                "py_version",
                f"must be one of {', '.join(python)} for {self.framework} {self.version}, got {show(self.py_version)}",
            )
        reserved = sorted(set(self.environment) & set(SCRIPT_MODE_ENVIRONMENT))
        if reserved:
            raise FieldError(f"environment.{reserved[0]}", "is set by the pipeline for a framework's script")

    @property
    def kind(self) -> Literal["builtin", "framework", "image"]:
        if self.framework is not None:
            return "framework"
        return "image" if self.image is not None else "builtin"

    @property
    def ecr_images(self) -> tuple[EcrImage, ...]:
        """The caller's images, whose repositories the SageMaker role must be able to pull from."""
        return tuple(image for image in (self.image, self.inference_image) if image is not None)


def _with_default_versions(values: dict[str, Any]) -> dict[str, Any]:
    """Built-in XGBoost's newest supported version, and a framework version's only Python, unless given."""
    builtin, framework, version = values.get("builtin"), values.get("framework"), values.get("version")
    if builtin == XGBOOST and version is None:
        values["version"] = _BUILTIN_VERSIONS[XGBOOST][-1]
    if framework in FRAMEWORKS and "py_version" not in values:
        image = image_table(framework).training.get(version) if isinstance(version, str) else None
        if image is not None and len(image.py_versions) == 1:
            values["py_version"] = image.py_versions[0]
    return values


_TAKES_HINT = {
    "version": "only builtin xgboost and framework have versions",
    "py_version": "only a framework has a Python version",
    "entry_point": "only a framework runs a script of yours",
    "source_dir": "only a framework runs a script of yours",
    "environment": "a built-in algorithm's container takes no environment",
    "metric_definitions": "a built-in algorithm reports its own metrics",
    "inference_image_uri": "only image_uri takes a separate inference image",
}


def _kind_label(kind: str, data: Mapping[str, Any]) -> str:
    if kind == "builtin":
        return f"builtin {data.get('builtin') or LINEAR_LEARNER}"
    return f"framework {data.get('framework')}" if kind == "framework" else "an image_uri"


def _hyperparameters(raw: Any) -> Mapping[str, str]:
    """The hyperparameters as the strings SageMaker expects (`true`, `10`, `0.05`)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"must be an object, got {show(raw)}")
    if len(raw) > MAX_HYPERPARAMETERS:
        raise ValueError(f"may hold at most {MAX_HYPERPARAMETERS} entries, got {len(raw)}")
    values: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_HYPERPARAMETER_KEY_LENGTH:
            raise ValueError(f"keys must be 1 to {MAX_HYPERPARAMETER_KEY_LENGTH} characters, got {key!r}")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            raise FieldError(key, f"must be a string, number or boolean, got {show(value)}")
        if len(text) > MAX_HYPERPARAMETER_VALUE_LENGTH:
            raise FieldError(key, f"must be at most {MAX_HYPERPARAMETER_VALUE_LENGTH} characters")
        values[key] = text
    return MappingProxyType(values)


Hyperparameters = Annotated[
    Mapping[str, str],
    PlainValidator(_hyperparameters),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_HYPERPARAMETERS,
            "propertyNames": {"minLength": 1, "maxLength": MAX_HYPERPARAMETER_KEY_LENGTH},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "passed to the training job as strings (JSON-encoded for a framework's script)",
        }
    ),
]


def json_encoded_for_script(raw: Any, algorithm: AlgorithmConfig) -> Any:
    """A framework's hyperparameters JSON-encoded, as the SageMaker Python SDK sends them (Framework.hyperparameters
    calls json.dumps on each value; the training toolkit decodes them): `"rbf"` becomes `"\\"rbf\\""`, 10 `"10"`.
    Other algorithms' and values of other types are left for the hyperparameters' own validation."""
    if algorithm.kind != "framework" or not isinstance(raw, Mapping):
        return raw
    return {
        key: json.dumps(value) if isinstance(value, str | int | float | bool) else value for key, value in raw.items()
    }


def with_algorithm_defaults(hyperparameters: Mapping[str, str], algorithm: AlgorithmConfig) -> Mapping[str, str]:
    """`hyperparameters` with what the algorithm needs: Linear Learner a predictor_type (a regressor by default),
    XGBoost its required ones; a framework's script leaves the SDK's own names to the pipeline."""
    if algorithm.builtin == XGBOOST:
        for key in XGBOOST_REQUIRED_HYPERPARAMETERS:
            if key not in hyperparameters:
                raise FieldError(key, "is required by built-in XGBoost")
        return hyperparameters
    if algorithm.kind == "framework":
        reserved = [key for key in SCRIPT_MODE_HYPERPARAMETERS if key in hyperparameters]
        if reserved:
            raise FieldError(reserved[0], "is set by the pipeline for a framework's script")
        room = MAX_HYPERPARAMETERS - len(SCRIPT_MODE_HYPERPARAMETERS)
        if len(hyperparameters) > room:
            raise ValueError(
                f"may hold at most {room} entries for a framework's script (SageMaker's limit is "
                f"{MAX_HYPERPARAMETERS}, {len(SCRIPT_MODE_HYPERPARAMETERS)} are the pipeline's)"
            )
        return hyperparameters
    if algorithm.builtin != LINEAR_LEARNER:
        return hyperparameters
    values = {"predictor_type": "regressor", **hyperparameters}
    if values["predictor_type"] not in LINEAR_LEARNER_PREDICTOR_TYPES:
        allowed = ", ".join(LINEAR_LEARNER_PREDICTOR_TYPES)
        raise FieldError("predictor_type", f"must be one of {allowed}, got {values['predictor_type']!r}")
    return MappingProxyType(values)
