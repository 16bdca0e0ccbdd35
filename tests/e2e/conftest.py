"""The synthesized stack deployed into the local runtime, with Slack answered by a local server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from app import build_app, cdk_json_context
from local_runtime.deploy import DeployedPipeline, deploy
from local_runtime.iam.roles import read_roles
from local_runtime.iam.usage import GRANT_USAGE
from local_runtime.runtime import iam_enforced_by_default
from local_runtime.server import LocalAws
from local_runtime.template import read_stack
from tests.fakes.slack_api import FakeSlackApi

REGION = "us-east-1"
PIPELINE = "e2e"
STACK = f"SageMakerRetraining-{PIPELINE}"
SLACK_TOKEN = "xoxb-e2e-local-token"
SLACK_SECRET = "slack/e2e-bot"
SLACK_CHANNEL = "#ml-alerts"


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The pipeline's real template, synthesized without bundling (the functions run from this tree)."""
    context = {
        **cdk_json_context(),
        "aws:cdk:bundling-stacks": [],
        "pipelines": [
            {
                "name": PIPELINE,
                "data_prefix": "data/e2e",
                "window_days": 3,
                # moto's SageMaker completes transform jobs without running them: no scores to compare
                "evaluation": {"score_models": False},
                # ... and answers every invocation with a fixed body: nothing a smoke test could read
                "smoke_test": False,
                "polling": {
                    "interval_seconds": 1,
                    "max_training_wait_seconds": 600,
                    "max_deployment_wait_seconds": 300,
                },
                "slack": {"channel": SLACK_CHANNEL, "token_secret_name": SLACK_SECRET},
            }
        ],
    }
    assembly = build_app(context, outdir=str(tmp_path_factory.mktemp("cdk.out"))).synth()
    stack_template: dict[str, Any] = assembly.get_stack_by_name(STACK).template
    return stack_template


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(enforce_iam=iam_enforced_by_default()) as aws:  # as the local runtime has it by default
        aws.iam.usage = GRANT_USAGE  # counted in the report of grants in use
        yield aws


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(valid_token=SLACK_TOKEN, channels=(SLACK_CHANNEL,)) as server:
        yield server


@pytest.fixture
def pipeline(
    local_aws: LocalAws, template: dict[str, Any], slack: FakeSlackApi, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> DeployedPipeline:
    """A freshly deployed pipeline: every test starts from empty AWS state."""
    requests.post(f"{local_aws.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)
    stack = read_stack(template, stack_name=STACK, region=REGION)
    local_aws.iam.add_roles(read_roles(template, stack_name=STACK, region=REGION).values())
    deployed = deploy(local_aws, stack, function_environment={"SLACK_API_URL": slack.base_url})
    boto3.client("secretsmanager").create_secret(Name=SLACK_SECRET, SecretString=SLACK_TOKEN)
    return deployed


def data_bucket(pipeline: DeployedPipeline) -> str:
    return pipeline.stack.outputs["DataBucketName"]


def watermark_parameter(pipeline: DeployedPipeline) -> str:
    return pipeline.stack.outputs["WatermarkParameterName"]


def put_days(pipeline: DeployedPipeline, days: list[str], rows: bytes = b"3.0,1.0,2.0\n1.0,0.0,1.0\n") -> None:
    s3 = boto3.client("s3")
    for day in days:
        s3.put_object(Bucket=data_bucket(pipeline), Key=f"data/e2e/{day}.csv", Body=rows)


def project_root() -> Path:
    return Path(__file__).parents[2]
