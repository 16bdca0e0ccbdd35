"""The smoke test after a deployment, through the local runtime: a model that answers errors is rolled back.

One pipeline trains real Linear Learner regressors on generated data; the second run's model is deployed with
workers that pass the health check but answer every invocation with a 500 (the runtime's `fail_invocations`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from local_runtime.deploy import ExecutionRecord
from local_runtime.runtime import LocalRuntime, SlackTarget
from local_runtime.slack_api import LocalSlackApi, ReceivedMessage
from tests.e2e.test_governance import CHANNEL, TOKEN, Governed, pipeline_template

pytestmark = pytest.mark.e2e

PIPELINE = "smoke"


class SmokeTested(Governed):
    """The governance tests' runtime helper, with the watermark's version and a wait for the endpoint."""

    def watermark_version(self) -> int:
        name = self.pipeline.stack.outputs["WatermarkParameterName"]
        return int(self.runtime.client("ssm").get_parameter(Name=name)["Parameter"]["Version"])

    def wait_in_service(self, timeout_seconds: float = 60) -> str:
        """The endpoint's config once it is InService again (a roll-back's update runs on after the run ends)."""
        sagemaker = self.runtime.client("sagemaker")
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            endpoint = sagemaker.describe_endpoint(EndpointName=self.name)
            if endpoint["EndpointStatus"] == "InService" and "PendingDeploymentSummary" not in endpoint:
                return str(endpoint["EndpointConfigName"])
            time.sleep(0.2)
        raise AssertionError(f"endpoint {self.name} is still {endpoint['EndpointStatus']}")

    def messages_of(self, record: ExecutionRecord) -> list[ReceivedMessage]:
        """The Slack messages about one execution (each links to it by name)."""
        name = record.arn.rsplit(":", 1)[-1]
        return [m for m in self.slack.messages if f"{name}>" in json.dumps(m.blocks)]


@pytest.fixture(scope="module")
def smoke() -> Iterator[SmokeTested]:
    # No quality gate and no scoring of the models: every model deploys, and the smoke test alone judges it.
    template = pipeline_template(PIPELINE, evaluation={"holdout": {"days": 1}, "score_models": False})
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template,
            stack_name=f"SageMakerRetraining-{PIPELINE}",
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN),
        )
        yield SmokeTested(runtime, pipeline, slack, name=PIPELINE)


@pytest.mark.reliability(
    "fault",
    "A new model that passes the health check but answers every invocation with a 500 (smoke test on by default)",
    "The deployment's smoke test (5 of the run's held-out records) fails the run with SmokeTestFailedError; the "
    "endpoint is rolled back to the previous run's config and answers as before; the watermark is unchanged (same "
    "version); the Slack alert names SmokeTest, the error and the roll-back",
)
def test_a_model_that_answers_errors_is_rolled_back_and_the_watermark_stays(smoke: SmokeTested) -> None:
    # GIVEN a first model deployed and smoke-tested with five records of its held-out day
    smoke.add_day()
    smoke.add_day()
    first = smoke.run()
    assert first.status == "SUCCEEDED", first.cause
    bucket = smoke.pipeline.stack.outputs["DataBucketName"]
    assert first.output["smoke_test"] == {
        "skipped": False,
        "records": 5,
        "source": f"s3://{bucket}/data/{PIPELINE}/{smoke.newest.isoformat()}.csv",
        "answers": 5,
    }
    assert first.states_entered().index("SmokeTest") == first.states_entered().index("UpdateParameters") - 1
    serving, prediction = smoke.wait_in_service(), smoke.predict()
    watermark, version = smoke.watermark(), smoke.watermark_version()
    assert watermark["endpoint_config_name"] == serving

    # WHEN the next deployment of the endpoint starts workers that answer every invocation with a 500
    fault = smoke.runtime.faults.fail_invocations(times=1, endpoint=PIPELINE)
    smoke.add_day()
    second = smoke.run()

    # THEN the run fails at SmokeTest, after the endpoint had taken the new model, and is cleaned up and alerted
    assert fault.fired == 1
    assert (second.status, second.error) == ("FAILED", "SmokeTestFailedError"), second.cause
    entered = second.states_entered()
    assert entered[-5:] == ["EndpointStatus", "SmokeTest", "CleanUp", "NotifyFailure", "RunFailed"]
    assert "UpdateParameters" not in entered
    cause = second.cause or ""
    assert "ModelError" in cause
    assert f"the endpoint is rolled back to {serving}" in cause
    assert f"s3://{bucket}/data/{PIPELINE}/{smoke.newest.isoformat()}.csv" in cause  # the records' source
    # ... the endpoint is back on the first run's config, answering as the first model did
    assert smoke.wait_in_service() == serving
    assert smoke.predict() == prediction
    # ... the watermark did not move
    assert (smoke.watermark(), smoke.watermark_version()) == (watermark, version)
    # ... and Slack names the step and the error
    [alert] = [m for m in smoke.messages_of(second) if "SmokeTestFailedError" in m.block_text]
    assert "SmokeTest" in alert.block_text
    assert "rolled back" in alert.block_text

    # WHEN the next run deploys a model that answers (the fault fired once)
    smoke.add_day()
    third = smoke.run()

    # THEN it passes its smoke test and serves, and the watermark moves
    assert third.status == "SUCCEEDED", third.cause
    assert third.output["smoke_test"]["answers"] == 5
    assert smoke.wait_in_service() == third.output["deployment"]["endpoint_config_name"]
    assert smoke.watermark()["newest_data_date"] == smoke.newest.isoformat()
