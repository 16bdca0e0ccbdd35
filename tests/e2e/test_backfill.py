"""Backfills and odd execution inputs through the local runtime: production never moves backwards, any input is judged.

One pipeline trains real models on generated data. Its gate is an absolute threshold every model here passes,
so what decides whether a backfill serves is its input alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from local_runtime.deploy import ExecutionRecord
from local_runtime.runtime import LocalRuntime, SlackTarget
from local_runtime.slack_api import LocalSlackApi, ReceivedMessage
from tests.e2e.test_governance import CHANNEL, TOKEN, Governed, pipeline_template

pytestmark = pytest.mark.e2e

PIPELINE = "backfill"
NEWEST = date(2026, 5, 10)  # the first run trains up to it: the watermark's day
A_WEEK_BEFORE = NEWEST - timedelta(days=7)


class Backfilled(Governed):
    """The governance tests' runtime helper, starting executions with any input and reading the watermark's version."""

    def start_with(self, execution_input: str) -> ExecutionRecord:
        self.runs += 1
        arn = self.runtime.client("stepfunctions").start_execution(
            stateMachineArn=self.pipeline.state_machine_arn, name=f"{self.name}-{self.runs}", input=execution_input
        )["executionArn"]
        return self.wait(arn)

    def watermark_version(self) -> int:
        name = self.pipeline.stack.outputs["WatermarkParameterName"]
        return int(self.runtime.client("ssm").get_parameter(Name=name)["Parameter"]["Version"])

    def messages_of(self, record: ExecutionRecord) -> list[ReceivedMessage]:
        """The Slack messages about one execution (each links to it by name)."""
        name = record.arn.rsplit(":", 1)[-1]
        return [m for m in self.slack.messages if f"{name}>" in json.dumps(m.blocks)]


@pytest.fixture(scope="module")
def trained() -> Iterator[Backfilled]:
    """The pipeline with ten days of data, its first model trained on the newest and serving."""
    template = pipeline_template(
        PIPELINE, quality_gate={"metric": "rmse", "direction": "minimize", "threshold": 1000.0}
    )
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template,
            stack_name=f"SageMakerRetraining-{PIPELINE}",
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN),
        )
        backfilled = Backfilled(runtime, pipeline, slack, name=PIPELINE)
        while backfilled.newest < NEWEST:
            backfilled.add_day()
        first = backfilled.start_with(json.dumps({"end_date": NEWEST.isoformat()}))
        assert first.status == "SUCCEEDED", first.cause
        assert backfilled.watermark()["newest_data_date"] == NEWEST.isoformat()
        yield backfilled


@pytest.mark.reliability(
    "input",
    'A backfill: a forced run on days older than the watermark, without and with "deploy": true',
    "Without deploy: trained, judged and registered, ends BackfillRegistered; the endpoint serves the same model and "
    "the watermark is unchanged (same version); Slack says so. With deploy: the backfill's model serves, the "
    "watermark keeps its day and records which backfill serves",
)
def test_a_backfill_registers_its_model_and_deploys_it_only_when_asked(trained: Backfilled) -> None:
    # GIVEN the first model serving, the watermark on the newest day
    serving, prediction = trained.serving_config(), trained.predict()
    watermark, version = trained.watermark(), trained.watermark_version()
    versions = len(trained.versions())

    # WHEN a backfill trains on two days that end a week before
    backfill = {"force": True, "window_days": 2, "end_date": A_WEEK_BEFORE.isoformat()}
    registered = trained.start_with(json.dumps(backfill))

    # THEN it succeeds as registered: never deployed, the endpoint and the watermark untouched
    assert registered.status == "SUCCEEDED", registered.cause
    entered = registered.states_entered()
    assert entered[-2:] == ["NotifyBackfillRegistered", "BackfillRegistered"]
    assert "DeployModel" not in entered
    run = registered.output["run"]
    assert (run["backfill"], run["deploy"], run["newest_data_date"]) == (True, False, A_WEEK_BEFORE.isoformat())
    assert (trained.serving_config(), trained.predict()) == (serving, prediction)
    assert (trained.watermark(), trained.watermark_version()) == (watermark, version)
    assert registered.output["watermark"]["moved"] is False
    # ... its model is a version in the registry, approved, naming the backfill's data
    assert len(trained.versions()) == versions + 1
    newest_version = trained.versions()[-1]
    assert newest_version["ModelApprovalStatus"] == "Approved"
    assert newest_version["CustomerMetadataProperties"]["manifest_uri"] == run["manifest_uri"]
    # ... and Slack said it was registered, not deployed, and that the watermark stays
    [said] = [m for m in trained.messages_of(registered) if "backfill registered" in (m.text or "")]
    assert f"stays at {NEWEST.isoformat()}" in said.block_text
    assert "registered only (deploy with --deploy)" in said.block_text

    # WHEN the same backfill is asked to deploy
    deployed = trained.start_with(json.dumps({**backfill, "deploy": True}))

    # THEN its model serves, and the watermark keeps its day while recording what serves
    assert deployed.status == "SUCCEEDED", deployed.cause
    assert deployed.states_entered()[-1] == "Deployed"
    job = deployed.output["training"]["job_name"]
    assert trained.serving_config() == job
    after = trained.watermark()
    assert after["newest_data_date"] == NEWEST.isoformat()
    assert (after["model_name"], after["endpoint_config_name"]) == (job, job)
    assert after["served_backfill"]["training_job_name"] == job
    assert after["served_backfill"]["newest_data_date"] == A_WEEK_BEFORE.isoformat()
    assert {k: after[k] for k in ("window_end", "manifest_uri", "training_job_name")} == {
        k: watermark[k] for k in ("window_end", "manifest_uri", "training_job_name")
    }
    assert trained.watermark_version() == version + 1
    [announced] = [m for m in trained.messages_of(deployed) if "stays at" in m.block_text]
    assert "deploys when it passes" in announced.block_text


@pytest.mark.reliability(
    "input",
    'An execution input that is not a JSON object: [1,2], "hello", 42, null',
    "Fails at CheckData with InvalidRunInputError naming the type; CleanUp runs and the Slack alert is sent "
    "(never RunFailedWithoutAlert); nothing trains, the watermark and the endpoint are untouched",
)
@pytest.mark.parametrize(
    ("execution_input", "kind"), [("[1,2]", "an array"), ('"hello"', "a string"), ("42", "a number"), ("null", "null")]
)
def test_an_input_that_is_not_an_object_fails_with_an_alert(
    trained: Backfilled, execution_input: str, kind: str
) -> None:
    serving, version = trained.serving_config(), trained.watermark_version()

    record = trained.start_with(execution_input)

    assert (record.status, record.error) == ("FAILED", "InvalidRunInputError")
    assert record.cause == f'the execution input must be a JSON object like {{"force": true}} or {{}}, got {kind}: ' + (
        json.dumps(json.loads(execution_input))
    )
    assert record.states_entered() == ["ReadRunInput", "CheckData", "CleanUp", "NotifyFailure", "RunFailed"]
    [alert] = trained.messages_of(record)
    assert "run failed" in (alert.text or "")
    assert "`CheckData`" in alert.block_text
    assert "InvalidRunInputError" in alert.block_text
    assert (trained.serving_config(), trained.watermark_version()) == (serving, version)
