"""The `smoke_test` section: on by default, `false` turns it off, anything else refused naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import ConfigError
from stacks.config.smoke_test import SmokeTestConfig
from tests.unit.stacks.config.raw import parse_one

RULE = 'must be an object like {"records": 5}, or false to turn the smoke test off'


def test_a_pipeline_that_says_nothing_smoke_tests_five_records_without_the_label() -> None:
    smoke = parse_one().smoke_test

    assert smoke == SmokeTestConfig(records=5, input_filter="$[1:]", content_type="text/csv", accept=None, header=False)


@pytest.mark.parametrize("given", [{}, None], ids=["empty object", "null"])
def test_an_empty_or_null_section_takes_the_defaults(given: Any) -> None:
    assert parse_one(smoke_test=given).smoke_test == SmokeTestConfig()


def test_false_turns_the_smoke_test_off() -> None:
    assert parse_one(smoke_test=False).smoke_test is False


def test_fields_are_read_as_given() -> None:
    smoke = parse_one(
        smoke_test={
            "records": 100,
            "input_filter": "$[0,2]",
            "content_type": "text/csv",
            "accept": "application/jsonlines",
            "header": True,
        }
    ).smoke_test

    assert smoke == SmokeTestConfig(
        records=100, input_filter="$[0,2]", content_type="text/csv", accept="application/jsonlines", header=True
    )


@pytest.mark.parametrize("input_filter", [None, "$", "$[1:]", "$[:-1]", "$[2:5]", "$[0]", "$[0,3,4]"])
def test_input_filter_takes_the_whole_row_a_slice_or_indexes(input_filter: str | None) -> None:
    assert parse_one(smoke_test={"input_filter": input_filter}).smoke_test.input_filter == input_filter  # type: ignore[union-attr]


def test_the_step_variable_holds_every_field() -> None:
    smoke = SmokeTestConfig(records=3, accept="application/json", header=True)

    assert json.loads(smoke.to_env()) == {
        "records": 3,
        "input_filter": "$[1:]",
        "content_type": "text/csv",
        "accept": "application/json",
        "header": True,
    }


@pytest.mark.parametrize("given", [True, "on", 5, [], "false"])
def test_anything_but_an_object_or_false_is_refused_with_the_rule(given: Any) -> None:
    with pytest.raises(ConfigError, match=f"pipeline 'churn': smoke_test {RULE}"):
        parse_one(smoke_test=given)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"records": 0}, "smoke_test.records must be an integer between 1 and 100, got 0"),
        ({"records": 101}, "smoke_test.records must be an integer between 1 and 100, got 101"),
        ({"records": "5"}, 'smoke_test.records must be an integer between 1 and 100, got "5"'),
        ({"records": 5.0}, "smoke_test.records must be an integer between 1 and 100, got 5.0"),
        ({"records": True}, "smoke_test.records must be an integer"),
        ({"input_filter": "[1:]"}, 'smoke_test.input_filter must be a JSONPath like "$[1:]" or "$[0,2]"'),
        ({"input_filter": "$.features"}, "smoke_test.input_filter must be a JSONPath"),
        ({"input_filter": "$[a]"}, "smoke_test.input_filter must be a JSONPath"),
        ({"input_filter": "$[1:2:1]"}, "smoke_test.input_filter must be a JSONPath"),
        ({"input_filter": 1}, "smoke_test.input_filter must be a JSONPath"),
        ({"content_type": "csv"}, 'smoke_test.content_type must be a media type like text/csv, got "csv"'),
        ({"content_type": ""}, "smoke_test.content_type must be a media type"),
        ({"accept": "json"}, 'smoke_test.accept must be a media type like application/json (or null), got "json"'),
        ({"header": "yes"}, 'smoke_test.header must be true or false, got "yes"'),
        ({"recrods": 5}, "unknown field 'smoke_test.recrods' (did you mean 'smoke_test.records'?)"),
    ],
)
def test_a_bad_field_is_refused_naming_it(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(smoke_test=section)

    assert str(raised.value).startswith("pipeline 'churn': ")
    assert message in str(raised.value)
