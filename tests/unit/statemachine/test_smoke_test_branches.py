"""The ASL's SmokeTest state: between the endpoint serving the new model and the watermark moving.

Driven by test_branches.py's scripted steps, with the real NotifySlack function (Slack not configured).
"""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime.deploy import DeployedPipeline
from local_runtime.server import LocalAws
from tests.unit.statemachine import scripted_steps
from tests.unit.statemachine.test_branches import TRAINED, ScriptedRun, alerts, run

FAILED_TAIL = ["EndpointStatus", "SmokeTest", "CleanUp", "NotifyFailure", "RunFailed"]
CAUSE = (
    "endpoint churn on config churn-1 answered 5 record(s) of s3://b/data/churn/2026-11-21.csv with ModelError: "
    "boom; the endpoint is rolled back to churn-0, which serves the earlier model again once the update ends"
)


class SmokeTestFailedError(Exception):
    """What SmokeTest raises on a bad answer; the class name is the error name the ASL sees."""


class SmokeTestInputError(Exception):
    """What SmokeTest raises when the run's data gives no record to send."""


class TransientAwsError(Exception):
    """What a step raises for SageMaker's throttling or 5xx: the error name the ASL retries."""


class ScriptedSmokeTest(ScriptedRun):
    """A deployed run whose SmokeTest raises each of `errors` in turn, then passes."""

    def __init__(self, *errors: Exception, **kwargs: Any) -> None:
        super().__init__(training=TRAINED["training"], endpoint=TRAINED["endpoint"], **kwargs)
        self.errors = list(errors)

    def install(self, endpoint_url: str = "") -> None:
        super().install(endpoint_url)
        scripted_steps.SCRIPTS["SmokeTest"] = self.smoke_test

    def smoke_test(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.errors:
            raise self.errors.pop(0)
        return {**event["state"], "smoke_test": {"skipped": False, "records": 5, "source": "s3://b/x", "answers": 5}}


def called(step: str) -> list[dict[str, Any]]:
    return [event for name, event in scripted_steps.CALLS if name == step]


def test_a_passing_smoke_test_lets_the_watermark_move(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    record = run(local_aws, pipeline, ScriptedSmokeTest())

    assert record.status == "SUCCEEDED", record.cause
    entered = record.states_entered()
    assert entered[entered.index("EndpointStatus") :][:3] == ["EndpointStatus", "SmokeTest", "UpdateParameters"]
    assert entered[-1] == "Deployed"
    # SmokeTest got the deployment it judges, and its result travels with the state
    [smoke] = called("SmokeTest")
    assert smoke["state"]["deployment"]["endpoint_config_name"] == "churn-1"
    assert smoke["state"]["deployment"]["serving_new_model"] is True
    assert smoke["execution"]["id"] == record.arn
    [updated] = called("UpdateParameters")
    assert updated["state"]["smoke_test"]["answers"] == 5
    assert record.output["smoke_test"]["records"] == 5


@pytest.mark.parametrize(
    "error",
    [SmokeTestFailedError(CAUSE), SmokeTestInputError("s3://b/x.csv gave no record to send (input_filter '$[1:]')")],
    ids=["bad answer", "no record"],
)
def test_a_failing_smoke_test_cleans_up_alerts_and_never_moves_the_watermark(
    local_aws: LocalAws, pipeline: DeployedPipeline, error: Exception
) -> None:
    # WHEN the smoke test of the deployed model fails
    record = run(local_aws, pipeline, ScriptedSmokeTest(error))

    # THEN the run fails with its error after the clean-up and the alert; the watermark's step never runs
    assert (record.status, record.error, record.cause) == ("FAILED", type(error).__name__, str(error))
    entered = record.states_entered()
    assert entered[-len(FAILED_TAIL) :] == FAILED_TAIL
    assert "UpdateParameters" not in entered
    assert not called("UpdateParameters")
    assert len(called("SmokeTest")) == 1  # a model's bad answer is not asked again
    assert alerts(local_aws)[-1] == "failed"
    # ... and the clean-up and the alert see which state failed and why
    [clean_up] = called("CleanUp")
    assert clean_up["state"]["failure"]["SmokeTest"]["Error"] == type(error).__name__
    [alert] = [event for name, event in local_aws.functions.invocations if name == "NotifySlack"][-1:]
    assert alert["state"]["failure"]["SmokeTest"]["Error"] == type(error).__name__


def test_sagemakers_throttling_is_retried_and_the_run_goes_on(local_aws: LocalAws, pipeline: DeployedPipeline) -> None:
    record = run(local_aws, pipeline, ScriptedSmokeTest(TransientAwsError("ThrottlingException: Rate exceeded")))

    assert record.status == "SUCCEEDED", record.cause
    assert len(called("SmokeTest")) == 2
    assert record.states_entered()[-1] == "Deployed"
