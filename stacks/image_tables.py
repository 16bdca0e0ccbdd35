"""SageMaker's framework and algorithm images per version and region, from tables copied out of the SageMaker SDK.

Plain data and no CDK: the config validates versions, Python versions and processors against these tables, and
`stacks.algorithms` builds the image URIs from them. Each `stacks/data/<framework>_images.json` is a subset of the
SDK's `image_uri_config/<framework>.json`, its source (repository, tag, commit) recorded in the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

DATA_DIR = Path(__file__).parent / "data"
Framework = Literal["sklearn", "xgboost", "pytorch", "tensorflow"]
FRAMEWORKS: tuple[str, ...] = get_args(Framework)
Scope = Literal["training", "inference"]
# How the SDK names the processor from an instance type (image_uris._processor): the family's first letter g or p
# means a GPU; inf and trn families have images of their own that these tables do not hold.
_INSTANCE_FAMILY = re.compile(r"^ml\.([a-z0-9]+)\.")


@dataclass(frozen=True)
class ImageVersion:
    """One version's image in one scope: its repository, tag parts and the registry account of each region."""

    repository: str
    processors: tuple[str, ...]  # empty: the tag names no processor (XGBoost)
    py_versions: tuple[str, ...]  # empty: the tag names no Python version
    registries: MappingProxyType[str, str]

    def tag(self, version: str, *, processor: str | None, py_version: str | None) -> str:
        """`<version>[-<processor>][-<py_version>]`, as the SDK's image_uris._format_tag joins them."""
        parts = (version, processor if self.processors else None, py_version if self.py_versions else None)
        return "-".join(part for part in parts if part)


@dataclass(frozen=True)
class ImageTable:
    """A framework's versions, in both scopes (only versions offered for training and for inference are kept)."""

    framework: str
    file: Path
    training: MappingProxyType[str, ImageVersion]
    inference: MappingProxyType[str, ImageVersion]

    @property
    def versions(self) -> tuple[str, ...]:
        """The supported versions, oldest first as the SDK lists them."""
        return tuple(self.training)

    def scope(self, scope: Scope) -> MappingProxyType[str, ImageVersion]:
        return self.training if scope == "training" else self.inference


@cache
def image_table(framework: str) -> ImageTable:
    """The table of `framework` (one of FRAMEWORKS); KeyError for another."""
    if framework not in FRAMEWORKS:
        raise KeyError(framework)
    path = DATA_DIR / f"{framework}_images.json"
    document: dict[str, Any] = json.loads(path.read_text())
    return ImageTable(
        framework=framework,
        file=path,
        training=_scope(document["training"]),
        inference=_scope(document["inference"]),
    )


def _scope(raw: dict[str, Any]) -> MappingProxyType[str, ImageVersion]:
    shared_processors = tuple(raw.get("processors", ()))
    return MappingProxyType(
        {
            version: ImageVersion(
                repository=entry["repository"],
                processors=tuple(entry.get("processors", shared_processors)),
                py_versions=tuple(entry.get("py_versions", ())),
                registries=MappingProxyType(dict(entry["registries"])),
            )
            for version, entry in raw["versions"].items()
        }
    )


def processor_of(instance_type: str) -> str:
    """`cpu` or `gpu` for a SageMaker instance type, as the SDK tells them apart; `inf`/`trn` for Inferentia and
    Trainium, which no table here serves."""
    match = _INSTANCE_FAMILY.match(instance_type)
    family = match[1] if match else ""
    if family.startswith(("inf", "trn")):
        return family[:3]
    return "gpu" if family[:1] in ("g", "p") else "cpu"
