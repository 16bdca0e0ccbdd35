"""The `training` section's Managed Spot training: off by default, its max wait checked against SageMaker's rules
and the run's own wait at synth, naming the pipeline and the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import ConfigError, PipelineConfig
from stacks.config.training import SpotConfig
from stacks.history_budget import polls_history_events, run_timeout_seconds
from tests.unit.stacks.config import raw

XGBOOST = {"algorithm": {"builtin": "xgboost"}, "hyperparameters": {"num_round": 10}}


def parse(training: dict[str, Any], **fields: Any) -> PipelineConfig:
    return raw.parse_one(training=training, **fields)


def test_training_runs_on_demand_unless_spot_is_given() -> None:
    assert raw.parse_one().training.spot is None


def test_a_spot_max_wait_is_read_as_given() -> None:
    config = parse({"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 7_200}}, **XGBOOST)

    assert config.training.spot == SpotConfig(max_wait_seconds=7_200)


def test_a_max_wait_equal_to_the_runtime_is_accepted() -> None:
    # "It must be equal to or greater than MaxRuntimeInSeconds" (SageMaker API reference, StoppingCondition)
    config = parse({"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 3_600}})

    assert config.training.spot == SpotConfig(max_wait_seconds=3_600)


def test_a_max_wait_below_the_runtime_is_refused_naming_the_pipeline_and_both_fields() -> None:
    message = (
        "pipeline 'churn': training.spot.max_wait_seconds (1800) must be at least training.max_runtime_seconds "
        "(3600): it is the time spent waiting for spot capacity plus the time the job runs, and SageMaker refuses a "
        "StoppingCondition.MaxWaitTimeInSeconds below MaxRuntimeInSeconds"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse({"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 1_800}})


def test_the_runtimes_default_counts_against_the_max_wait() -> None:
    with pytest.raises(ConfigError, match=re.escape("training.max_runtime_seconds (86400)")):
        parse({"spot": {"max_wait_seconds": 3_600}})


@pytest.mark.parametrize(
    ("spot", "problem"),
    [
        ({}, "training.spot.max_wait_seconds is required"),
        ({"max_wait_seconds": 0}, "training.spot.max_wait_seconds"),
        ({"max_wait_seconds": "3600"}, "training.spot.max_wait_seconds"),
        ({"max_wait_seconds": 3_600, "checkpoints": True}, "unknown field 'training.spot.checkpoints'"),
    ],
)
def test_a_malformed_spot_section_is_refused_naming_its_field(spot: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"pipeline 'churn': {problem}")):
        parse({"max_runtime_seconds": 600, "spot": spot})


def test_the_run_waits_for_a_spot_job_its_max_wait_plus_the_stopping_margin_unless_told() -> None:
    config = parse({"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 10_800}}, **XGBOOST)

    assert config.polling.max_training_wait_seconds == 10_800 + 900
    # so the history budget and the state machine's timeout count the whole wait
    waited = parse({"max_runtime_seconds": 3_600}, polling={"max_training_wait_seconds": 11_700}, **XGBOOST)
    assert polls_history_events(config.polling) == polls_history_events(waited.polling)
    assert run_timeout_seconds(config) == run_timeout_seconds(waited)


def test_a_training_wait_shorter_than_the_max_wait_is_refused() -> None:
    message = (
        "pipeline 'churn': polling.max_training_wait_seconds (3600) must be at least training.spot.max_wait_seconds "
        "(7200): SageMaker may keep a spot job going that long"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(
            {"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 7_200}},
            polling={"max_training_wait_seconds": 3_600},
            **XGBOOST,
        )


def test_a_max_wait_the_history_budget_cannot_poll_is_refused() -> None:
    # the derived wait (a year at most, Step Functions' longest execution) polled every second
    message = "pipeline 'churn': polling.max_training_wait_seconds (31536000) and polling.max_deployment_wait_seconds"
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(
            {"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 31_536_000}},
            polling={"interval_seconds": 1},
            **XGBOOST,
        )


def test_a_built_in_that_does_not_checkpoint_may_wait_an_hour_at_most() -> None:
    # "built-in algorithms ... that do not checkpoint are currently limited to a MaxWaitTimeInSeconds of 3600
    # seconds" (Developer Guide, Managed Spot Training); Linear Learner is not among those that checkpoint
    assert parse({"max_runtime_seconds": 600, "spot": {"max_wait_seconds": 3_600}}).training.spot is not None
    message = (
        "pipeline 'churn': training.spot.max_wait_seconds (3601) may be at most 3600 for linear-learner: SageMaker "
        "limits built-in algorithms that do not checkpoint"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse({"max_runtime_seconds": 600, "spot": {"max_wait_seconds": 3_601}})


def test_xgboost_and_scripts_may_wait_longer_than_an_hour() -> None:
    script = {"algorithm": {"framework": "sklearn", "version": "1.2-1", "source_dir": "examples/churn-sklearn/model"}}
    for fields in (XGBOOST, script):
        config = parse({"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 86_400}}, **fields)
        assert config.training.spot == SpotConfig(max_wait_seconds=86_400)
