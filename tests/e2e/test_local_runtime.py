"""The workflow in the local runtime with SageMaker emulated for real: training runs, endpoints answer."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import numpy as np
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, fire_schedule, run_execution, wait_for_execution
from local_runtime.lambda_invoke import InvocationResult, LocalFunction
from local_runtime.runtime import LocalRuntime, SlackTarget, synthesize
from tests.fakes.slack_api import FakeSlackApi

pytestmark = pytest.mark.e2e

PIPELINE = "local"
STACK = f"SageMakerRetraining-{PIPELINE}"
TOKEN, CHANNEL = "xoxb-local-e2e", "#ml-alerts"
BROKEN_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/no-such-server:1"
_names = count(1)


def day(offset: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=offset)).isoformat()


def rows(seed: int, n: int = 40) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1, the relation the model must learn."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.01, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


PIPELINE_CONFIG: dict[str, Any] = {
    "name": PIPELINE,
    "data_prefix": "data/local",
    "window_days": 5,
    "hyperparameters": {"predictor_type": "regressor"},
    "polling": {
        "interval_seconds": 1,
        "max_training_wait_seconds": 600,
        "max_deployment_wait_seconds": 300,
    },
    "slack": {"channel": CHANNEL, "token_secret_name": "local/slack-bot"},
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synthesize({"pipelines": [PIPELINE_CONFIG]})[STACK]


@pytest.fixture(scope="module")
def unscored_template() -> dict[str, Any]:
    """The pipeline without the held-out evaluation's transform jobs: a model goes from training to the endpoint."""
    return synthesize({"pipelines": [{**PIPELINE_CONFIG, "evaluation": {"score_models": False}}]})[STACK]


@pytest.fixture(scope="module")
def keep_two_template() -> dict[str, Any]:
    return synthesize({"pipelines": [{**PIPELINE_CONFIG, "housekeeping": {"keep_last": 2}}]})[STACK]


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as server:
        yield server


@pytest.fixture
def runtime(aws_env: None) -> Iterator[LocalRuntime]:
    with LocalRuntime() as local:
        yield local


def deploy(runtime: LocalRuntime, template: dict[str, Any], slack_url: str, **environment: str) -> DeployedPipeline:
    return runtime.deploy_template(
        template, stack_name=STACK, slack=SlackTarget(api_url=slack_url, token=TOKEN), function_environment=environment
    )


def upload(runtime: LocalRuntime, pipeline: DeployedPipeline, offsets: list[int], body: bytes | None = None) -> None:
    s3 = runtime.client("s3")
    for offset in offsets:
        s3.put_object(
            Bucket=pipeline.stack.outputs["DataBucketName"],
            Key=f"data/local/{day(offset)}.csv",
            Body=body if body is not None else rows(offset),
        )


def start(
    runtime: LocalRuntime, pipeline: DeployedPipeline, execution_input: dict[str, Any] | None = None
) -> ExecutionRecord:
    return run_execution(
        runtime.aws, pipeline, name=f"run-{next(_names)}", execution_input=execution_input, timeout_seconds=120
    )


def scheduled(runtime: LocalRuntime, pipeline: DeployedPipeline) -> ExecutionRecord:
    arn = fire_schedule(runtime.aws, pipeline, name=f"schedule-{next(_names)}")
    return wait_for_execution(runtime.aws, arn, region=runtime.region, timeout_seconds=120)


def _entered(sfn: Any, arn: str, state: str, *, timeout_seconds: float) -> bool:
    """Wait until the execution has entered `state`; False at the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        if any(event.get("stateEnteredEventDetails", {}).get("name") == state for event in events):
            return True
        time.sleep(0.1)
    return False


def watermark(runtime: LocalRuntime, pipeline: DeployedPipeline) -> dict[str, Any]:
    name = pipeline.stack.outputs["WatermarkParameterName"]
    value: dict[str, Any] = json.loads(runtime.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
    return value


def predict(runtime: LocalRuntime, features: list[float]) -> float:
    response = runtime.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=PIPELINE, ContentType="text/csv", Body=",".join(map(str, features)).encode()
    )
    score: float = json.loads(response["Body"].read())["predictions"][0]["score"]
    return score


def test_scheduled_run_trains_a_real_model_and_serves_it(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [3, 2, 1])

    record = scheduled(runtime, pipeline)

    assert record.status == "SUCCEEDED", record.cause
    training = record.output["training"]
    job = runtime.client("sagemaker").describe_training_job(TrainingJobName=training["job_name"])
    assert job["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-1] == "Completed"
    assert training["metrics"]  # Linear Learner's final metrics, reported by the job
    assert predict(runtime, [1.0, 1.0]) == pytest.approx(2.0, abs=0.2)  # 3 - 2 + 1
    assert watermark(runtime, pipeline)["newest_data_date"] == day(1)
    assert record.output["input"]["trigger"] == "schedule"
    assert len(slack.messages) == 4


@pytest.mark.reliability(
    "input",
    "Keys with no parseable date or layout, a non-CSV file in a day's folder, and an empty file, next to good files",
    "The day's non-CSV file and the empty file are skipped with their reason, the keys of no layout listed by name; "
    "both are counted and named in the run's state and the Slack message; the manifest holds only the good files "
    "and the run completes",
)
def test_undated_keys_and_empty_files_are_skipped_and_reported(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN good files in both layouts, and beside them a backup copy, a non-CSV partition file and an empty day
    pipeline = deploy(runtime, template, slack.base_url)
    bucket = pipeline.stack.outputs["DataBucketName"]
    s3 = runtime.client("s3")
    upload(runtime, pipeline, [3, 1])
    s3.put_object(Bucket=bucket, Key=f"data/local/dt={day(2)}/part-0.csv", Body=rows(2))
    odd = {
        f"data/local/dt={day(2)}/notes.txt": (b"not data\n", "not a .csv or .csv.gz file"),
        f"data/local/{day(2)}.csv": (b"", "file is empty"),
    }
    stray = f"data/local/{day(1)}.csv.bak"  # in no layout
    for key, (body, _) in {**odd, stray: (rows(9), "")}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    # WHEN the run starts
    record = start(runtime, pipeline)

    # THEN it trains on the good files only (the newest day's held out), and says which keys it skipped and why
    assert record.status == "SUCCEEDED", record.cause
    run = record.output["run"]
    assert (run["file_count"], run["holdout_file_count"]) == (2, 1)
    assert run["skipped_count"] == 2
    reasons = {entry["key"]: entry["reason"] for entry in run["skipped_keys"]}
    assert reasons == {key: reason for key, (_, reason) in odd.items()}
    assert (run["unrecognised_count"], run["unrecognised_keys"]) == (1, [stray])
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=run["manifest_uri"].split(f"{bucket}/", 1)[1])["Body"].read()
    )
    assert sorted(manifest[1:]) == sorted([f"{day(3)}.csv", f"dt={day(2)}/part-0.csv"])
    assert "2 skipped: " in slack.messages[0].block_text
    assert f"1 in no layout, never read: `{stray}`" in slack.messages[0].block_text


@pytest.mark.reliability(
    "input",
    "The watermark parameter is deleted",
    "The next run warns in its log, treats the pipeline as never trained, trains and deploys, and writes the "
    "parameter again",
)
def test_a_deleted_watermark_is_treated_as_never_trained_with_a_warning(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN a pipeline that trained once, whose watermark parameter was then deleted
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [2, 1])
    assert start(runtime, pipeline).status == "SUCCEEDED"
    runtime.client("ssm").delete_parameter(Name=pipeline.stack.outputs["WatermarkParameterName"])
    # CheckData's Powertools logger ("check_data") keeps its own handler; listen to it directly
    warnings: list[logging.LogRecord] = []
    tap = logging.Handler(logging.WARNING)
    tap.emit = warnings.append  # type: ignore[method-assign]
    logging.getLogger("check_data").addHandler(tap)

    # WHEN the next run starts, with no newer data
    try:
        record = start(runtime, pipeline)
    finally:
        logging.getLogger("check_data").removeHandler(tap)

    # THEN it warns, trains as if never trained, and records the watermark again
    assert record.status == "SUCCEEDED", record.cause
    assert (record.output["run"]["watermark_missing"], record.output["run"]["reason"]) == (True, "never trained before")
    assert any("watermark parameter not found" in warning.getMessage() for warning in warnings)
    assert watermark(runtime, pipeline)["newest_data_date"] == day(1)


def test_second_run_without_new_data_then_a_new_day_updates_the_endpoint(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [2, 1])
    first = start(runtime, pipeline)

    idle = start(runtime, pipeline)
    upload(runtime, pipeline, [0])
    update = start(runtime, pipeline)

    assert first.status == "SUCCEEDED", first.cause
    assert idle.states_entered()[-1] == "NoNewData"
    assert update.status == "SUCCEEDED", update.cause
    assert update.output["deployment"]["action"] == "update"
    endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)
    assert endpoint["EndpointConfigName"] == update.output["training"]["job_name"]
    assert watermark(runtime, pipeline)["newest_data_date"] == day(0)


def training_jobs(runtime: LocalRuntime) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = runtime.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    return jobs


@pytest.mark.reliability(
    "input",
    "A CSV row with a missing column (also: extra columns, non-numeric values, NaN/inf, a header row: unit tests)",
    (
        "StartTrainingJob rejects it with InvalidTrainingDataError naming file and line; no training job; watermark "
        "and manifest kept; alert with the cause"
    ),
)
def test_a_malformed_row_fails_the_run_before_training_naming_the_file_and_line(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN a good day and a day whose second row lacks a column
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [2])
    upload(runtime, pipeline, [1], body=b"1.0,2.0,3.0\n2.0,4.0\n")
    before = watermark(runtime, pipeline)

    # WHEN the run starts
    record = start(runtime, pipeline)

    # THEN it fails in StartTrainingJob, naming the file and the line, before any training job exists
    bad_file = f"s3://{pipeline.stack.outputs['DataBucketName']}/data/local/{day(1)}.csv"
    assert (record.status, record.error) == ("FAILED", "InvalidTrainingDataError")
    assert record.cause is not None
    assert f"{bad_file} line 2: expected 3 columns (like line 1), found 2" in record.cause
    assert "StartTrainingJob" in record.states_entered()
    assert "NotifyTrainingStarted" not in record.states_entered()
    assert training_jobs(runtime) == []
    # and nothing is lost: the watermark stays, the manifests CheckData wrote (training and holdout) are kept
    assert watermark(runtime, pipeline) == before
    assert len(manifests(runtime, pipeline)) == 2
    alert = slack.messages[-1].block_text
    assert "InvalidTrainingDataError" in alert
    assert f"{day(1)}.csv line 2" in alert


def manifests(runtime: LocalRuntime, pipeline: DeployedPipeline) -> list[str]:
    listing = runtime.client("s3").list_objects_v2(Bucket=pipeline.stack.outputs["DataBucketName"], Prefix="manifests/")
    return [entry["Key"] for entry in listing.get("Contents", [])]


@pytest.mark.reliability(
    "input",
    "A window with more files than training.max_files_per_run (or more bytes than the training volume: unit tests)",
    (
        "CheckData rejects it with ManifestTooLargeError naming the count, the limit and the field; no manifest, no "
        "job, watermark unchanged"
    ),
)
def test_a_window_with_more_files_than_a_run_may_take_fails_before_writing_anything(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN a limit of one file per run (training.max_files_per_run) and two days of data
    pipeline = deploy(runtime, template, slack.base_url, MAX_FILES_PER_RUN="1")
    upload(runtime, pipeline, [2, 1])
    before = watermark(runtime, pipeline)

    record = start(runtime, pipeline)

    # THEN CheckData refuses the run naming the count and the field; no manifest, no job, same watermark
    assert (record.status, record.error) == ("FAILED", "ManifestTooLargeError")
    assert record.cause is not None
    assert "holds 2 files" in record.cause
    assert "training.max_files_per_run" in record.cause
    assert manifests(runtime, pipeline) == []
    assert training_jobs(runtime) == []
    assert watermark(runtime, pipeline) == before
    assert "ManifestTooLargeError" in slack.messages[-1].block_text


@pytest.mark.reliability(
    "fault",
    "A training job fails (bad data reaching the algorithm with validate_data off)",
    (
        "The run fails as TrainingJobFailed with SageMaker's FailureReason naming file and line; the watermark "
        "stays; alert"
    ),
)
def test_without_the_data_check_bad_data_fails_inside_the_training_job(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN a pipeline that leaves the data to the training job (training.validate_data false)
    pipeline = deploy(runtime, template, slack.base_url, VALIDATE_DATA="false")
    upload(runtime, pipeline, [2], body=b"1.0,2.0,3.0\n2.0,abc,4.0\n")
    upload(runtime, pipeline, [1])
    before = watermark(runtime, pipeline)

    record = start(runtime, pipeline)

    # THEN the job starts and fails, its FailureReason naming the file and line; the watermark stays
    assert (record.status, record.error) == ("FAILED", "TrainingJobFailed")
    assert record.cause is not None
    assert f"{day(2)}.csv" in record.cause
    assert "line 2" in record.cause
    assert len(training_jobs(runtime)) == 1
    assert watermark(runtime, pipeline) == before
    assert "TrainingJobFailed" in slack.messages[-1].block_text


@pytest.mark.reliability(
    "input",
    "A data file deleted between CheckData and training",
    (
        "The run fails with DataObjectMissingError naming the key before any training job; after restoring the file "
        "the next run completes"
    ),
)
def test_a_file_deleted_after_checkdata_fails_the_run_and_restoring_it_trains(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two days of data, one of which is deleted after CheckData listed it: right before Step
    # Functions invokes StartTrainingJob
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [2, 1])
    bucket, key = pipeline.stack.outputs["DataBucketName"], f"data/local/{day(1)}.csv"
    s3 = runtime.client("s3")
    functions = runtime.aws.functions
    invoke, deleted = functions.invoke, []

    def delete_then_invoke(function: LocalFunction, payload: bytes, **options: Any) -> InvocationResult:
        if function.handler.startswith("lambdas.start_training_job.") and not deleted:
            s3.delete_object(Bucket=bucket, Key=key)
            deleted.append(key)
        return invoke(function, payload, **options)

    monkeypatch.setattr(functions, "invoke", delete_then_invoke)
    before = watermark(runtime, pipeline)

    # WHEN the run goes on
    record = start(runtime, pipeline)

    # THEN it fails naming the deleted object, before any training job; the watermark stays
    assert (record.status, record.error) == ("FAILED", "DataObjectMissingError")
    assert record.cause is not None
    assert f"s3://{bucket}/{key} was deleted after CheckData listed it" in record.cause
    assert training_jobs(runtime) == []
    assert watermark(runtime, pipeline) == before
    assert "DataObjectMissingError" in slack.messages[-1].block_text

    # WHEN the file is restored and the pipeline runs again THEN it trains and deploys
    upload(runtime, pipeline, [1])
    again = start(runtime, pipeline)
    assert again.status == "SUCCEEDED", again.cause
    assert watermark(runtime, pipeline)["newest_data_date"] == day(1)
    assert deleted == [key]


@pytest.mark.reliability(
    "fault",
    "An endpoint update fails: the new model cannot load",
    (
        "SageMaker rolls back, the old model keeps answering, the run fails as DeploymentFailed with an alert, the "
        "failed run's model and endpoint config are deleted, the watermark stays"
    ),
)
def test_a_model_that_cannot_load_leaves_the_old_one_serving(
    runtime: LocalRuntime, unscored_template: dict[str, Any], slack: FakeSlackApi
) -> None:
    template = unscored_template  # the evaluation would stop the model before the endpoint: see the test below
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [2, 1])
    assert start(runtime, pipeline).status == "SUCCEEDED"
    served_before = watermark(runtime, pipeline)

    # WHEN the next model is deployed with a serving image that cannot start
    pipeline = deploy(runtime, template, slack.base_url, INFERENCE_IMAGE=BROKEN_IMAGE)
    upload(runtime, pipeline, [0])
    record = start(runtime, pipeline)

    # THEN the run fails as a failed deployment, the old model still answers, the watermark stays
    assert (record.status, record.error) == ("FAILED", "DeploymentFailed")
    endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == served_before["endpoint_config_name"]
    assert endpoint.get("FailureReason")
    assert predict(runtime, [1.0, 1.0]) == pytest.approx(2.0, abs=0.2)
    assert watermark(runtime, pipeline) == served_before
    assert "DeploymentFailed" in slack.messages[-1].block_text
    # AND the failed run's model and endpoint config are gone: only what serves is left
    sagemaker = runtime.client("sagemaker")
    assert {m["ModelName"] for m in sagemaker.list_models()["Models"]} == {served_before["endpoint_config_name"]}
    configs = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    assert configs == {served_before["endpoint_config_name"]}


def test_a_model_that_cannot_serve_is_stopped_by_the_held_out_evaluation_before_the_endpoint(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN a serving model, then a new one whose serving image cannot start
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [2, 1])
    assert start(runtime, pipeline).status == "SUCCEEDED"
    served_before = watermark(runtime, pipeline)
    pipeline = deploy(runtime, template, slack.base_url, INFERENCE_IMAGE=BROKEN_IMAGE)
    upload(runtime, pipeline, [0])

    # WHEN the run scores it on the held-out day
    record = start(runtime, pipeline)

    # THEN its transform job fails, the run fails before any deployment, the endpoint never changed, the watermark
    # stays, the alert names the job, and the failed run's model is gone
    assert (record.status, record.error) == ("FAILED", "EvaluationFailed")
    assert record.cause is not None
    assert "evaluation transform job" in record.cause
    assert "DeployModel" not in record.states_entered()
    endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == (
        "InService",
        served_before["endpoint_config_name"],
    )
    assert predict(runtime, [1.0, 1.0]) == pytest.approx(2.0, abs=0.2)
    assert watermark(runtime, pipeline) == served_before
    assert "EvaluationFailed" in slack.messages[-1].block_text
    models = {m["ModelName"] for m in runtime.client("sagemaker").list_models()["Models"]}
    assert models == {served_before["endpoint_config_name"]}


def test_manual_run_with_a_forced_window(runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi) -> None:
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [4, 3, 2, 1, 0])

    record = start(runtime, pipeline, {"force": True, "window_days": 2, "trigger": "console"})

    assert record.status == "SUCCEEDED", record.cause
    run = record.output["run"]
    assert (run["file_count"], run["holdout_file_count"], run["window_start"]) == (1, 1, day(1))


@pytest.mark.reliability(
    "input",
    "The Slack token secret is deleted after the deploy",
    (
        "The run fails before training with SlackSecretMissingError naming the secret and the config field; "
        "no training job, watermark unchanged; the next run completes once the secret is back"
    ),
)
def test_a_missing_slack_secret_stops_the_run_before_training_and_nothing_is_lost(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN a pipeline whose Slack token secret was deleted after the deploy
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [2, 1])
    before = watermark(runtime, pipeline)
    secrets = runtime.client("secretsmanager")
    secrets.delete_secret(SecretId="local/slack-bot", ForceDeleteWithoutRecovery=True)

    # WHEN a run starts
    record = start(runtime, pipeline)

    # THEN it fails naming the secret and the field, before any training job, with the watermark unchanged
    assert (record.status, record.error) == ("FAILED", "SlackSecretMissingError")
    assert record.cause is not None
    assert "'local/slack-bot'" in record.cause
    assert "slack.token_secret_name" in record.cause
    assert runtime.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
    assert watermark(runtime, pipeline) == before
    assert slack.messages == []

    # AND once the secret is back, the next run trains and deploys
    secrets.create_secret(Name="local/slack-bot", SecretString=TOKEN)
    assert start(runtime, pipeline).status == "SUCCEEDED"


@pytest.mark.reliability(
    "fault",
    "Slack cannot be reached (connection refused)",
    "The run trains and deploys anyway; the undelivered notifications are recorded, never fatal",
)
def test_slack_unreachable_does_not_fail_the_run(runtime: LocalRuntime, template: dict[str, Any]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    pipeline = deploy(runtime, template, f"http://127.0.0.1:{closed_port}/api/")
    upload(runtime, pipeline, [2, 1])

    record = start(runtime, pipeline)

    assert record.status == "SUCCEEDED", record.cause


@pytest.mark.reliability(
    "fault",
    "A scheduled run fires while a manual run is still going",
    (
        "The later run ends AnotherRunInProgress with a Slack message naming the run in progress, and creates no "
        "manifest or training job"
    ),
)
def test_a_run_started_while_another_is_going_stops_before_training(
    runtime: LocalRuntime, template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN a manual run that is training
    pipeline = deploy(runtime, template, slack.base_url)
    upload(runtime, pipeline, [2, 1])
    sfn = runtime.client("stepfunctions")
    manual = sfn.start_execution(stateMachineArn=pipeline.state_machine_arn, name="manual-overlap", input="{}")
    # Both runs' CheckData would otherwise race for the lease: the manual run holds it once it starts training.
    assert _entered(sfn, manual["executionArn"], "StartTrainingJob", timeout_seconds=60)

    # WHEN the schedule fires meanwhile
    overlapping = scheduled(runtime, pipeline)
    first = wait_for_execution(runtime.aws, manual["executionArn"], region=runtime.region, timeout_seconds=120)

    # THEN the later run ends early, says why, and starts no training job; the earlier one completes
    assert overlapping.status == "SUCCEEDED"
    assert overlapping.states_entered() == [
        "ReadRunInput",
        "CheckData",
        "HasNewData",
        "NotifyRunInProgress",
        "AnotherRunInProgress",
    ]
    assert overlapping.output["run"]["blocked_by"] == manual["executionArn"]
    assert first.status == "SUCCEEDED", first.cause
    assert len(runtime.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]) == 1
    assert any("another run is in progress" in m.block_text for m in slack.messages)


def test_housekeeping_keeps_the_configured_number_of_models_and_the_endpoint_keeps_answering(
    runtime: LocalRuntime, keep_two_template: dict[str, Any], slack: FakeSlackApi
) -> None:
    # GIVEN a pipeline configured to keep its newest two models and endpoint configs
    pipeline = deploy(runtime, keep_two_template, slack.base_url)
    upload(runtime, pipeline, [2, 1])

    # WHEN it retrains successfully four times
    records = [start(runtime, pipeline, None if n == 0 else {"force": True}) for n in range(4)]

    # THEN the two newest remain, the serving one among them, and the endpoint still answers with its model
    assert [r.status for r in records] == ["SUCCEEDED"] * 4, [r.cause for r in records]
    runs = [r.output["training"]["job_name"] for r in records]
    sagemaker = runtime.client("sagemaker")
    models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    configs = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    assert models == configs == set(runs[-2:])
    endpoint = sagemaker.describe_endpoint(EndpointName=PIPELINE)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", runs[-1])
    assert predict(runtime, [1.0, 1.0]) == pytest.approx(2.0, abs=0.2)  # 3 - 2 + 1
    # each run from the third on deleted the one that fell out of the newest two, and said so
    assert [r.output["pruned"]["deleted_models"] for r in records] == [[], [], [runs[0]], [runs[1]]]
    assert [r.output["pruned"]["deleted_endpoint_configs"] for r in records] == [[], [], [runs[0]], [runs[1]]]
    assert records[-1].output["pruned"]["kept"] == {
        runs[-1]: "the endpoint's current config",
        runs[-2]: "the previous deployment, kept for a rollback",
    }
    assert all("prune_error" not in r.output for r in records)
    housekeeping = [m.block_text for m in slack.messages if "Housekeeping" in m.block_text]
    assert len(housekeeping) == 2
    assert "deleted 1 old model and 1 endpoint config" in housekeeping[-1]
    # the model packages and artifacts stay: the S3 model of the first run is still there
    artifact = records[0].output["training"]["model_artifact"]
    bucket, key = artifact.removeprefix("s3://").split("/", 1)
    assert runtime.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
