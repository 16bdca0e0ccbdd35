"""What a run cost, end to end: a deployed run's record, `runs show` and its Slack message carry the instance time
SageMaker billed (the local training job reports it as SageMaker does) and the estimate from the price table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from local_runtime.deploy import DeployedPipeline, run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget
from local_runtime.slack_api import LocalSlackApi
from operator_cli.cli import main
from tests.e2e.quiet_pipeline import CHANNEL, PIPELINE, STACK, TOKEN, template
from tests.e2e.test_runs_cli import rows

pytestmark = pytest.mark.e2e

FIRST_DAY = date(2026, 3, 1)


@pytest.fixture(scope="module")
def deployed_run() -> Iterator[tuple[LocalRuntime, LocalSlackApi, DeployedPipeline, str]]:
    """One deployed run of the quiet pipeline (held-out evaluation in transform jobs, training on ml.m5.large)."""
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template(),
            stack_name=STACK,
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN),
            function_environment=QUIET_FUNCTIONS,
        )
        for offset in range(2):
            day = FIRST_DAY + timedelta(days=offset)
            runtime.client("s3").put_object(
                Bucket=pipeline.stack.outputs["DataBucketName"],
                Key=f"data/{PIPELINE}/{day.isoformat()}.csv",
                Body=rows(day.toordinal(), 0.05),
            )
        record = run_execution(
            runtime.aws,
            pipeline,
            name="costed-run",
            execution_input={"end_date": (FIRST_DAY + timedelta(days=1)).isoformat()},
            timeout_seconds=120,
        )
        assert record.status == "SUCCEEDED", record.cause
        assert record.states_entered()[-1] == "Deployed"
        yield runtime, slack, pipeline, record.output["lineage"]["run_record"]


def test_a_deployed_runs_record_runs_show_and_slack_say_what_it_cost(
    deployed_run: tuple[LocalRuntime, LocalSlackApi, DeployedPipeline, str], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, slack, _, run_record = deployed_run

    # THEN the run record holds the training job's billed seconds and a dollar estimate at ml.m5.large's list price,
    # and names the evaluation's transform jobs, which the shipped table has no price for
    bucket, key = run_record.removeprefix("s3://").split("/", 1)
    cost = json.loads(runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())["cost"]
    [training] = [job for job in cost["jobs"] if job["kind"] == "training"]
    assert (training["instance_type"], training["usd_per_hour"]) == ("ml.m5.large", 0.115)
    assert training["billable_seconds"] == training["seconds"] >= 1
    assert cost["estimated_usd"] == pytest.approx(training["billable_seconds"] / 3600 * 0.115, abs=1e-6)
    assert cost["billable_instance_seconds"] >= training["billable_seconds"]
    assert cost["unpriced"] == ["transform ml.m5.large"]
    assert cost["spot_savings"] is None

    # AND `runs show` says the same
    assert main(["runs", "show", "costed-run", "--pipeline", PIPELINE, "--endpoint-url", runtime.endpoint_url]) == 0
    [shown] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("cost ")]
    assert " billable, estimated $0.00" in shown
    assert shown.endswith("(no price for transform ml.m5.large)")

    # AND so does the deployed message in Slack, in a section of its own
    [deployed] = [m for m in slack.messages if "new model deployed" in m.text]
    assert ":moneybag: *What the run cost*" in deployed.block_text
    assert "training job `" in deployed.block_text
    assert "*Total:* " in deployed.block_text
    assert "billable, estimated $0.00" in deployed.block_text
