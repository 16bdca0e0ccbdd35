"""The lineage questions and the `lineage` command, over run records in the local AWS (moto's S3 and SageMaker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from lambdas.check_data.core import DataFile, write_manifest
from lambdas.common.events import Execution
from lambdas.common.names import run_resource_name
from lambdas.record_lineage.core import LineageSettings, build_run_record, run_record_key, write_run_record
from local_runtime.server import LocalAws
from operator_cli import lineage
from operator_cli.cli import main
from operator_cli.target import TargetError, resolve_target, stack_outputs
from tests.local_aws import local_client
from tests.unit.lambdas.states import deployment_section, run_section, training_section, watermark_section

REGION, ACCOUNT = "us-east-1", "123456789012"
_unique = count()


class Pipeline:
    """A deployed pipeline's bucket, endpoint and run records, written as RecordLineage writes them."""

    def __init__(self, aws: LocalAws) -> None:
        self.aws, self.name = aws, f"p{next(_unique)}"
        self.bucket, self.endpoint = f"{self.name}-data", f"{self.name}-endpoint"
        self.s3, self.sagemaker = local_client(aws, "s3"), local_client(aws, "sagemaker")
        self.s3.create_bucket(Bucket=self.bucket)
        self.settings = LineageSettings(self.name, self.bucket, f"runs/{self.name}", self.endpoint)
        aws.stacks[f"SageMakerRetraining-{self.name}"] = {
            "DataBucketName": self.bucket,
            "RunsPrefix": self.settings.runs_prefix,
            "EndpointName": self.endpoint,
        }

    def run(self, day: int, days: list[str], *, deploy: bool = True, outcome: str | None = None) -> dict[str, Any]:
        """A run started on Nov `day` that trained on the given dates' files, deployed unless told otherwise."""
        start = datetime(2026, 11, day, 6, tzinfo=UTC)
        execution = Execution(
            id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:m:run-{day}", name=f"run-{day}", start_time=start
        )
        run_id = run_resource_name(self.name, execution)
        files = [DataFile(key=f"data/{self.name}/{d}.csv", day=start.date(), size=10) for d in days]
        manifest = write_manifest(self.s3, self.bucket, f"manifests/{run_id}.manifest", f"data/{self.name}", files)
        run = run_section(run_id=run_id, window_start=days[0], window_end=days[-1], manifest_uri=manifest)
        training = training_section(
            job_name=run_id, model_artifact=f"s3://{self.bucket}/m.tar.gz", metrics={"rmse": day}
        )
        deployment = None
        if deploy:
            deployment = deployment_section(endpoint_name=self.endpoint, endpoint_config_name=run_id, model_name=run_id)
            self.serve(run_id)
        record = build_run_record(
            run,
            training,
            execution,
            deployment=deployment,
            evaluation=None,
            watermark=watermark_section(outcome=outcome) if outcome else None,
            settings=self.settings,
            now=start + timedelta(hours=1),
        )
        write_run_record(self.s3, self.bucket, run_record_key(self.settings.runs_prefix, run_id), record)
        return record

    def serve(self, config: str) -> None:
        self.sagemaker.create_model(
            ModelName=config, PrimaryContainer={"Image": "img"}, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r"
        )
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {"VariantName": "v", "ModelName": config, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )
        try:
            self.sagemaker.describe_endpoint(EndpointName=self.endpoint)
        except self.sagemaker.exceptions.ClientError:
            self.sagemaker.create_endpoint(EndpointName=self.endpoint, EndpointConfigName=config)
        else:  # moto lacks UpdateEndpoint: replace the endpoint as an update would switch its config
            self.sagemaker.delete_endpoint(EndpointName=self.endpoint)
            self.sagemaker.create_endpoint(EndpointName=self.endpoint, EndpointConfigName=config)

    def records(self) -> lineage.RunRecords:
        location = lineage.PipelineLocation.from_outputs(self.name, self.aws.stacks[f"SageMakerRetraining-{self.name}"])
        return lineage.RunRecords(self.s3, location)

    def uri(self, day: str) -> str:
        return f"s3://{self.bucket}/data/{self.name}/{day}.csv"


@pytest.fixture
def pipeline(moto_aws: LocalAws) -> Pipeline:
    return Pipeline(moto_aws)


def test_the_files_behind_the_endpoint_are_those_of_the_run_it_serves(pipeline: Pipeline) -> None:
    # GIVEN two deployed runs on different windows, the second serving now
    pipeline.run(20, ["2026-11-18", "2026-11-19"])
    second = pipeline.run(22, ["2026-11-20", "2026-11-21"])

    answer = lineage.files_behind_endpoint(pipeline.sagemaker, pipeline.records(), pipeline.endpoint)

    assert answer.record == second
    assert answer.files == [pipeline.uri("2026-11-20"), pipeline.uri("2026-11-21")]


def test_a_config_no_run_recorded_is_an_error_naming_it(pipeline: Pipeline) -> None:
    pipeline.run(20, ["2026-11-19"])
    pipeline.serve("by-hand")

    with pytest.raises(lineage.LineageError, match="serves config by-hand, which no run record"):
        lineage.files_behind_endpoint(pipeline.sagemaker, pipeline.records(), pipeline.endpoint)


def test_a_missing_endpoint_is_an_error(pipeline: Pipeline) -> None:
    with pytest.raises(lineage.LineageError, match="does not exist"):
        lineage.files_behind_endpoint(pipeline.sagemaker, pipeline.records(), "nowhere")


def test_the_endpoints_trained_on_a_file_say_which_serves_now(pipeline: Pipeline) -> None:
    # GIVEN a file in both windows, one only in the first, and one no run trained on
    first = pipeline.run(20, ["2026-11-18", "2026-11-19"])
    second = pipeline.run(22, ["2026-11-19", "2026-11-20"])
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=f"data/{pipeline.name}/2026-11-25.csv", Body=b"1,2\n")

    shared = lineage.endpoints_trained_on(pipeline.sagemaker, pipeline.records(), pipeline.uri("2026-11-19"))
    older = lineage.endpoints_trained_on(pipeline.sagemaker, pipeline.records(), f"data/{pipeline.name}/2026-11-18.csv")
    never = lineage.endpoints_trained_on(pipeline.sagemaker, pipeline.records(), pipeline.uri("2026-11-25"))

    assert [(t.record["run_id"], t.serving_now) for t in shared] == [(second["run_id"], True), (first["run_id"], False)]
    assert [(t.record["run_id"], t.serving_now) for t in older] == [(first["run_id"], False)]
    assert never == []


def test_a_file_that_does_not_exist_and_trained_nothing_is_not_found(pipeline: Pipeline) -> None:
    pipeline.run(20, ["2026-11-18"])

    with pytest.raises(lineage.LineageNotFoundError, match=r"2026-11-81\.csv: no deployed model .*does not exist$"):
        lineage.endpoints_trained_on(pipeline.sagemaker, pipeline.records(), pipeline.uri("2026-11-81"))


def test_history_lists_deployed_runs_only_newest_first(pipeline: Pipeline) -> None:
    first = pipeline.run(20, ["2026-11-19"])
    pipeline.run(21, ["2026-11-20"], deploy=False, outcome="rejected")
    third = pipeline.run(22, ["2026-11-21"])

    history = lineage.deployment_history(pipeline.records(), pipeline.endpoint)

    assert [r["run_id"] for r in history] == [third["run_id"], first["run_id"]]
    assert [h["metrics"] for h in lineage.history_to_json(history)] == [{"rmse": 22}, {"rmse": 20}]


def test_the_local_stack_outputs_come_from_the_server(pipeline: Pipeline) -> None:
    target = resolve_target(endpoint_url=pipeline.aws.endpoint_url, profile=None, region=None)

    assert stack_outputs(target, pipeline.name)["DataBucketName"] == pipeline.bucket
    with pytest.raises(TargetError, match="stack SageMakerRetraining-absent is not deployed here"):
        stack_outputs(target, "absent")


def test_an_unreachable_local_runtime_says_to_start_it() -> None:
    target = resolve_target(endpoint_url="http://127.0.0.1:9", profile=None, region=None)

    with pytest.raises(TargetError, match="make serve"):
        stack_outputs(target, "demo")


def test_the_command_answers_as_json_and_as_text(pipeline: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    served = pipeline.run(22, ["2026-11-20", "2026-11-21"])
    flags = ["--pipeline", pipeline.name, "--endpoint-url", pipeline.aws.endpoint_url]

    assert main(["lineage", "files", *flags, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["run_id"] == served["run_id"]
    assert answer["files"] == [pipeline.uri("2026-11-20"), pipeline.uri("2026-11-21")]

    assert main(["lineage", "endpoints", pipeline.uri("2026-11-21"), *flags]) == 0
    assert f"{pipeline.endpoint}" in capsys.readouterr().out

    assert main(["lineage", "history", *flags]) == 0
    text = capsys.readouterr().out
    assert f"Deployments to endpoint {pipeline.endpoint}" in text
    assert served["run_id"] in text


def test_the_command_reports_a_pipeline_that_is_not_deployed(
    moto_aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["lineage", "files", "--pipeline", "absent", "--endpoint-url", moto_aws.endpoint_url])

    assert code == 1
    assert "SageMakerRetraining-absent is not deployed here" in capsys.readouterr().err
