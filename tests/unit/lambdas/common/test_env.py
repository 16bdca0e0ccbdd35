"""Typed readers of the functions' environment variables."""

from __future__ import annotations

import pytest

from lambdas.common import env
from lambdas.common.errors import ConfigurationError
from lambdas.common.units import human_bytes


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("false", False), ("TRUE", True), (" False ", False)])
def test_require_bool_reads_true_and_false(raw: str, value: bool) -> None:
    assert env.require_bool({"FLAG": raw}, "FLAG") is value


@pytest.mark.parametrize("environment", [{}, {"FLAG": ""}, {"FLAG": "1"}, {"FLAG": "yes"}])
def test_require_bool_names_the_variable_otherwise(environment: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="FLAG"):
        env.require_bool(environment, "FLAG")


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 bytes"),
        (999, "999 bytes"),
        (1000, "1.0 kB"),
        (1_234_567, "1.2 MB"),
        (999_960, "1.0 MB"),
        (31_500_000_000, "31.5 GB"),
    ],
)
def test_human_bytes_uses_decimal_units(count: int, text: str) -> None:
    assert human_bytes(count) == text
