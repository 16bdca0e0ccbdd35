"""What every section of the configuration shares: the base model, the rule a field states, and common field types."""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from stacks.show import show


@dataclass(frozen=True)
class Rule:
    """What a field must be, in words: the error says "must be <text>" and the JSON Schema describes the field so.

    `too_many` names the items of a list or object whose size limit has a message of its own ("may hold at most
    20 addresses, got 21").
    """

    text: str
    too_many: str | None = None

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("description", self.text)
        return schema


class Section(BaseModel):
    """A section of a pipeline's configuration: immutable, and refusing fields it does not know."""

    # Python's re, so each pattern matches what it matched when the parser called re.match itself.
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")
    # What the section must be when it is given as something else, as "must be <rule>".
    rule: ClassVar[str] = "an object"

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        """A JSON null where the field takes none means its default, as leaving the field out does."""
        if not isinstance(data, Mapping):
            return data
        fields = {field.alias or name: field for name, field in cls.model_fields.items()}
        return {
            key: value
            for key, value in data.items()
            if value is not None or key not in fields or takes_null(fields[key].annotation)
        }


def takes_null(annotation: Any) -> bool:
    """Whether a field's type admits None (`int | None`), so a JSON null is a value rather than "the default"."""
    if get_origin(annotation) is Annotated:
        return takes_null(get_args(annotation)[0])
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def json_pattern(pattern: re.Pattern[str]) -> str:
    """A Python pattern that ECMA-262 (JSON Schema) reads the same: its named groups, which the two write
    differently, made plain groups."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern.pattern)


INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
InstanceType = Annotated[str, Field(pattern=INSTANCE_TYPE.pattern), Rule("an instance type like ml.m5.large")]

MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")

# Keys are used verbatim in IAM resource ARNs: no wildcards (`*`, `?`) and no empty or dot segments.
_PREFIX_SEGMENT = r"[A-Za-z0-9_=][A-Za-z0-9._=-]*"
PREFIX = re.compile(rf"^{_PREFIX_SEGMENT}(/{_PREFIX_SEGMENT})*$")


def _check_prefix(value: str) -> str:
    if value.startswith("/") or value.endswith("/"):
        raise ValueError(f"must not start or end with '/', got {value!r}")
    if not PREFIX.match(value):
        raise ValueError(
            "must be '/'-separated segments of letters, digits and . _ = - "
            f"(no wildcards, empty or dot-only segments), got {value!r}"
        )
    return value


_PREFIX_RULE = (
    "an S3 key prefix of '/'-separated segments of letters, digits and . _ = -, without leading or trailing '/'"
)
Prefix = Annotated[
    str,
    Field(min_length=1),
    AfterValidator(_check_prefix),
    WithJsonSchema({"type": "string", "pattern": PREFIX.pattern, "description": _PREFIX_RULE}),
    Rule(_PREFIX_RULE),
]

_ECR_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com(?P<cn>\.cn)?"
    r"/(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:(?P<digest>[a-f0-9]{64}))?$"
)
_ECR_IMAGE_RULE = "an ECR image URI like 123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-repo:tag (or @sha256:<digest>)"


@dataclass(frozen=True)
class EcrImage:
    """An image in Amazon ECR, parsed from its URI so IAM can be scoped to its repository."""

    uri: str
    account: str
    region: str
    repository: str


def parse_ecr_image(value: Any) -> EcrImage:
    """The image `value` names; raises ValueError unless it is an ECR image URI."""
    if isinstance(value, EcrImage):
        return value
    match = _ECR_IMAGE_URI.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"must be {_ECR_IMAGE_RULE}, got {show(value)}")
    return EcrImage(uri=value, account=match["account"], region=match["region"], repository=match["repository"])


# Written as its URI; read as the parsed image.
EcrImageUri = Annotated[
    EcrImage,
    PlainValidator(parse_ecr_image),
    WithJsonSchema({"type": "string", "pattern": json_pattern(_ECR_IMAGE_URI), "description": _ECR_IMAGE_RULE}),
]


def derived_in_schema(**defaults: str) -> ConfigDict:
    """A section's config for fields whose default the pipeline derives (the endpoint's name is the pipeline's): the
    JSON Schema does not require them and says what they default to."""

    def document(schema: dict[str, Any]) -> None:
        required = [key for key in schema.get("required", []) if key not in defaults]
        schema.pop("required", None)
        if required:
            schema["required"] = required
        for key, default in defaults.items():
            field = schema["properties"][key]
            field["description"] = f"{field.get('description', key)}; default: {default}"

    return ConfigDict(json_schema_extra=document)
