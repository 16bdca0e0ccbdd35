"""The JSON Schema of a pipelines file (`{"pipelines": [...]}`), generated from the models so editors check it.

Regenerate with `python -m stacks.config.schema` (or `make schema`); a unit test fails when the committed file is
stale. The schema checks each field's type, bounds and pattern; the rules across fields and pipelines (overlapping
prefixes, the history budget, unique names) are the loader's, at synth.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema

from stacks.config.pipeline import PipelineConfig

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "pipelines.schema.json"
REGENERATE_COMMAND = "python -m stacks.config.schema"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class PipelinesDocument(BaseModel):
    """A pipelines file: what `-c config_file=...` names."""

    model_config = ConfigDict(extra="forbid", title="Pipelines configuration")

    schema_uri: str | None = Field(default=None, alias="$schema", description="this file's JSON Schema")
    pipelines: list[PipelineConfig] = Field(min_length=1, description="one object per continuously retrained model")


class _UntitledFields(GenerateJsonSchema):
    """Titles for the sections only: a field's title would repeat its key."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def pipelines_schema() -> dict[str, Any]:
    """The JSON Schema of a pipelines file."""
    schema = PipelinesDocument.model_json_schema(by_alias=True, schema_generator=_UntitledFields)
    return {"$schema": _DIALECT, **schema}


def render() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(pipelines_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    SCHEMA_PATH.parent.mkdir(exist_ok=True)
    SCHEMA_PATH.write_text(render())
    sys.stdout.write(f"wrote {SCHEMA_PATH}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
