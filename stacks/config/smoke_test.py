"""The `smoke_test` section: a few of the run's own records sent to the endpoint once it serves the new model."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt

from stacks.config.fields import MEDIA_TYPE, Rule, Section

# The JSONPath subset a record's columns are picked with, as DataProcessing.InputFilter writes it for CSV: the
# whole record, a slice, or a list of indexes.
INPUT_FILTER = r"^\$(\[(-?\d*:-?\d*|\d+(,\d+)*)\])?$"
MAX_SMOKE_RECORDS = 100


class SmokeTestConfig(Section):
    """Once the endpoint is InService on the run's config, `records` records of the run's data (its held-out files
    first, else its training files; the first file's first records) are sent as one `content_type` request; an
    error answer, or an answer that is not one prediction per record, fails the deployment and the endpoint is
    rolled back to the config it served before. The data files are label first, so `input_filter` drops column 0
    by default; `header`: the files start with a header row, skipped."""

    rule = 'an object like {"records": 5}, or false to turn the smoke test off'

    records: StrictInt = Field(default=5, ge=1, le=MAX_SMOKE_RECORDS)
    input_filter: (
        Annotated[str, Field(pattern=INPUT_FILTER), Rule('a JSONPath like "$[1:]" or "$[0,2]" (or null: whole rows)')]
        | None
    ) = "$[1:]"
    content_type: Annotated[str, Field(pattern=MEDIA_TYPE.pattern), Rule("a media type like text/csv")] = "text/csv"
    accept: (
        Annotated[str, Field(pattern=MEDIA_TYPE.pattern), Rule("a media type like application/json (or null)")] | None
    ) = None
    header: StrictBool = False

    def to_env(self) -> str:
        """SmokeTest's SMOKE_TEST variable."""
        return json.dumps(self.model_dump(), sort_keys=True)
