"""CheckData on backfills (a forced run on days older than the watermark) and on inputs that are not an object."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from lambdas.check_data.core import RUN_INPUT_FIELD, RunInput, check_data, raw_run_input
from lambdas.check_data.handler import lambda_handler
from lambdas.common.errors import InvalidRunInputError
from lambdas.common.events import Execution
from tests.unit.lambdas.check_data.test_core import SETTINGS, put, set_watermark
from tests.unit.lambdas.check_data.test_handler import ENVIRONMENT, EXECUTION

# The watermark says 2026-11-21 was trained on; the execution starts 2026-11-22 (the `execution` fixture).
WATERMARK = "2026-11-21"
A_WEEK_BEFORE = date(2026, 11, 14)


@pytest.fixture
def handler_environment(s3: Any, ssm: Any, sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the stack gives CheckData, with its bucket (a day of data), watermark and state machine."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    put(s3, "data/churn/2026-11-21.csv")


@pytest.fixture
def trained(s3: Any, ssm: Any, sfn: Any) -> None:
    """Data for every day of November up to the watermark's day, which a run already trained on."""
    for day in range(1, 22):
        put(s3, f"data/churn/2026-11-{day:02d}.csv")
    set_watermark(ssm, WATERMARK)


def checked(run_input: RunInput, execution: Execution, s3: Any, ssm: Any, sfn: Any) -> Any:
    return check_data(run_input, execution, s3=s3, ssm=ssm, sfn=sfn, settings=SETTINGS)


# The input's `deploy` field


@pytest.mark.parametrize("deploy", ["yes", 1, 0, "true", [True]], ids=repr)
def test_deploy_that_is_not_a_boolean_is_refused_naming_the_field(deploy: Any) -> None:
    with pytest.raises(InvalidRunInputError, match=r"field 'deploy' must be true or false, got "):
        RunInput.from_state({"force": True, "deploy": deploy})


def test_deploy_null_is_as_if_left_out() -> None:
    assert RunInput.from_state({"force": True, "deploy": None}).deploy is None


@pytest.mark.parametrize("deploy", [True, False])
def test_deploy_is_read_and_carried_into_the_states_input(deploy: bool) -> None:
    parsed = RunInput.from_state({"force": True, "deploy": deploy})

    assert parsed.deploy is deploy
    assert parsed.to_state()["deploy"] is deploy


def test_without_deploy_the_input_says_none() -> None:
    assert RunInput.from_state({}).to_state()["deploy"] is None


# Which run is a backfill


@pytest.mark.parametrize(
    ("raw", "deploy"),
    [({}, False), ({"deploy": True}, True), ({"deploy": False}, False)],
    ids=["no deploy field", "deploy true", "deploy false"],
)
def test_a_forced_run_on_days_older_than_the_watermark_is_a_backfill(
    trained: None, s3: Any, ssm: Any, sfn: Any, execution: Execution, raw: dict[str, Any], deploy: bool
) -> None:
    # GIVEN a forced run whose 3-day window ends a week before the watermark's day
    run_input = RunInput.from_state({"force": True, "window_days": 3, "end_date": A_WEEK_BEFORE.isoformat(), **raw})

    # WHEN CheckData runs
    run = checked(run_input, execution, s3, ssm, sfn)

    # THEN it trains, as a backfill that deploys only when the input asked
    assert (run.has_new_data, run.newest_data_date, run.watermark_date) == (True, "2026-11-14", WATERMARK)
    assert (run.backfill, run.deploy) == (True, deploy)
    assert f"a backfill (data older than the watermark {WATERMARK}): the watermark stays" in run.reason
    assert ("deployed when it passes" in run.reason) is deploy
    assert run.manifest_uri is not None


def test_a_backfill_is_judged_by_its_newest_file_not_by_its_end_date(
    s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    # GIVEN a window that ends after the watermark's day, but whose newest file is older than it
    put(s3, "data/churn/2026-11-17.csv")
    set_watermark(ssm, WATERMARK)

    run = checked(RunInput(force=True, end_date=date(2026, 11, 22)), execution, s3, ssm, sfn)

    assert (run.newest_data_date, run.backfill, run.deploy) == ("2026-11-17", True, False)


def test_a_forced_retrain_of_the_watermarks_day_is_no_backfill(
    trained: None, s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    run = checked(RunInput(force=True, end_date=date(2026, 11, 21)), execution, s3, ssm, sfn)

    assert (run.has_new_data, run.newest_data_date) == (True, WATERMARK)
    assert (run.backfill, run.deploy) == (False, True)
    assert "backfill" not in run.reason


def test_a_run_on_new_data_is_no_backfill(trained: None, s3: Any, ssm: Any, sfn: Any, execution: Execution) -> None:
    put(s3, "data/churn/2026-11-22.csv")

    run = checked(RunInput(), execution, s3, ssm, sfn)

    assert (run.has_new_data, run.backfill, run.deploy) == (True, False, True)


@pytest.mark.parametrize("watermark", [None, "absent"], ids=["null", "parameter deleted"])
def test_a_pipeline_never_trained_has_no_backfill(
    s3: Any, ssm: Any, sfn: Any, execution: Execution, watermark: str | None
) -> None:
    put(s3, "data/churn/2026-11-14.csv")
    if watermark == "absent":
        ssm.delete_parameter(Name=SETTINGS.watermark_parameter)

    run = checked(RunInput(force=True, end_date=A_WEEK_BEFORE), execution, s3, ssm, sfn)

    assert (run.has_new_data, run.backfill, run.deploy) == (True, False, True)


def test_older_days_without_force_are_no_new_data_and_no_backfill(
    trained: None, s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    run = checked(RunInput(end_date=A_WEEK_BEFORE), execution, s3, ssm, sfn)

    assert (run.has_new_data, run.backfill) == (False, False)
    assert run.manifest_uri is None


def test_deploy_true_on_a_run_that_is_no_backfill_is_accepted_and_deploys(
    trained: None, s3: Any, ssm: Any, sfn: Any, execution: Execution
) -> None:
    put(s3, "data/churn/2026-11-22.csv")

    run = checked(RunInput(deploy=True), execution, s3, ssm, sfn)

    assert (run.backfill, run.deploy) == (False, True)


@pytest.mark.parametrize(
    "run_input",
    [RunInput(deploy=False), RunInput(force=True, deploy=False, end_date=date(2026, 11, 21))],
    ids=["new data", "same-day retrain"],
)
def test_deploy_false_on_a_run_that_is_no_backfill_is_refused_before_writing_a_manifest(
    trained: None, s3: Any, ssm: Any, sfn: Any, execution: Execution, run_input: RunInput
) -> None:
    put(s3, "data/churn/2026-11-22.csv")

    with pytest.raises(InvalidRunInputError, match=r"field 'deploy' is false, but this run is no backfill"):
        checked(run_input, execution, s3, ssm, sfn)

    assert s3.list_objects_v2(Bucket=SETTINGS.bucket, Prefix="manifests/").get("KeyCount") == 0


# Inputs that are not a JSON object (the first state puts whatever came under `run_input`)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ([1, 2], "an array: [1, 2]"),
        ("hello", 'a string: "hello"'),
        (42, "a number: 42"),
        (1.5, "a number: 1.5"),
        (None, "null: null"),
        (True, "a boolean: true"),
        (False, "a boolean: false"),
        ([], "an array: []"),
    ],
    ids=["array", "string", "integer", "float", "null", "true", "false", "empty array"],
)
def test_an_input_that_is_not_an_object_is_refused_naming_its_type(raw: Any, named: str) -> None:
    with pytest.raises(InvalidRunInputError) as raised:
        raw_run_input({RUN_INPUT_FIELD: raw})

    assert str(raised.value) == ('the execution input must be a JSON object like {"force": true} or {}, got ' + named)


def test_a_long_input_is_shown_cut() -> None:
    with pytest.raises(InvalidRunInputError) as raised:
        raw_run_input({RUN_INPUT_FIELD: "x" * 1000})

    shown = str(raised.value).split("got a string: ", 1)[1]
    assert shown == '"' + "x" * 56 + "..."


@pytest.mark.parametrize("raw", [{}, {"force": True, "window_days": 3}, {"run_input": 1}], ids=repr)
def test_an_object_input_is_passed_on_as_it_came(raw: dict[str, Any]) -> None:
    assert raw_run_input({RUN_INPUT_FIELD: raw}) == raw


def test_a_state_that_is_not_only_run_input_is_the_input_itself() -> None:
    # A step invoked directly (the CLI's check) gets the input as its state.
    state = {"force": True}
    assert raw_run_input(state) == state
    assert raw_run_input({}) == {}
    # ... so a `run_input` beside other fields is an unknown field of the input, refused by RunInput
    with pytest.raises(InvalidRunInputError, match="run_input"):
        RunInput.from_state(raw_run_input({"run_input": [1], "force": True}))


def test_an_object_under_run_input_with_an_unknown_field_is_refused_naming_it() -> None:
    # An execution started with {"run_input": 5} reaches CheckData as {"run_input": {"run_input": 5}}.
    with pytest.raises(InvalidRunInputError, match="run_input"):
        RunInput.from_state(raw_run_input({RUN_INPUT_FIELD: {"run_input": 5}}))


@pytest.mark.parametrize("raw", [[1, 2], "hello", 42, None], ids=repr)
def test_the_handler_refuses_an_input_that_is_not_an_object(
    handler_environment: None, lambda_context: Any, raw: Any
) -> None:
    with pytest.raises(InvalidRunInputError, match="the execution input must be a JSON object"):
        lambda_handler({"state": {RUN_INPUT_FIELD: raw}, "execution": EXECUTION}, lambda_context)


def test_the_handler_reads_an_object_input_under_run_input(handler_environment: None, lambda_context: Any) -> None:
    state = lambda_handler(
        {"state": {RUN_INPUT_FIELD: {"trigger": "schedule", "force": True}}, "execution": EXECUTION}, lambda_context
    )

    assert (state["input"]["trigger"], state["input"]["force"]) == ("schedule", True)
    assert RUN_INPUT_FIELD not in state  # the raw input is not carried on through the run
