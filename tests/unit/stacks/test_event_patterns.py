"""EventBridge patterns from the configuration are checked at synth as PutRule would check them."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.event_patterns import MAX_PATTERN_CHARACTERS, pattern_problem


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": ["my.etl"]},
        {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"], "detail": {"state": ["SUCCEEDED"]}},
        {"detail": {"job": {"name": [{"prefix": "features-"}], "rows": [{"numeric": [">", 0]}]}}},
        {"detail": {"error": [{"exists": False}], "state": [{"anything-but": ["FAILED"]}]}},
        {"source": ["my.etl"], "detail": {"$or": [{"state": ["SUCCEEDED"]}, {"retried": [True]}]}},
        {"resources": [{"wildcard": "arn:aws:glue:*:job/features-*"}], "detail": {"count": [1, 2.5, None]}},
    ],
)
def test_valid_patterns_pass(pattern: dict[str, Any]) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ([{"source": ["x"]}], "must be a non-empty JSON object"),
        ({}, "must be a non-empty JSON object"),
        ({"Source": ["x"]}, "has field(s) Source that no event has at the top level"),
        ({"source": "my.etl"}, "source must be a list of values or an object"),
        ({"source": []}, "source must not be an empty list: it would match no event"),
        ({"source": {"prefix": "my"}}, "source must be a list of values: only detail holds nested fields"),
        ({"detail": {}}, "detail must not be an empty object"),
        ({"detail": {"state": [{"startswith": "S"}]}}, 'detail.state holds {"startswith": "S"}: a content filter'),
        ({"detail": {"state": [["SUCCEEDED"]]}}, 'detail.state holds ["SUCCEEDED"]: values are strings'),
        ({"detail": {"$or": [{"a": ["1"]}]}}, "detail.$or must be a list of at least two patterns"),
        ({"detail": {"$or": [{"a": ["1"]}, {}]}}, "detail.$or[1] must be a non-empty object"),
        ({"detail": {"$or": [{"a": ["1"]}, {"b": "2"}]}}, "detail.$or[1].b must be a list of values"),
    ],
)
def test_invalid_patterns_are_explained(pattern: Any, problem: str) -> None:
    found = pattern_problem(pattern)

    assert found is not None
    assert problem in found


def test_a_pattern_longer_than_eventbridge_takes_is_refused() -> None:
    pattern = {"source": [f"source-{index:05d}" for index in range(MAX_PATTERN_CHARACTERS // 10)]}

    found = pattern_problem(pattern)

    assert found is not None
    assert f"more than EventBridge's {MAX_PATTERN_CHARACTERS}" in found
