"""The `data_bucket` section: the bucket the stack creates, or an existing one by name."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from stacks.config.errors import FieldError
from stacks.config.fields import Rule, Section

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_RULE = "a valid S3 bucket name"


def _check_bucket_name(name: str) -> str:
    if ".." in name or _IPV4.match(name):
        raise ValueError(f"must be {_RULE}: no adjacent dots and not shaped like an IP address, got {name!r}")
    if name.startswith(_BUCKET_RESERVED_PREFIXES) or name.endswith(_BUCKET_RESERVED_SUFFIXES):
        raise ValueError(f"must be {_RULE}: it uses a prefix or suffix S3 reserves, got {name!r}")
    return name


BucketName = Annotated[
    str,
    Field(pattern=_BUCKET_NAME.pattern),
    AfterValidator(_check_bucket_name),
    Rule(f"{_RULE}: 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"),
]


class DataBucketConfig(Section):
    """Where the data lives: a bucket the stack creates (`name` None) or an existing one, by name."""

    name: BucketName | None = None
    # Written `"create": true`, the default; only there so a configuration can say so.
    create_requested: Annotated[Literal[True], Rule("true (or give an existing bucket's name)")] | None = Field(
        default=None, alias="create"
    )

    @model_validator(mode="before")
    @classmethod
    def _name_or_create(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("name") is not None and data.get("create") is not None:
            raise FieldError("name", "and create are exclusive: give {'create': true} or {'name': '<bucket>'}")
        return data

    @property
    def create(self) -> bool:
        return self.name is None
