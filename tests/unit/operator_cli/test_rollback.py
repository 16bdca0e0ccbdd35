"""Rollback on request, the core against moto: which version, what is refused, the zero-downtime path, the record."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError

from contract.names import PIPELINE_TAG, VARIANT_NAME, lease_key
from operator_cli import lineage
from operator_cli.rollback import DEPLOYED, FAILED, ROLLBACK_TAG, plan_rollback, rollback_names
from operator_cli.rollback_endpoint import EndpointOutcome, RollbackError, wait_for_endpoint
from tests.unit.operator_cli.rollback_pipeline import (
    ACCOUNT,
    CALLER,
    IMAGE,
    NOW,
    REGION,
    ROLE,
    Deployed,
    guarded_rollout,
)


@pytest.fixture
def pipeline(aws: None) -> Deployed:
    return Deployed(lambda service: boto3.client(service, region_name=REGION))  # type: ignore[call-overload]


def test_the_previously_served_version_comes_back_and_a_version_never_deployed_is_skipped(pipeline: Deployed) -> None:
    # GIVEN version 1 served, version 2 approved but never deployed (a backfill's), version 3 serving now
    first = pipeline.train()
    pipeline.train(deploy=False)
    third = pipeline.train()

    # WHEN the operator rolls back without naming a version
    plan = pipeline.plan()
    result = pipeline.roll_back(plan)

    # THEN version 1's model serves again, on a new config that keeps the serving one's capacity
    assert (plan.version.number, plan.serving_version, plan.chosen) == (1, 3, "previously served")
    assert result.outcome == DEPLOYED
    config, model = pipeline.serving()
    assert (config, model) == (f"{pipeline.name}-rollback-20261205101500", first)
    variant = pipeline.sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    assert (variant["VariantName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        VARIANT_NAME,
        "ml.m5.large",
        2,
    )
    # AND the run records say who rolled back, when, why, from what to what
    record = pipeline.record("rollback-20261205T101500Z")
    assert record["outcome"] == "deployed"
    assert record["rollback"]["requested_by"] == CALLER.to_json()
    assert record["rollback"]["reason"] == "v3 answers 500"
    assert record["rollback"]["before"] == {"version": 3, "model_name": third, "endpoint_config_name": third}
    assert record["rollback"]["after"] == {"version": 1, "model_name": first, "endpoint_config_name": config}
    assert record["deployment"]["deployed_at"] == "2026-12-05T10:15:00.000Z"
    assert record["model_package"]["version"] == 1


def test_lineage_reads_the_rollback_as_the_deployment_that_serves_now(pipeline: Deployed) -> None:
    # GIVEN a rollback from version 2 to version 1
    first = pipeline.train()
    pipeline.train()
    pipeline.roll_back(pipeline.plan())
    location = lineage.PipelineLocation(
        pipeline.name, pipeline.bucket, pipeline.resources.runs_prefix, pipeline.endpoint
    )
    records = lineage.RunRecords(pipeline.s3, location)

    # WHEN lineage is asked which files trained the serving model, and what was deployed
    files = lineage.files_behind_endpoint(pipeline.sagemaker, records, pipeline.endpoint)
    history = lineage.deployment_history(records, pipeline.endpoint)

    # THEN it answers with version 1's run: its model, run and files; the rollback is the newest deployment
    answer = files.to_json()
    assert (answer["model"], answer["training_job"], answer["execution"]) == (first, first, "run-1")
    assert files.files == [f"s3://{pipeline.bucket}/data/{pipeline.name}/2026-11-{day}.csv" for day in (29, 30)]
    assert (history[0]["run_id"], history[0]["deployment"]["model_name"]) == ("rollback-20261205T101500Z", first)
    assert len(history) == 3


def test_rolling_back_twice_goes_back_twice_never_forth(pipeline: Deployed) -> None:
    # GIVEN three versions, each deployed in turn
    first, second, _ = pipeline.train(), pipeline.train(), pipeline.train()

    # WHEN the operator rolls back, then rolls back again a second later
    pipeline.roll_back(pipeline.plan())
    after_one = pipeline.serving()[1]
    again = plan_rollback(
        sagemaker=pipeline.sagemaker, s3=pipeline.s3, sfn=pipeline.sfn, cloudwatch=pipeline.cloudwatch,
        resources=pipeline.resources, selector=None, use_rollout=True, now=NOW + timedelta(seconds=1), where="moto",
    )  # fmt: skip
    pipeline.roll_back(again)

    # THEN the first went to version 2, the second to version 1 (not back to 3, which the first replaced)
    assert after_one == second
    assert (again.serving_version, again.version.number) == (2, 1)
    assert pipeline.serving()[1] == first


def test_a_named_version_is_deployed_and_its_deleted_model_created_again_from_the_registry(pipeline: Deployed) -> None:
    # GIVEN version 2 never deployed, whose model housekeeping has deleted since
    pipeline.train()
    second = pipeline.train(deploy=False)
    pipeline.train()
    pipeline.sagemaker.delete_model(ModelName=second)

    # WHEN the operator names it
    result = pipeline.roll_back(pipeline.plan(2))

    # THEN the model is created again from the version's containers, with the serving model's role, tagged as the
    # pipeline's (PruneModels deletes it once it serves no more)
    assert (result.outcome, pipeline.serving()[1]) == (DEPLOYED, second)
    model = pipeline.sagemaker.describe_model(ModelName=second)
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{pipeline.bucket}/models/{second}/output/model.tar.gz"
    assert model["ExecutionRoleArn"] == ROLE
    tags = {t["Key"]: t["Value"] for t in pipeline.sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]}
    assert tags == {PIPELINE_TAG: pipeline.name, ROLLBACK_TAG: "rollback-20261205T101500Z"}


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2", "version 2 of {group} is Rejected, not Approved: only an Approved version is deployed"),
        ("9", "version 9 of {group} not found in moto (the newest is version 3)"),
        ("3", "version 3 of {group} is what endpoint {endpoint} serves now"),
        (
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/fraud-models/1",
            "is a version of group fraud-models, not of this pipeline's {group}",
        ),
    ],
)
def test_a_version_that_cannot_be_deployed_is_refused_naming_why(
    pipeline: Deployed, version: str, message: str
) -> None:
    pipeline.train()
    pipeline.train(status="Rejected", deploy=False)
    pipeline.train()
    selector: int | str = int(version) if version.isdigit() else version

    with pytest.raises(
        RollbackError, match=re.escape(message.format(group=pipeline.group, endpoint=pipeline.endpoint))
    ):
        pipeline.plan(selector)


@pytest.mark.parametrize("seen_by", ["lease", "listing"])
def test_a_run_in_progress_refuses_the_rollback(pipeline: Deployed, seen_by: str) -> None:
    # GIVEN two deployed versions and a run in progress: holding the lease, or listed RUNNING before it took it
    pipeline.train()
    pipeline.train()
    machine = pipeline.machine if seen_by == "listing" else pipeline.state_machine(f"other-{pipeline.name}")
    running = pipeline.sfn.start_execution(stateMachineArn=machine, name="daily-run")["executionArn"]
    if seen_by == "lease":
        body = json.dumps({"execution": running, "started_at": "2026-12-05T10:00:00.000Z"})
        pipeline.s3.put_object(Bucket=pipeline.bucket, Key=lease_key(pipeline.resources.wake_prefix), Body=body)

    # WHEN the operator asks for a rollback, THEN it is refused naming the run, and nothing changes
    served = pipeline.serving()
    with pytest.raises(RollbackError, match=f"is in progress \\({running}\\).*runs follow daily-run"):
        pipeline.plan()
    assert pipeline.serving() == served


def test_a_lease_left_by_a_run_that_ended_does_not_refuse(pipeline: Deployed) -> None:
    pipeline.train()
    pipeline.train()
    gone = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sagemaker-retraining-{pipeline.name}:ended-long-ago"
    body = json.dumps({"execution": gone, "started_at": "2026-12-01T10:00:00.000Z"})
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=lease_key(pipeline.resources.wake_prefix), Body=body)

    assert pipeline.plan().version.number == 1


def test_without_an_earlier_deployed_version_the_operator_is_asked_to_name_one(pipeline: Deployed) -> None:
    pipeline.train(deploy=False)  # approved, never served
    pipeline.train()

    with pytest.raises(RollbackError, match=r"no Approved version of .* older than version 2 .* name the version"):
        pipeline.plan()


def test_an_endpoint_serving_no_version_asks_for_one(pipeline: Deployed) -> None:
    pipeline.train()
    pipeline.sagemaker.create_model(ModelName="by-hand", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE)
    variant = {"VariantName": VARIANT_NAME, "ModelName": "by-hand", "InitialInstanceCount": 1}
    pipeline.sagemaker.create_endpoint_config(
        EndpointConfigName="by-hand", ProductionVariants=[variant | {"InstanceType": "ml.m5.large"}]
    )
    pipeline.sagemaker.update_endpoint(EndpointName=pipeline.endpoint, EndpointConfigName="by-hand")

    with pytest.raises(RollbackError, match=r"serves model by-hand, which no version of .* records: name the version"):
        pipeline.plan()


def test_the_guarded_rollout_of_the_last_deployment_is_repeated(pipeline: Deployed) -> None:
    # GIVEN an endpoint whose last deployment was a canary guarded by an alarm that is OK now
    rollout = guarded_rollout(pipeline, "OK")
    asked: list[dict[str, Any]] = []
    pipeline.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.UpdateEndpoint", lambda params, **_: asked.append(dict(params))
    )

    pipeline.roll_back(pipeline.plan())

    assert asked[-1]["DeploymentConfig"] == rollout


def test_rollout_alarms_in_alarm_refuse_a_guarded_rollback_unless_told_to_go_without(pipeline: Deployed) -> None:
    # GIVEN the rollout's alarm in ALARM: the serving model answers 5xx
    guarded_rollout(pipeline, "ALARM")
    alarm = f"{pipeline.name}-rollout-5xx-errors"

    with pytest.raises(RollbackError, match=f"alarm\\(s\\) {alarm} are in ALARM now.*pass --no-rollout"):
        pipeline.plan()
    plan = pipeline.plan(use_rollout=False)
    assert plan.deployment_config is None
    assert pipeline.roll_back(plan).outcome == DEPLOYED


def test_an_update_sagemaker_refuses_is_recorded_as_failed(pipeline: Deployed) -> None:
    pipeline.train()
    pipeline.train()
    plan = pipeline.plan()

    def refuse(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ResourceLimitExceeded", "Message": "no ml.m5.large left"}}, "UpdateEndpoint"
        )

    pipeline.sagemaker.meta.events.register("before-call.sagemaker.UpdateEndpoint", refuse)

    with pytest.raises(RollbackError, match=r"SageMaker refused to update endpoint .*: no ml\.m5\.large left"):
        pipeline.roll_back(plan)
    record = pipeline.record(plan.run_id)
    assert (record["outcome"], record["deployment"]) == (FAILED, None)
    assert record["rollback"]["failure_reason"] == "UpdateEndpoint: no ml.m5.large left"


def test_a_rollback_sagemaker_rolled_back_is_recorded_as_failed_with_the_reason(pipeline: Deployed) -> None:
    pipeline.train()
    old = pipeline.train()
    reason = "CloudWatch alarm(s) x went into ALARM"

    result = pipeline.roll_back(pipeline.plan(), wait=lambda: EndpointOutcome("InService", old, reason))

    assert result.outcome == FAILED
    assert (result.record["deployment"], result.record["rollback"]["failure_reason"]) == (None, reason)


class _Endpoint:
    """DescribeEndpoint answering the given statuses in turn, on config `new` once InService."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"EndpointStatus": status, "EndpointConfigName": "new" if status == "InService" else "old"}


def test_the_wait_ends_when_the_update_does_and_gives_up_unsettled_after_the_timeout() -> None:
    slept: list[float] = []
    ticks = iter(range(1000))
    ending, stuck_updating = _Endpoint("Updating", "Updating", "InService"), _Endpoint("Updating")

    done = wait_for_endpoint(cast("Any", ending), "e", poll_seconds=2, sleep=slept.append)
    stuck = wait_for_endpoint(
        cast("Any", stuck_updating),
        "e",
        poll_seconds=1,
        timeout_seconds=3,
        sleep=lambda _: None,
        clock=lambda: next(ticks),
    )

    assert (done.serves("new"), slept) == (True, [2, 2])
    assert (stuck.settled, stuck.status) == (False, "Updating")


def test_names_fit_sagemaker_for_the_longest_pipeline_name() -> None:
    run_id, config = rollback_names("p" * 64, NOW)

    assert run_id == "rollback-20261205T101500Z"
    assert len(config) <= 63
    assert config.endswith("-rollback-20261205101500")
