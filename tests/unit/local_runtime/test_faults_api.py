"""The faults over HTTP: scripted, listed and cleared, Slack's included; aimed only at what exists."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from local_runtime.faults import Faults
from local_runtime.faults_api import KnownTargets, UnknownTargetError, check_targets
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws
from local_runtime.slack_api import LocalSlackApi

REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTION = "SageMakerRetraining-ops-StartTrainingJob"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
OTHER = "SageMakerRetraining-ops-DeployModel"
BUCKET = "faults-api-tests"
TOKEN, CHANNEL = "xoxb-faults-api", "#alerts"
KNOWN = KnownTargets(
    functions=[(FUNCTION, FUNCTION_ARN), (OTHER, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{OTHER}")],
    endpoints=["ops"],
    models=["ops-2026-12-01-abc"],
    pipelines=["ops"],
)


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws() as aws:
        handler = "tests.unit.local_runtime.fault_handler.handler"
        aws.register_function(LocalFunction(FUNCTION, FUNCTION_ARN, handler, {"OUTPUT_BUCKET": BUCKET}))
        aws.stacks["SageMakerRetraining-ops"] = {"EndpointName": "ops"}
        yield aws


@pytest.fixture
def faults(local_aws: LocalAws, aws_env: None) -> Iterator[Faults]:
    client(local_aws, "s3").create_bucket(Bucket=BUCKET)
    yield local_aws.faults
    local_aws.faults.clear()


@pytest.fixture
def slack(local_aws: LocalAws) -> Iterator[LocalSlackApi]:
    with LocalSlackApi(valid_token=TOKEN, channels=[CHANNEL]) as api:
        local_aws.faults.attach_slack(api)
        yield api


def client(aws: LocalAws, service: str, config: Config | None = None) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=aws.endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=config,
    )


def url(aws: LocalAws) -> str:
    return f"{aws.endpoint_url}/_local/faults"


def post_to_slack(slack: LocalSlackApi) -> dict[str, Any]:
    response = requests.post(
        f"{slack.base_url}chat.postMessage",
        json={"channel": CHANNEL, "text": "hello"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    answer: dict[str, Any] = response.json()
    return answer


# --- the targets ---


@pytest.mark.parametrize(
    ("fault", "arguments"),
    [
        ("throttle_lambda", {"function": FUNCTION}),
        ("throttle_lambda", {"function": FUNCTION_ARN}),
        ("crash_lambda", {"function": "starttrainingjob"}),  # a part of its name, whatever the case
        ("fail_invocations", {"endpoint": "ops", "model": "ops-2026-12-01-abc"}),
        ("slow_endpoint_deployment", {"seconds": 2, "endpoint": "ops"}),
        ("fail_training_job", {"pipeline": "ops"}),
        ("stall_training_job", {}),  # no target: every pipeline's next job
        ("stall_transform_job", {"pipeline": "ops"}),
        ("aws_error", {"service": "sagemaker", "action": "CreateTrainingJob", "code": "X"}),
    ],
)
def test_a_fault_aimed_at_what_exists_is_let_through(fault: str, arguments: dict[str, Any]) -> None:
    check_targets(fault, arguments, KNOWN)


@pytest.mark.parametrize(
    ("fault", "arguments", "message"),
    [
        (
            "throttle_lambda",
            {"function": "StartTraining-Job"},
            "throttle_lambda: no function is named, or has a name containing, 'StartTraining-Job'; the functions: "
            f"{OTHER}, {FUNCTION}",
        ),
        ("crash_lambda", {"function": "arn:aws:lambda:us-east-1:1:function:x"}, "no function is named"),
        ("fail_invocations", {"endpoint": "opz"}, "fail_invocations: there is no endpoint 'opz'; the endpoints: ops"),
        ("fail_invocations", {"model": "old"}, "there is no model 'old'; the models: ops-2026-12-01-abc"),
        ("slow_endpoint_deployment", {"seconds": 1, "endpoint": "x"}, "there is no endpoint 'x'"),
        ("fail_training_job", {"pipeline": "churn"}, "there is no pipeline 'churn'; the pipelines: ops"),
        ("stall_training_job", {"pipeline": "churn"}, "there is no pipeline 'churn'"),
        ("stall_transform_job", {"pipeline": "churn"}, "there is no pipeline 'churn'"),
    ],
)
def test_a_fault_aimed_at_what_does_not_exist_is_refused_naming_it(
    fault: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(UnknownTargetError, match=re.escape(message)):
        check_targets(fault, arguments, KNOWN)


def test_a_refusal_lists_at_most_forty_names() -> None:
    known = KnownTargets(functions=[], endpoints=[], models=[f"m-{i:03d}" for i in range(45)], pipelines=[])

    with pytest.raises(UnknownTargetError, match=r"m-039 and 5 more$"):
        check_targets("fail_invocations", {"model": "x"}, known)


# --- over HTTP ---


def test_faults_are_scripted_listed_and_cleared_over_http(local_aws: LocalAws, faults: Faults) -> None:
    # GIVEN a terminal next to `serve`: a fault scripted over HTTP
    created = requests.post(url(local_aws), json={"fault": "throttle_lambda", "function": FUNCTION}, timeout=5)

    # WHEN the function is invoked twice, and the faults are listed, then cleared
    lambda_client = client(local_aws, "lambda", Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError):
        lambda_client.invoke(FunctionName=FUNCTION, Payload=b'{"value": 1}')
    lambda_client.invoke(FunctionName=FUNCTION, Payload=b'{"value": 1}')
    listed = requests.get(url(local_aws), timeout=5).json()
    cleared = requests.delete(url(local_aws), timeout=5).json()

    # THEN the fault fired once, the listing says so, and nothing is armed after the clear
    assert created.status_code == 201
    assert created.json() == {"description": f"throttle Lambda {FUNCTION}", "times": 1, "fired": 0}
    assert listed == {"faults": [{"description": f"throttle Lambda {FUNCTION}", "times": 1, "fired": 1}]}
    assert cleared == {"faults": []}
    assert faults.armed == []


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"not json", "Expecting value"), (b"[]", "the body must be a JSON object"), (b'{"fault": "x"}', "unknown")],
)
def test_a_bad_fault_request_is_answered_400(local_aws: LocalAws, faults: Faults, body: bytes, message: str) -> None:
    response = requests.post(url(local_aws), data=body, timeout=5)

    assert response.status_code == 400
    assert message in response.json()["message"]
    assert faults.scripted == []


@pytest.mark.reliability(
    "input",
    "A fault posted to the local runtime's /_local/faults aimed at a function, endpoint or pipeline it does not have",
    "Answered 404 naming it and listing what exists; nothing is armed",
)
@pytest.mark.parametrize(
    ("request_body", "named"),
    [
        ({"fault": "throttle_lambda", "function": "StartTrainnigJob"}, "StartTrainnigJob"),
        ({"fault": "crash_lambda", "function": "nosuch"}, "nosuch"),
        ({"fault": "fail_invocations", "endpoint": "churn"}, "churn"),
        ({"fault": "fail_training_job", "pipeline": "churn"}, "churn"),
    ],
)
def test_a_fault_for_something_that_does_not_exist_is_answered_404(
    local_aws: LocalAws, faults: Faults, request_body: dict[str, Any], named: str
) -> None:
    # WHEN a fault names a function, endpoint or pipeline this runtime does not have
    response = requests.post(url(local_aws), json=request_body, timeout=5)

    # THEN it is refused, naming it and what exists, and nothing is armed
    assert response.status_code == 404
    message = response.json()["message"]
    assert repr(named) in message
    assert (FUNCTION in message) if "function" in request_body else ("ops" in message)
    assert faults.scripted == []


def test_a_fault_for_a_deployed_pipelines_endpoint_is_armed(local_aws: LocalAws, faults: Faults) -> None:
    # The endpoint does not exist yet (its first run creates it), but the deployed stack names it.
    response = requests.post(url(local_aws), json={"fault": "fail_invocations", "endpoint": "ops"}, timeout=5)

    assert response.status_code == 201
    assert response.json()["description"] == "invocations of the next deployments of endpoint ops answer 500"


def test_slack_faults_are_armed_listed_and_disarmed_over_http(
    local_aws: LocalAws, faults: Faults, slack: LocalSlackApi
) -> None:
    # GIVEN Slack's token refused, over HTTP, until cleared
    armed = requests.post(url(local_aws), json={"fault": "reject_token", "times": None}, timeout=5)

    # WHEN a message is posted, the faults listed, cleared, and another message posted
    refused = post_to_slack(slack)
    listed = requests.get(url(local_aws), timeout=5).json()
    requests.delete(url(local_aws), timeout=5)
    accepted = post_to_slack(slack)

    # THEN Slack refused the first as for a revoked token, the listing counted it, and the clear disarmed it
    assert armed.status_code == 201
    assert refused == {"ok": False, "error": "invalid_auth"}
    assert listed == {"faults": [{"description": "Slack refuses the token (invalid_auth)", "times": None, "fired": 1}]}
    assert accepted["ok"] is True


@pytest.mark.parametrize(
    ("request_body", "answer"),
    [
        ({"fault": "rate_limit", "retry_after": 2}, {"ok": False, "error": "ratelimited"}),
        ({"fault": "reject_token", "times": 1, "error": "token_revoked"}, {"ok": False, "error": "token_revoked"}),
    ],
)
def test_each_slack_fault_takes_its_arguments_over_http(
    local_aws: LocalAws, faults: Faults, slack: LocalSlackApi, request_body: dict[str, Any], answer: dict[str, Any]
) -> None:
    armed = requests.post(url(local_aws), json=request_body, timeout=5)

    assert armed.status_code == 201
    assert post_to_slack(slack) == answer
    assert post_to_slack(slack)["ok"] is True  # once, the default


def test_a_slow_slack_is_armed_over_http(local_aws: LocalAws, faults: Faults, slack: LocalSlackApi) -> None:
    armed = requests.post(url(local_aws), json={"fault": "delay", "seconds": 0.5}, timeout=5)

    with pytest.raises(requests.Timeout):
        requests.post(f"{slack.base_url}chat.postMessage", json={"channel": CHANNEL, "text": "x"}, timeout=0.2)

    assert armed.status_code == 201
    assert armed.json()["description"] == "Slack answers after 0.5 s"


def test_a_slack_fault_without_a_local_slack_server_is_answered_409(faults: Faults) -> None:
    # GIVEN a runtime whose deployments post to no local Slack server
    with LocalAws() as aws:
        response = requests.post(url(aws), json={"fault": "reject_token"}, timeout=5)

    assert response.status_code == 409
    assert "reject_token is a fault of the local Slack server" in response.json()["message"]
