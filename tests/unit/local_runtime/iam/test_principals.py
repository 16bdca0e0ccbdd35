"""Each function runs as a session of its own execution role, as Lambda runs it; other callers stay the account."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import boto3
import pytest

from local_runtime.iam.principals import Principals, RoleSession
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws

REGION, ACCOUNT = "eu-west-1", "123456789012"
HANDLER = "tests.unit.local_runtime.iam.caller_handler.whoami"
ROLES = {"train": f"arn:aws:iam::{ACCOUNT}:role/TrainRole", "deploy": f"arn:aws:iam::{ACCOUNT}:role/service/DeployRole"}


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws() as aws:
        for name, role in ROLES.items():
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            aws.register_function(LocalFunction(name, arn, HANDLER, role_arn=role))
        aws.register_function(LocalFunction("no-role", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:no-role", HANDLER))
        yield aws


def invoke(aws: LocalAws, name: str) -> dict[str, object]:
    client = boto3.client("lambda", endpoint_url=aws.endpoint_url, region_name=REGION)
    answer: dict[str, object] = json.loads(client.invoke(FunctionName=name)["Payload"].read())
    return answer


def test_each_function_signs_with_credentials_of_its_own_role(local_aws: LocalAws, aws_env: None) -> None:
    # WHEN two functions with different roles run, one after the other in this one process
    train, deploy = invoke(local_aws, "train"), invoke(local_aws, "deploy")

    # THEN each one's client signs with a temporary key the server maps back to the function's role and name
    assert train["access_key_id"] != deploy["access_key_id"]
    assert train["has_session_token"]
    assert deploy["has_session_token"]
    assert local_aws.principals.find(str(train["access_key_id"])) == RoleSession(ROLES["train"], "train")
    found = local_aws.principals.find(str(deploy["access_key_id"]))
    assert found is not None
    assert found.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/DeployRole/deploy"


def test_a_function_without_a_role_and_unknown_keys_stay_the_account(local_aws: LocalAws, aws_env: None) -> None:
    answer = invoke(local_aws, "no-role")

    assert answer["access_key_id"] == "local"
    assert local_aws.principals.find("local") is None
    assert local_aws.principals.find("testing") is None


def test_a_session_gets_the_same_credentials_every_time() -> None:
    principals = Principals()

    first = principals.issue(ROLES["train"], "train")

    assert principals.issue(ROLES["train"], "train") == first
    assert first.access_key_id.startswith("ASIA")
    assert len(first.access_key_id) == 20
    assert principals.issue(ROLES["train"], "other").access_key_id != first.access_key_id
