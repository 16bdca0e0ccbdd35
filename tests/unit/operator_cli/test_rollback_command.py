"""`sagemaker-retraining rollback` against the local server (moto's SageMaker behind it): what it prints, records,
and refuses."""

from __future__ import annotations

import json

import pytest

from local_runtime.server import LocalAws
from operator_cli.cli import main
from tests.local_aws import local_client
from tests.unit.operator_cli.rollback_pipeline import Deployed


@pytest.fixture
def served(moto_aws: LocalAws) -> Deployed:
    deployed = Deployed(lambda service: local_client(moto_aws, service))
    moto_aws.stacks[f"SageMakerRetraining-{deployed.name}"] = {
        "DataBucketName": deployed.bucket,
        "RunsPrefix": deployed.resources.runs_prefix,
        "EndpointName": deployed.endpoint,
        "StateMachineArn": deployed.machine,
        "WatermarkParameterName": str(deployed.resources.watermark_parameter),
    }
    deployed.train()
    deployed.train()
    return deployed


def test_the_command_rolls_back_records_the_caller_and_says_the_watermark_is_unchanged(
    moto_aws: LocalAws, served: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--pipeline", served.name, "--endpoint-url", moto_aws.endpoint_url]

    assert main(["rollback", *flags, "--reason", "bad model"]) == 0

    out = capsys.readouterr()
    assert out.out.startswith(f"Rolled back endpoint {served.endpoint} to version 1 of {served.group}: InService.")
    assert "The watermark is unchanged: the next run trains and is judged as usual" in out.out
    assert "waiting for InService" in out.err
    key = next(line.split("/", 3)[-1] for line in out.out.splitlines() if line.strip().startswith("record"))
    record = json.loads(served.s3.get_object(Bucket=served.bucket, Key=key)["Body"].read())
    identity = served.sts.get_caller_identity()
    assert record["rollback"]["requested_by"] == {
        "arn": identity["Arn"],
        "account": identity["Account"],
        "user_id": identity["UserId"],
    }
    assert record["rollback"]["reason"] == "bad model"


@pytest.mark.parametrize(
    ("version", "code", "error"),
    [
        ("7", 1, "sagemaker-retraining: rollback: version 7 of {group} not found in the local runtime at {url} "
         "(the newest is version 2)\n"),
        ("2", 1, "sagemaker-retraining: rollback: version 2 of {group} is what endpoint {endpoint} serves now "
         "(model {model})\n"),
        ("seven", 2, "sagemaker-retraining: error: --version 'seven': expected a version number (1 or more) or a "
         "model package version's ARN\n"),
    ],
)  # fmt: skip
def test_the_command_refuses_in_one_line(
    moto_aws: LocalAws, served: Deployed, capsys: pytest.CaptureFixture[str], version: str, code: int, error: str
) -> None:
    flags = ["--pipeline", served.name, "--endpoint-url", moto_aws.endpoint_url, "--version", version]

    assert main(["rollback", *flags]) == code

    expected = error.format(
        group=served.group, url=moto_aws.endpoint_url, endpoint=served.endpoint, model=served.serving()[1]
    )
    assert capsys.readouterr() == ("", expected)


def test_without_waiting_the_command_prints_json_and_records_the_request(
    moto_aws: LocalAws, served: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--pipeline", served.name, "--endpoint-url", moto_aws.endpoint_url, "--version", "1"]

    assert main(["rollback", *flags, "--no-wait", "--json"]) == 0

    printed = capsys.readouterr()
    answer = json.loads(printed.out)
    assert (answer["outcome"], answer["chosen"], answer["after"]["version"], answer["before"]["version"]) == (
        "requested",
        "named",
        1,
        2,
    )
    assert printed.err == ""  # no progress line in JSON mode
    key = answer["record"].split("/", 3)[-1]
    record = json.loads(served.s3.get_object(Bucket=served.bucket, Key=key)["Body"].read())
    assert (record["outcome"], record["deployment"]["deployed_at"]) == ("requested", None)
