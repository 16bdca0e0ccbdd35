"""The `algorithm` section and the `hyperparameters` passed to it: a built-in algorithm or the caller's own image."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import Field, PlainValidator, WithJsonSchema, model_validator

from stacks.config.errors import FieldError
from stacks.config.fields import EcrImage, EcrImageUri, Rule, Section
from stacks.show import show

LINEAR_LEARNER: Final = "linear-learner"
BuiltinAlgorithm = Literal["linear-learner"]
BUILTIN_ALGORITHMS: tuple[str, ...] = get_args(BuiltinAlgorithm)
LINEAR_LEARNER_PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
# SageMaker's CreateTrainingJob limits: 100 entries, keys up to 256 and values up to 2500 characters.
MAX_HYPERPARAMETERS = 100
MAX_HYPERPARAMETER_KEY_LENGTH = 256
MAX_HYPERPARAMETER_VALUE_LENGTH = 2500


class AlgorithmConfig(Section):
    """A built-in algorithm (`builtin`) or the caller's own training image and optional inference image."""

    builtin: Annotated[BuiltinAlgorithm, Rule(f"one of {', '.join(BUILTIN_ALGORITHMS)} (or use image_uri)")] | None = (
        LINEAR_LEARNER
    )
    image: EcrImageUri | None = Field(default=None, alias="image_uri")
    inference_image: EcrImageUri | None = Field(default=None, alias="inference_image_uri")

    @model_validator(mode="before")
    @classmethod
    def _image_replaces_builtin(cls, data: Any) -> Any:
        """`image_uri` and `inference_image_uri` are the images' keys; an image means no built-in algorithm."""
        if not isinstance(data, Mapping):
            return data
        if data.get("image_uri") is None:
            if data.get("inference_image_uri") is not None:
                raise FieldError("inference_image_uri", "needs image_uri: a built-in algorithm serves its own image")
            return {key: value for key, value in data.items() if not (key == "builtin" and value is None)}
        if data.get("builtin") is not None:
            raise FieldError("builtin", "and image_uri are exclusive: give one of them")
        return {**data, "builtin": None}

    @property
    def ecr_images(self) -> tuple[EcrImage, ...]:
        """The caller's images, whose repositories the SageMaker role must be able to pull from."""
        return tuple(image for image in (self.image, self.inference_image) if image is not None)


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
            "description": "passed to the training job as strings",
        }
    ),
]


def with_algorithm_defaults(hyperparameters: Mapping[str, str], algorithm: AlgorithmConfig) -> Mapping[str, str]:
    """`hyperparameters` with what the algorithm needs: Linear Learner a predictor_type (a regressor by default)."""
    if algorithm.builtin != LINEAR_LEARNER:
        return hyperparameters
    values = {"predictor_type": "regressor", **hyperparameters}
    if values["predictor_type"] not in LINEAR_LEARNER_PREDICTOR_TYPES:
        allowed = ", ".join(LINEAR_LEARNER_PREDICTOR_TYPES)
        raise FieldError("predictor_type", f"must be one of {allowed}, got {values['predictor_type']!r}")
    return MappingProxyType(values)
