"""How the schedule is delivered: its IANA time zone and EventBridge Scheduler's retry policy, checked at synth."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError
from stacks.config.schedule_delivery import time_zone_problem
from tests.unit.stacks.config.raw import parse_one


def test_by_default_the_schedule_is_read_in_utc_and_retried_as_scheduler_does() -> None:
    config = parse_one()

    assert config.schedule_timezone == "UTC"
    assert config.schedule_retry.maximum_retry_attempts == 185
    assert config.schedule_retry.maximum_event_age_seconds == 86400


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "UTC"])
def test_iana_time_zones_are_accepted(zone: str) -> None:
    assert parse_one(schedule_timezone=zone).schedule_timezone == zone


@pytest.mark.parametrize(
    ("zone", "problem"),
    [
        ("Europe/Berlinn", "is not a time zone of the IANA database"),
        ("europe/berlin", "is not a time zone of the IANA database"),
        ("Mars/Olympus_Mons", "is not a time zone of the IANA database"),
        ("CEST+1", "is not a time zone of the IANA database"),
        ("../etc/passwd", "is not an IANA time zone name"),
        ("posix/Europe/Berlin", "is not an IANA time zone name"),
        (" UTC", "is not an IANA time zone name"),
    ],
)
def test_names_that_are_not_iana_time_zones_say_so(zone: str, problem: str) -> None:
    assert (time_zone_problem(zone) or "").startswith(problem)


@pytest.mark.reliability(
    "input",
    "An unknown schedule_timezone (Europe/Berlinn)",
    "Refused at synth naming the pipeline, the field and the name",
)
def test_an_unknown_time_zone_fails_synth_naming_the_pipeline_and_the_field() -> None:
    with pytest.raises(ConfigError) as error:
        parse_one(schedule_timezone="Europe/Berlinn")

    assert str(error.value).startswith(
        "pipeline 'churn': schedule_timezone 'Europe/Berlinn' is not a time zone of the IANA database"
    )


@pytest.mark.parametrize(
    ("retry", "field"),
    [
        ({"maximum_retry_attempts": 186}, "schedule_retry.maximum_retry_attempts"),
        ({"maximum_retry_attempts": -1}, "schedule_retry.maximum_retry_attempts"),
        ({"maximum_event_age_seconds": 59}, "schedule_retry.maximum_event_age_seconds"),
        ({"maximum_event_age_seconds": 86401}, "schedule_retry.maximum_event_age_seconds"),
        ({"retries": 3}, "unknown field 'schedule_retry.retries'"),
    ],
)
def test_a_retry_policy_outside_schedulers_limits_fails_synth_naming_the_field(retry: Any, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_one(schedule_retry=retry)

    assert str(error.value).startswith(f"pipeline 'churn': {field}")


@pytest.mark.parametrize(
    "retry", [{"maximum_retry_attempts": 0, "maximum_event_age_seconds": 60}, {"maximum_retry_attempts": 185}]
)
def test_the_limits_themselves_are_accepted(retry: dict[str, int]) -> None:
    parsed = parse_one(schedule_retry=retry).schedule_retry

    assert parsed.maximum_retry_attempts == retry["maximum_retry_attempts"]
