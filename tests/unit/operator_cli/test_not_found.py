"""Every "not found" exits 1 with one line naming what is missing and where the command looked, before any output.

Against the local AWS (moto behind the local server, which answers the stacks' outputs), with one pipeline deployed
by hand: its stack outputs, a state machine, a data bucket; no endpoint and, until a test registers one, no model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from local_runtime.server import LocalAws
from operator_cli.cli import main
from operator_cli.not_found import is_not_found
from tests.local_aws import local_client

PIPELINE = "ops"
BUCKET = "ops-data"
ROLE = "arn:aws:iam::123456789012:role/ops"
MISSING = "nosuch"


@pytest.fixture(scope="module")
def deployed(moto_aws: LocalAws) -> LocalAws:
    """The pipeline `ops`: a one-state machine, a bucket with one data file, the stack's outputs."""
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    machine = local_client(moto_aws, "stepfunctions").create_state_machine(
        name=f"sagemaker-retraining-{PIPELINE}", roleArn=ROLE, definition=json.dumps(definition)
    )["stateMachineArn"]
    s3 = local_client(moto_aws, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"data/{PIPELINE}/2026-11-20.csv", Body=b"1,2\n")
    moto_aws.stacks[f"SageMakerRetraining-{PIPELINE}"] = {
        "StateMachineArn": machine,
        "DataBucketName": BUCKET,
        "EndpointName": PIPELINE,
    }
    return moto_aws


def cli(aws: LocalAws, *argv: str) -> int:
    return main([*argv, "--endpoint-url", aws.endpoint_url])


def the_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    """The one line on stderr, with nothing on stdout: the command failed before printing anything."""
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"sagemaker-retraining: {command}: ")
    return lines[0]


@pytest.mark.reliability(
    "input",
    "A pipeline that is not deployed, given to every command of the CLI (models --pipeline nosuch among them)",
    "Exits 1 with one line naming the pipeline and where it was looked for, before any other output",
)
@pytest.mark.parametrize(
    "argv",
    [
        ["runs", "start"],
        ["runs", "list"],
        ["runs", "show", "run-1"],
        ["runs", "follow", "run-1"],
        ["models"],
        ["approve"],
        ["reject", "--version", "1"],
        ["lineage", "files"],
        ["lineage", "endpoints", "data/x.csv"],
        ["lineage", "history"],
        ["predict", "--csv", "{rows}"],
        ["transform", "--input", f"s3://{BUCKET}/data/"],
    ],
    ids=lambda argv: "-".join(a for a in argv if not a.startswith(("-", "{", "s3:"))),
)
def test_a_pipeline_that_is_not_deployed_is_named_with_where_it_was_looked_for(
    deployed: LocalAws, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("1,2\n")
    argv = [arg.replace("{rows}", str(rows)) for arg in argv]

    assert cli(deployed, *argv, "--pipeline", MISSING) == 1

    error = the_error(capsys, argv[0])
    assert f"pipeline {MISSING} not found in the local runtime at {deployed.endpoint_url}: " in error
    assert f"stack SageMakerRetraining-{MISSING} is not deployed here; deployed: " in error
    if argv[0] in ("models", "approve", "reject"):  # the group outlives the stack: neither is there
        assert error.endswith(f"; no model package group {MISSING}-models either")


@pytest.mark.parametrize("action", ["show", "follow"])
@pytest.mark.parametrize("by", ["name", "arn"])
def test_an_execution_that_does_not_exist_is_named_before_anything_is_printed(
    deployed: LocalAws, action: str, by: str, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = deployed.stacks[f"SageMakerRetraining-{PIPELINE}"]["StateMachineArn"]
    given = (
        ["nope", "--pipeline", PIPELINE] if by == "name" else [f"{machine.replace('stateMachine', 'execution')}:nope"]
    )

    assert cli(deployed, "runs", action, *given) == 1

    assert the_error(capsys, "runs").endswith(
        f": execution nope not found: state machine sagemaker-retraining-{PIPELINE} in the local runtime at "
        f"{deployed.endpoint_url} has no execution of that name"
    )


def test_follow_of_an_execution_that_exists_prints_its_name_then_its_states(
    deployed: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = deployed.stacks[f"SageMakerRetraining-{PIPELINE}"]["StateMachineArn"]
    local_client(deployed, "stepfunctions").start_execution(stateMachineArn=machine, name="exists", input="{}")

    assert cli(deployed, "runs", "follow", "exists", "--pipeline", PIPELINE) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Following exists (Ctrl-C stops following, not the run)"
    assert lines[-1].startswith("■ SUCCEEDED: done")


def register_version(aws: LocalAws) -> None:
    sagemaker = local_client(aws, "sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=f"{PIPELINE}-models")
    sagemaker.create_model_package(
        ModelPackageGroupName=f"{PIPELINE}-models",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )


def test_a_deployed_pipeline_that_registered_nothing_lists_no_version_and_has_none_to_decide(
    deployed: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a pipeline's stack, and no model package group yet (the first run's version creates it)
    deployed.stacks["SageMakerRetraining-fresh"] = {"DataBucketName": BUCKET}

    # WHEN the versions are listed, THEN none, and why
    assert cli(deployed, "models", "--pipeline", "fresh") == 0
    assert capsys.readouterr().out == (
        "no model versions registered for pipeline fresh: its model package group fresh-models comes "
        "with the first version a run registers\n"
    )

    # WHEN a version is approved, THEN the group is named as not found, and where
    assert cli(deployed, "approve", "--pipeline", "fresh") == 1
    assert the_error(capsys, "approve").endswith(
        f": model package group fresh-models not found in the local runtime at {deployed.endpoint_url}: "
        "pipeline fresh has registered no version yet (a run creates the group with its first version)"
    )


def test_a_version_that_does_not_exist_is_named_with_its_group_and_where(
    deployed: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    register_version(deployed)

    assert cli(deployed, "reject", "--pipeline", PIPELINE, "--version", "7") == 1

    assert the_error(capsys, "reject").endswith(
        f": version 7 of {PIPELINE}-models not found in the local runtime at {deployed.endpoint_url} (the newest is 1)"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["files", "--endpoint", MISSING], f"endpoint {MISSING} does not exist"),
        (["history", "--endpoint", MISSING], f"endpoint {MISSING}: no run record of pipeline {PIPELINE} names it, and"),
        (["endpoints", f"data/{PIPELINE}/2026-11-99.csv"], f"data file s3://{BUCKET}/data/{PIPELINE}/2026-11-99.csv"),
    ],
    ids=["files", "history", "endpoints"],
)
def test_lineage_of_an_endpoint_or_file_that_does_not_exist_names_it_and_where(
    deployed: LocalAws, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(deployed, "lineage", *argv, "--pipeline", PIPELINE) == 1

    error = the_error(capsys, "lineage")
    assert message in error
    assert error.endswith(f"does not exist in the local runtime at {deployed.endpoint_url}")


def test_lineage_of_a_file_that_exists_and_trained_nothing_is_an_empty_answer(
    deployed: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    key = f"data/{PIPELINE}/2026-11-20.csv"

    assert cli(deployed, "lineage", "endpoints", key, "--pipeline", PIPELINE) == 0

    assert capsys.readouterr().out == f"No deployed model was trained on {key}.\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", f"s3://{BUCKET}/data/{PIPELINE}/", "--model", MISSING], f"model {MISSING} not found"),
        (
            ["--input", f"s3://{BUCKET}/data/other/", "--model", MISSING],
            f"no object at or under s3://{BUCKET}/data/other/",
        ),
        (["--input", f"s3://{MISSING}-bucket/data/"], f"no object at or under s3://{MISSING}-bucket/data/"),
    ],
    ids=["model", "prefix", "bucket"],
)
def test_transform_of_a_model_or_input_that_does_not_exist_names_it_and_starts_no_job(
    deployed: LocalAws, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(deployed, "transform", *argv, "--pipeline", PIPELINE) == 1

    assert the_error(capsys, "transform").endswith(f": {message} in the local runtime at {deployed.endpoint_url}")
    assert local_client(deployed, "sagemaker").list_transform_jobs()["TransformJobSummaries"] == []


@pytest.mark.parametrize(
    ("code", "message", "missing"),
    [
        ("ValidationException", "Could not find model 'arn:aws:sagemaker:us-east-1:1:model/x'.", True),
        ("ValidationException", "ModelPackageGroup arn:... does not exist.", True),
        ("ValidationException", "1 validation error detected: Value 'x y' at 'modelName' failed", False),
        ("NoSuchBucket", "The specified bucket does not exist", True),
        ("404", "Not Found", True),
        ("ExecutionDoesNotExist", "Execution Does Not Exist: 'arn'", True),
        ("AccessDeniedException", "not authorized to perform sagemaker:DescribeModel", False),
    ],
)
def test_not_found_is_told_from_a_refusal_or_a_bad_request(code: str, message: str, missing: bool) -> None:
    error = ClientError({"Error": {"Code": code, "Message": message}}, "Describe")

    assert is_not_found(error) is missing
