"""The `triggers` configuration: optional, typed, and refused at synth with the field's name when wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import ConfigError, NewDataTriggerConfig, PipelineConfig, parse_pipeline

FEATURES = {"source": ["my.etl"], "detail-type": ["Job State Change"], "detail": {"state": ["SUCCEEDED"]}}


def parse(triggers: Any) -> PipelineConfig:
    return parse_pipeline({"name": "churn", "data_prefix": "data/churn", "triggers": triggers})


def test_a_pipeline_without_triggers_runs_on_its_schedule_only() -> None:
    config = parse_pipeline({"name": "churn", "data_prefix": "data/churn"})

    assert config.triggers.new_data is None
    assert config.triggers.events == ()


def test_new_data_takes_the_documented_defaults() -> None:
    assert parse({"new_data": {}}).triggers.new_data == NewDataTriggerConfig(quiet_seconds=300, max_delay_seconds=3600)


def test_triggers_are_read_as_given() -> None:
    config = parse(
        {
            "new_data": {"quiet_seconds": 60, "max_delay_seconds": 60},
            "events": [
                {"name": "features-ready", "pattern": FEATURES},
                {"name": "labels", "pattern": {"source": [{"prefix": "labels."}]}},
            ],
        }
    )

    assert config.triggers.new_data == NewDataTriggerConfig(quiet_seconds=60, max_delay_seconds=60)
    assert [(event.name, event.trigger) for event in config.triggers.events] == [
        ("features-ready", "event:features-ready"),
        ("labels", "event:labels"),
    ]
    assert config.triggers.events[0].pattern == FEATURES


@pytest.mark.parametrize(
    ("triggers", "message"),
    [
        ("on", "triggers must be an object"),
        ({"s3": {}}, "unknown field 'triggers.s3'"),
        ({"new_data": 5}, "triggers.new_data must be an object"),
        ({"new_data": {"quiet_seconds": 0}}, "triggers.new_data.quiet_seconds must be an integer between 1 and 86400"),
        ({"new_data": {"quiet_seconds": "300"}}, "triggers.new_data.quiet_seconds must be an integer"),
        (
            {"new_data": {"max_delay_seconds": 604_801}},
            "triggers.new_data.max_delay_seconds must be an integer between 1 and 604800",
        ),
        (
            {"new_data": {"quiet_seconds": 600, "max_delay_seconds": 300}},
            "triggers.new_data.max_delay_seconds (300) must be at least triggers.new_data.quiet_seconds (600)",
        ),
        ({"new_data": {"quiet_secs": 60}}, "unknown field 'triggers.new_data.quiet_secs' (did you mean"),
        ({"events": {"name": "x"}}, "triggers.events must be a list of at most 10 objects"),
        ({"events": [{"name": f"e{i}", "pattern": FEATURES} for i in range(11)]}, "triggers.events must be a list"),
        ({"events": ["features"]}, "triggers.events[0] must be an object with name and pattern"),
        ({"events": [{"pattern": FEATURES}]}, "triggers.events[0].name is required"),
        ({"events": [{"name": "Features", "pattern": FEATURES}]}, "triggers.events[0].name must be 1 to 32"),
        ({"events": [{"name": "a" * 33, "pattern": FEATURES}]}, "triggers.events[0].name must be 1 to 32"),
        ({"events": [{"name": "ready", "pattern": FEATURES, "input": {}}]}, "unknown field 'triggers.events[0].input'"),
        (
            {"events": [{"name": "ready", "pattern": FEATURES}, {"name": "ready", "pattern": FEATURES}]},
            "triggers.events[1].name 'ready' is used by another event trigger",
        ),
        ({"events": [{"name": "ready"}]}, "triggers.events[0].pattern is required: a non-empty JSON object"),
        ({"events": [{"name": "ready", "pattern": {}}]}, "triggers.events[0].pattern must be a non-empty JSON object"),
        (
            {"events": [{"name": "ready", "pattern": {"state": ["SUCCEEDED"]}}]},
            "triggers.events[0].pattern has field(s) state that no event has at the top level",
        ),
        (
            {"events": [{"name": "ready", "pattern": {"source": "my.etl"}}]},
            "triggers.events[0].pattern source must be a list of values or an object",
        ),
    ],
)
def test_invalid_triggers_are_refused_naming_the_field(triggers: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^pipeline 'churn': .*{re.escape(message)}"):
        parse(triggers)
