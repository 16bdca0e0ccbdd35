"""The `batch_transform` section: after each deployment, the newest day's data run through the deployed model."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from contract.names import PREDICTIONS_PREFIX
from stacks.config.fields import MEDIA_TYPE, InstanceType, Prefix, Rule, Section

_JSON_PATH = r"^\$"


class BatchTransformConfig(Section):
    """After each deployment, a transform job runs the newest day's data through the deployed model.

    Predictions go under `predictions_prefix`, mirroring the data's keys (`<prefix>/<data key>.out`).
    `input_filter` (DataProcessing.InputFilter) picks the columns the model is sent: the data files are label
    first, so by default the label is dropped; null sends whole records.
    """

    instance_type: InstanceType = "ml.m5.large"
    instance_count: StrictInt = Field(default=1, ge=1, le=100)
    predictions_prefix: Prefix = PREDICTIONS_PREFIX
    input_filter: (
        Annotated[str, Field(pattern=_JSON_PATH), Rule('a JSONPath like "$[1:]" (or null to send whole records)')]
        | None
    ) = "$[1:]"
    content_type: Annotated[str, Field(pattern=MEDIA_TYPE.pattern), Rule("a media type like text/csv")] = "text/csv"
    accept: (
        Annotated[str, Field(pattern=MEDIA_TYPE.pattern), Rule("a media type like application/jsonlines (or null)")]
        | None
    ) = "application/jsonlines"
    # CreateTransformJob's MaxPayloadInMB: 0 to 100; 0 sends records one by one without a limit (not offered).
    max_payload_mb: StrictInt = Field(default=6, ge=1, le=100)
    max_wait_seconds: StrictInt = Field(default=3_600, ge=1, le=31_536_000)
