"""Rolling back a serverless endpoint: the rollback's config keeps the serving variant's ServerlessConfig."""

from __future__ import annotations

import boto3
import pytest

from operator_cli.rollback import DEPLOYED
from tests.unit.operator_cli.rollback_pipeline import REGION, Deployed

SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}


@pytest.fixture
def pipeline(aws: None) -> Deployed:
    return Deployed(lambda service: boto3.client(service, region_name=REGION), serverless=SERVERLESS)  # type: ignore[call-overload]


def test_a_serverless_endpoint_rolls_back_on_a_serverless_variant(pipeline: Deployed) -> None:
    # GIVEN two runs deployed to a serverless endpoint
    first = pipeline.train()
    pipeline.train()

    # WHEN the operator rolls back
    result = pipeline.roll_back(pipeline.plan())

    # THEN the first model serves again on a config whose variant is serverless, with no instances
    assert result.outcome == DEPLOYED
    config, model = pipeline.serving()
    assert model == first
    variant = pipeline.sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == SERVERLESS
    assert "InstanceType" not in variant
