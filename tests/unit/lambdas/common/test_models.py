"""The state sections more than one step reads: read back as written, and a missing field names its section."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lambdas.common.errors import InvalidStepEventError
from lambdas.common.models import (
    ApprovalState,
    CleanUpState,
    DeploymentState,
    InputState,
    LineageState,
    PrunedState,
    RunState,
    StateSection,
)
from tests.unit.lambdas.states import (
    batch_transform_section,
    deployment_section,
    evaluation_section,
    preprocessing_section,
    run_section,
    training_section,
    watermark_section,
)

TRANSFORM = batch_transform_section()
PREPROCESSING = preprocessing_section()
DEPLOYMENT = deployment_section()
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
    # GIVEN a section without its first and last required fields (a null value is not a missing one)
    fields = [
        f.name
        for f in dataclasses.fields(section)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    raw = {k: v for k, v in section.to_state().items() if k not in (fields[0], fields[-1])}
    raw["failure_reason"] = None

    # WHEN / THEN reading it names the section and both fields, in the dataclass's order
    with pytest.raises(InvalidStepEventError, match=f"^state field '{name}' lacks {fields[0]}, {fields[-1]}$"):
        type(section).from_state(raw)


STEP_SECTIONS = [
    run_section(),
    training_section(),
    preprocessing_section(),
    deployment_section(),
    evaluation_section(),
    watermark_section(),
    batch_transform_section(),
    ApprovalState(status="Approved", model_package_arn="arn:pkg/3", model_package_version=3, description=None),
    LineageState("s3://b/runs/r.json", "arn:ds", "arn:tr", "arn:m", None, None, None, 2),
    PrunedState(keep_last=3, deleted_models=["churn-1"], kept={"churn-2": "among the newest 3"}),
    CleanUpState(run_id="churn-1", stopped_training_job="churn-1"),
    InputState(force=False, window_days=None, end_date=None, trigger="schedule"),
]


@pytest.mark.parametrize("section", STEP_SECTIONS, ids=[type(s).SECTION for s in STEP_SECTIONS])
def test_every_section_is_written_as_json_and_read_back(section: StateSection) -> None:
    # GIVEN a section as a step returns it, through the JSON Step Functions passes on
    written = json.loads(json.dumps({type(section).SECTION: section.to_state()}))

    # WHEN the next step reads it / THEN it is the same section, its JSON keys the dataclass's fields in order
    assert type(section).read(written) == section
    assert list(written[type(section).SECTION]) == [f.name for f in dataclasses.fields(section)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("file_count", "7", "an integer"), ("forced", 1, "true or false"), ("manifest_uri", 3, "a string or null")],
)
def test_an_ill_typed_field_is_an_invalid_event_naming_it(field: str, value: object, expected: str) -> None:
    raw = {**run_section().to_state(), field: value}

    with pytest.raises(InvalidStepEventError, match=f"^state field 'run.{field}' must be {expected}, got "):
        RunState.from_state(raw)


@pytest.mark.parametrize("state", [{}, {"run": None}, {"run": "churn"}], ids=["absent", "null", "not-an-object"])
def test_a_section_a_step_needs_and_does_not_find_names_it(state: dict[str, object]) -> None:
    with pytest.raises(InvalidStepEventError, match=r"^state field 'run' is missing"):
        RunState.read(state)


def test_an_optional_section_reads_none_while_the_step_that_writes_it_has_not_run() -> None:
    assert DeploymentState.read_optional({"run": run_section().to_state()}) is None


def test_a_run_written_before_the_later_fields_existed_reads_their_defaults() -> None:
    # GIVEN a run section from before CheckData recorded the previous durations and the branches
    later = ("expected_training_seconds", "expected_deployment_seconds", "preprocess", "batch_transform")
    raw = {k: v for k, v in run_section().to_state().items() if k not in later}

    # WHEN it is read / THEN the poll loops have no expectation and the run takes neither branch
    run = RunState.from_state(raw)
    assert (run.expected_training_seconds, run.expected_deployment_seconds) == (None, None)
    assert (run.preprocess, run.batch_transform) == (False, False)
