"""The `endpoint.autoscaling` section: off by default, its range and the endpoint's count checked at synth, naming the
pipeline and the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import ConfigError, PipelineConfig
from stacks.config.autoscaling import AutoscalingConfig
from tests.unit.stacks.config import raw

SCALING = {"min": 2, "max": 6, "target_invocations_per_instance": 150}


def parse(**endpoint: Any) -> PipelineConfig:
    return raw.parse_one(endpoint=endpoint)


def test_the_endpoint_does_not_scale_unless_autoscaling_is_given() -> None:
    assert raw.parse_one().endpoint.autoscaling is None


def test_autoscaling_is_read_with_its_cooldowns_defaults() -> None:
    config = parse(autoscaling=SCALING)

    assert config.endpoint.autoscaling == AutoscalingConfig(
        min=2, max=6, target_invocations_per_instance=150, scale_in_cooldown_seconds=300, scale_out_cooldown_seconds=60
    )


def test_the_endpoint_starts_with_the_minimum_unless_its_count_is_given() -> None:
    assert parse(autoscaling=SCALING).endpoint.instance_count == 2
    assert parse(autoscaling=SCALING, instance_count=4).endpoint.instance_count == 4


def test_a_minimum_above_the_maximum_is_refused_naming_both_fields() -> None:
    message = "pipeline 'churn': endpoint.autoscaling.min (7) must be at most endpoint.autoscaling.max (6)"
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(autoscaling={**SCALING, "min": 7})


@pytest.mark.parametrize("count", [1, 7])
def test_an_instance_count_outside_the_range_is_refused(count: int) -> None:
    message = (
        f"pipeline 'churn': endpoint.instance_count ({count}) must be within endpoint.autoscaling.min (2) and "
        "endpoint.autoscaling.max (6)"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(autoscaling=SCALING, instance_count=count)


def test_a_burstable_instance_type_is_refused() -> None:
    with pytest.raises(ConfigError, match=re.escape("pipeline 'churn': endpoint.autoscaling needs a non-burstable")):
        parse(autoscaling=SCALING, instance_type="ml.t2.medium")


@pytest.mark.parametrize(
    ("scaling", "field"),
    [
        ({**SCALING, "min": 0}, "endpoint.autoscaling.min"),
        ({**SCALING, "max": 101}, "endpoint.autoscaling.max"),
        ({**SCALING, "target_invocations_per_instance": 0}, "endpoint.autoscaling.target_invocations_per_instance"),
        ({**SCALING, "scale_in_cooldown_seconds": -1}, "endpoint.autoscaling.scale_in_cooldown_seconds"),
        ({"min": 1, "max": 2}, "endpoint.autoscaling.target_invocations_per_instance is required"),
        ({**SCALING, "min": "2"}, "endpoint.autoscaling.min"),
        ({**SCALING, "metric": "cpu"}, "unknown field 'endpoint.autoscaling.metric'"),
    ],
    ids=["min below 1", "max above 100", "zero target", "negative cooldown", "no target", "string", "unknown field"],
)
def test_bad_values_are_refused_naming_the_pipeline_and_the_field(scaling: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"pipeline 'churn': {field}")):
        parse(autoscaling=scaling)
