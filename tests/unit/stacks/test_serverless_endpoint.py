"""A pipeline with a serverless endpoint: DeployModel gets the variant's ServerlessConfig in place of instances."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from lambdas.common import env
from tests.unit.stacks.synth import environment, pipeline, pipeline_template


@pytest.fixture(scope="module")
def template() -> Template:
    return pipeline_template(
        pipeline(
            name="churn",
            endpoint={"serverless": {"memory_size_mb": 2048, "max_concurrency": 10, "provisioned_concurrency": 2}},
            rollout={"strategy": "canary"},
        )
    )


def test_deploy_model_gets_the_serverless_config_and_no_instances(template: Template) -> None:
    variables = environment(template, "DeployModel")

    assert json.loads(variables[env.ENDPOINT_SERVERLESS_CONFIG]) == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 10,
        "ProvisionedConcurrency": 2,
    }
    assert env.ENDPOINT_INSTANCE_TYPE not in variables
    assert env.ENDPOINT_INSTANCE_COUNT not in variables


def test_a_serverless_endpoint_keeps_its_guarded_blue_green_rollout(template: Template) -> None:
    # Deployment guardrails exclude serverless endpoints from rolling deployments only.
    assert environment(template, "DeployModel")[env.ROLLOUT_STRATEGY] == "canary"


def test_an_instance_endpoint_sets_no_serverless_config() -> None:
    variables = environment(pipeline_template(pipeline(name="churn")), "DeployModel")

    assert env.ENDPOINT_SERVERLESS_CONFIG not in variables
    assert (variables[env.ENDPOINT_INSTANCE_TYPE], variables[env.ENDPOINT_INSTANCE_COUNT]) == ("ml.m5.large", "1")
