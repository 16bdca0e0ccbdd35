"""The state sections more than one step reads: read back as written, and a missing field names its section."""

from __future__ import annotations

import dataclasses

import pytest

from lambdas.common.errors import InvalidStepEventError
from lambdas.common.models import BatchTransformState, DeploymentState, PreprocessingState, StateSection

TRANSFORM = BatchTransformState(
    job_name="churn-1",
    status="InProgress",
    failure_reason=None,
    day="2026-11-21",
    input_uri="s3://b/daily/2026-11-21.csv",
    output_uri="s3://b/predictions/daily/",
    started_at="2026-11-22T07:00:00.000Z",
    waited_seconds=0,
    wait_exceeded=False,
    poll_seconds=600,
)
PREPROCESSING = PreprocessingState(
    job_name="churn-1",
    status="Completed",
    failure_reason=None,
    training_data_uri="s3://b/preprocessed/churn-1/train/",
    model_artifact="s3://b/preprocessed/churn-1/model/model.tar.gz",
    started_at="2026-11-22T06:00:00.000Z",
    waited_seconds=300,
    wait_exceeded=False,
    poll_seconds=60,
)
DEPLOYMENT = DeploymentState(
    endpoint_name="churn",
    endpoint_config_name="churn-new",
    model_name="churn-new",
    action="update",
    status="Updating",
    failure_reason=None,
    serving_new_model=False,
    started_at="2026-11-22T06:50:00.000Z",
    waited_seconds=0,
    wait_exceeded=False,
    poll_seconds=30,
)
SECTIONS = [(TRANSFORM, "batch_transform"), (PREPROCESSING, "preprocessing"), (DEPLOYMENT, "deployment")]
IDS = ["batch_transform", "preprocessing", "deployment"]


@pytest.mark.parametrize(("section", "name"), SECTIONS, ids=IDS)
def test_a_section_reads_back_what_it_wrote_ignoring_other_fields(section: StateSection, name: str) -> None:
    # GIVEN a section as a step wrote it, with a field a later version might add
    written = {**section.to_state(), "added_later": True}

    # WHEN the next step reads it / THEN it is the same section, under the name the state machine uses
    assert type(section).from_state(written) == section
    assert name == type(section).SECTION


@pytest.mark.parametrize(("section", "name"), SECTIONS, ids=IDS)
def test_a_section_missing_fields_is_an_invalid_event_naming_the_section_and_the_fields(
    section: StateSection, name: str
) -> None:
    # GIVEN a section without its first and last fields (a null value is not a missing one)
    fields = [f.name for f in dataclasses.fields(section)]  # type: ignore[arg-type]
    raw = {k: v for k, v in section.to_state().items() if k not in (fields[0], fields[-1])}
    raw["failure_reason"] = None

    # WHEN / THEN reading it names the section and both fields, in the dataclass's order
    with pytest.raises(InvalidStepEventError, match=f"^state field '{name}' lacks {fields[0]}, {fields[-1]}$"):
        type(section).from_state(raw)
