"""The endpoint's `serverless` section: SageMaker's ServerlessConfig limits, and what it refuses to go with."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import ConfigError
from tests.unit.stacks.config.raw import parse_one

SERVERLESS = {"memory_size_mb": 2048, "max_concurrency": 10}


def test_endpoints_run_on_instances_unless_serverless_is_given() -> None:
    assert parse_one().endpoint.serverless is None


def test_a_serverless_section_becomes_the_variants_serverless_config() -> None:
    endpoint = parse_one(endpoint={"serverless": {**SERVERLESS, "provisioned_concurrency": 10}}).endpoint

    assert endpoint.serverless is not None
    assert endpoint.serverless.variant_config() == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 10,
        "ProvisionedConcurrency": 10,
    }


def test_without_provisioned_concurrency_the_config_leaves_it_out() -> None:
    serverless = parse_one(endpoint={"serverless": SERVERLESS}).endpoint.serverless

    assert serverless is not None
    assert serverless.variant_config() == {"MemorySizeInMB": 2048, "MaxConcurrency": 10}


@pytest.mark.parametrize("memory", [1024, 3072, 6144])
def test_every_documented_memory_size_is_accepted(memory: int) -> None:
    serverless = parse_one(endpoint={"serverless": {**SERVERLESS, "memory_size_mb": memory}}).endpoint.serverless

    assert serverless is not None
    assert serverless.memory_size_mb == memory


@pytest.mark.parametrize(
    ("serverless", "message"),
    [
        (
            {**SERVERLESS, "memory_size_mb": 1536},
            "endpoint.serverless.memory_size_mb must be one of 1024, 2048, 3072, 4096, 5120, 6144, got 1536",
        ),
        (
            {**SERVERLESS, "memory_size_mb": 8192},
            "endpoint.serverless.memory_size_mb must be one of 1024, 2048, 3072, 4096, 5120, 6144, got 8192",
        ),
        ({"memory_size_mb": 2048}, "endpoint.serverless.max_concurrency is required: an integer between 1 and 200"),
        ({**SERVERLESS, "max_concurrency": 0}, "endpoint.serverless.max_concurrency must be an integer between 1"),
        ({**SERVERLESS, "max_concurrency": 201}, "endpoint.serverless.max_concurrency must be an integer between 1"),
        (
            {**SERVERLESS, "provisioned_concurrency": 0},
            "endpoint.serverless.provisioned_concurrency must be an integer between 1 and 200",
        ),
        (
            {**SERVERLESS, "provisioned_concurrency": 11},
            "endpoint.serverless.provisioned_concurrency (11) must not be larger than "
            "endpoint.serverless.max_concurrency (10)",
        ),
        ({**SERVERLESS, "memory": 1024}, "unknown field 'endpoint.serverless.memory'"),
    ],
)
def test_an_invalid_serverless_config_names_the_pipeline_and_the_field(
    serverless: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"pipeline 'churn': {message}")):
        parse_one(endpoint={"serverless": serverless})


@pytest.mark.parametrize(
    ("instances", "field"),
    [
        ({"instance_type": "ml.m5.large"}, "instance_type"),
        ({"instance_count": 2}, "instance_count"),
        ({"instance_type": "ml.g4dn.xlarge", "instance_count": 1}, "instance_type"),
    ],
)
def test_instance_settings_beside_serverless_are_refused_not_ignored(instances: dict[str, Any], field: str) -> None:
    with pytest.raises(
        ConfigError, match=re.escape(f"pipeline 'churn': endpoint.{field} has no effect on a serverless")
    ):
        parse_one(endpoint={"serverless": SERVERLESS, **instances})


def test_a_serverless_endpoint_cannot_serve_a_preprocessing_pipeline_model() -> None:
    # Serverless Inference's feature exclusions name inference pipelines; preprocessing makes the model one.
    with pytest.raises(ConfigError) as raised:
        parse_one(endpoint={"serverless": SERVERLESS}, preprocessing={"source_dir": "examples/preprocessing"})

    assert str(raised.value).startswith("pipeline 'churn': endpoint.serverless cannot serve this pipeline's model")
    assert "does not support inference pipelines" in str(raised.value)


@pytest.mark.parametrize("strategy", ["all_at_once", "canary", "linear"])
def test_a_serverless_endpoint_takes_every_blue_green_rollout(strategy: str) -> None:
    # Deployment guardrails exclude serverless endpoints from rolling deployments, which this project never asks for.
    config = parse_one(endpoint={"serverless": SERVERLESS}, rollout={"strategy": strategy})

    assert config.rollout is not None
    assert config.rollout.strategy == strategy


def test_a_serverless_endpoint_takes_no_autoscaling_it_scales_itself() -> None:
    # Application Auto Scaling's target tracking scales an instance variant's DesiredInstanceCount; a serverless
    # variant has none.
    autoscaling = {"min": 1, "max": 3, "target_invocations_per_instance": 100}

    with pytest.raises(ConfigError) as raised:
        parse_one(endpoint={"serverless": SERVERLESS, "autoscaling": autoscaling})

    assert str(raised.value) == (
        "pipeline 'churn': endpoint.autoscaling is for instance endpoints: a serverless endpoint scales itself, "
        "up to endpoint.serverless.max_concurrency"
    )
