"""PruneModels against moto's SageMaker and SSM: old models and configs go, what serves or may serve stays."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from contract.names import PIPELINE_TAG
from lambdas.common.events import Execution
from lambdas.common.models import DeploymentState, WatermarkState
from lambdas.common.names import run_resource_name
from lambdas.deploy_model.core import DeploySettings, deploy_model
from lambdas.prune_models.core import (
    NEWEST,
    PENDING,
    PREVIOUS,
    SERVING,
    THIS_RUN,
    PruneSettings,
    prune_models,
)
from tests.conftest import ACCOUNT
from tests.fakes.sagemaker import EndpointUpdating
from tests.unit.lambdas.states import deployment_section, training_section, watermark_section

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
PARAMETER = "/sagemaker-retraining/churn/watermark"
SETTINGS = PruneSettings(pipeline="churn", endpoint_name="churn", watermark_parameter=PARAMETER, keep_last=2)
DEPLOY = DeploySettings(
    pipeline="churn",
    endpoint_name="churn",
    instance_type="ml.m5.large",
    instance_count=1,
    image="382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/churn-sagemaker",
    poll_interval_seconds=30,
)


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture
def ssm(aws: None) -> Any:
    client = boto3.client("ssm")
    client.put_parameter(Name=PARAMETER, Value=json.dumps({"newest_data_date": None}), Type="String")
    return client


# The run's deployment and watermark, as PruneModels reads them.
Sections = tuple[DeploymentState, WatermarkState]


def run_on(execution: Execution, day: int, pipeline: str = "churn") -> tuple[Execution, str]:
    """The execution of day `day`'s run, and the name of its resources."""
    name = f"run-{pipeline}-{day}"
    run = replace(
        execution,
        id=execution.id.rsplit(":", 1)[0] + f":{name}",
        name=name,
        start_time=execution.start_time + timedelta(days=day),
    )
    return run, run_resource_name(pipeline, run)


def deploy(sagemaker: Any, execution: Execution, day: int, pipeline: str = "churn") -> str:
    """Create day `day`'s model and endpoint config and point the endpoint at them, as DeployModel does."""
    run, name = run_on(execution, day, pipeline)
    training = training_section(job_name=name, model_artifact=f"s3://data/models/{pipeline}/{name}/output/model.tar.gz")
    settings = replace(DEPLOY, pipeline=pipeline, endpoint_name=pipeline)
    deploy_model(training, run, sagemaker=sagemaker, settings=settings, now=NOW)
    return name


def record(ssm: Any, config: str | None, outcome: str | None = None) -> int:
    """Write the watermark as UpdateParameters does; return its version."""
    value: dict[str, Any] = {"newest_data_date": "2026-11-21", "endpoint_config_name": config}
    if outcome is not None:
        value["outcome"] = outcome
    return int(ssm.put_parameter(Name=PARAMETER, Value=json.dumps(value), Type="String", Overwrite=True)["Version"])


def retrain(sagemaker: Any, ssm: Any, execution: Execution, day: int) -> tuple[str, Sections]:
    """A successful run of day `day`: deployed and recorded. Returns its name and the sections PruneModels gets."""
    name = deploy(sagemaker, execution, day)
    version = record(ssm, name)
    return name, (deployment_section(endpoint_config_name=name, model_name=name), watermark_section(version=version))


def names(sagemaker: Any) -> tuple[set[str], set[str]]:
    models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    configs = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    return models, configs


def serve(sagemaker: Any, config: str) -> None:
    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName=config)


@pytest.mark.parametrize("keep_last", [2, 3])
def test_the_newest_keep_last_stay_and_the_older_ones_go(
    sagemaker: Any, ssm: Any, execution: Execution, keep_last: int
) -> None:
    # GIVEN five successful runs, the last one serving
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(5)]
    newest, state = runs[-1]

    # WHEN housekeeping runs after the fifth
    report = prune_models(*state, sagemaker=sagemaker, ssm=ssm, settings=replace(SETTINGS, keep_last=keep_last))

    # THEN the newest keep_last remain, the serving one among them, and the rest are deleted
    names_by_age = [name for name, _ in runs]
    kept = set(names_by_age[-keep_last:])
    assert names(sagemaker) == (kept, kept)
    assert sorted(report.deleted_models) == sorted(report.deleted_endpoint_configs) == sorted(names_by_age[:-keep_last])
    assert report.kept[newest] == SERVING
    assert report.kept[names_by_age[-2]] == PREVIOUS
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == newest


@pytest.mark.reliability(
    "fault",
    "The endpoint rolled back by hand to an old model's config",
    "Housekeeping keeps that config and its model however old; only older unprotected ones are deleted",
)
def test_an_old_config_the_endpoint_serves_is_kept_with_its_model(
    sagemaker: Any, ssm: Any, execution: Execution
) -> None:
    # GIVEN four runs and the endpoint rolled back by hand to the first one's config
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(4)]
    first = runs[0][0]
    serve(sagemaker, first)

    # WHEN housekeeping runs with this state of the last run
    report = prune_models(*runs[-1][1], sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)

    # THEN the served config and model stay though they are the oldest
    models, configs = names(sagemaker)
    assert first in models
    assert first in configs
    assert report.kept[first] == SERVING
    assert report.deleted_models == report.deleted_endpoint_configs == [runs[1][0]]


def test_a_config_the_endpoint_is_switching_to_is_kept_with_its_model(
    sagemaker: Any, ssm: Any, execution: Execution
) -> None:
    # GIVEN four runs; a person started switching the endpoint back to the first run's config
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(4)]
    first, last = runs[0][0], runs[-1][0]
    updating = EndpointUpdating(sagemaker, old_config=last, new_config=first)

    report = prune_models(*runs[-1][1], sagemaker=updating, ssm=ssm, settings=SETTINGS)

    models, configs = names(sagemaker)
    assert first in models
    assert first in configs
    assert report.kept[first] == PENDING


def test_the_previous_deployment_is_kept_for_a_rollback_however_old(
    sagemaker: Any, ssm: Any, execution: Execution
) -> None:
    # GIVEN day 0 deployed and recorded; days 1 and 2 created models that never got recorded (their
    # runs were judged or stopped by hand); a rejected run advanced the watermark; then day 3 deployed
    previous, _ = retrain(sagemaker, ssm, execution, 0)
    unrecorded = [deploy(sagemaker, execution, day) for day in (1, 2)]
    serve(sagemaker, previous)
    record(ssm, None, outcome="rejected")
    current, state = retrain(sagemaker, ssm, execution, 3)

    report = prune_models(*state, sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)

    # THEN the rollback target (day 0) stays beyond the newest two; day 1 is the one deleted
    assert report.kept[previous] == PREVIOUS
    assert report.kept[current] == SERVING
    assert report.kept[unrecorded[1]] == NEWEST.format(keep_last=2)
    assert report.deleted_models == report.deleted_endpoint_configs == [unrecorded[0]]


def test_the_previous_deployment_is_read_from_before_this_runs_watermark_version(
    sagemaker: Any, ssm: Any, execution: Execution
) -> None:
    # GIVEN a retried PruneModels of day 2's run, while a later run has already written the watermark
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(3)]
    record(ssm, runs[2][0])  # the same config recorded again (a forced run, say)

    report = prune_models(*runs[1][1], sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)

    # THEN the run's own previous deployment (day 0) is protected, as on its first attempt
    assert report.kept[runs[0][0]] == PREVIOUS
    assert report.kept[runs[1][0]] == THIS_RUN


@pytest.mark.reliability(
    "fault",
    "Another pipeline's or hand-made models named with the pipeline's prefix",
    "Housekeeping deletes only resources carrying the pipeline's tag; the others neither go nor count",
)
def test_other_pipelines_and_untagged_resources_with_the_prefix_are_never_touched(
    sagemaker: Any, ssm: Any, execution: Execution
) -> None:
    # GIVEN another app's pipeline "churn-v2" (its names start with "churn-") and a hand-made model "churn-manual"
    others = [deploy(sagemaker, execution, day, pipeline="churn-v2") for day in range(3)]
    sagemaker.create_model(
        ModelName="churn-manual",
        PrimaryContainer={"Image": DEPLOY.image},
        ExecutionRoleArn=DEPLOY.role_arn,
    )
    foreign = set(others) | {"churn-manual"}
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(4)]

    report = prune_models(*runs[-1][1], sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)

    # THEN only churn's own oldest two are deleted; the others neither go nor take a place among the newest
    models, configs = names(sagemaker)
    assert foreign <= models
    assert set(others) <= configs
    assert sorted(report.deleted_models) == sorted(name for name, _ in runs[:2])
    assert not foreign & set(report.kept)


def test_every_page_of_the_listings_is_read(sagemaker: Any, ssm: Any, execution: Execution) -> None:
    # GIVEN more resources than one page holds
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(5)]

    report = prune_models(*runs[-1][1], sagemaker=sagemaker, ssm=ssm, settings=SETTINGS, page_size=2)

    assert sorted(report.deleted_endpoint_configs) == sorted(name for name, _ in runs[:3])
    assert names(sagemaker) == ({runs[3][0], runs[4][0]}, {runs[3][0], runs[4][0]})


class DeletionLog:
    """moto's SageMaker, recording the deletions in order."""

    def __init__(self, sagemaker: Any) -> None:
        self._sagemaker = sagemaker
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sagemaker, name)

    def delete_endpoint_config(self, **kwargs: Any) -> Any:
        self.calls.append(f"config {kwargs['EndpointConfigName']}")
        return self._sagemaker.delete_endpoint_config(**kwargs)

    def delete_model(self, **kwargs: Any) -> Any:
        self.calls.append(f"model {kwargs['ModelName']}")
        return self._sagemaker.delete_model(**kwargs)


def test_each_config_is_deleted_before_its_model(sagemaker: Any, ssm: Any, execution: Execution) -> None:
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(3)]
    log = DeletionLog(sagemaker)

    prune_models(*runs[-1][1], sagemaker=log, ssm=ssm, settings=SETTINGS)

    assert log.calls == [f"config {runs[0][0]}", f"model {runs[0][0]}"]


def test_a_model_whose_config_stays_is_kept(sagemaker: Any, ssm: Any, execution: Execution) -> None:
    # GIVEN an old model recreated after its config (newer than the config, but the config is old)
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(3)]
    oldest = runs[0][0]
    serve(sagemaker, oldest)  # its config stays: the endpoint serves it

    report = prune_models(*runs[-1][1], sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)

    assert oldest not in report.deleted_models
    assert oldest in names(sagemaker)[0]


def test_no_model_is_deleted_while_the_endpoint_serves_a_config_of_unknown_content(
    sagemaker: Any, ssm: Any, execution: Execution
) -> None:
    # GIVEN the endpoint switched by hand to a config that is not a run's (it may serve any of the models)
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(4)]
    sagemaker.create_endpoint_config(
        EndpointConfigName="hand-made",
        ProductionVariants=[
            {"VariantName": "A", "ModelName": runs[0][0], "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    serve(sagemaker, "hand-made")

    report = prune_models(*runs[-1][1], sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)

    # THEN old configs still go, but every model stays
    assert report.deleted_models == []
    assert sorted(report.deleted_endpoint_configs) == sorted(name for name, _ in runs[:2])
    assert names(sagemaker)[0] == {name for name, _ in runs}


def test_a_retry_deletes_nothing_more_and_without_a_watermark_or_endpoint_nothing_fails(
    sagemaker: Any, ssm: Any, execution: Execution
) -> None:
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(4)]
    prune_models(*runs[-1][1], sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)
    before = names(sagemaker)

    again = prune_models(*runs[-1][1], sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)
    ssm.delete_parameter(Name=PARAMETER)
    sagemaker.delete_endpoint(EndpointName="churn")
    bare = prune_models(None, None, sagemaker=sagemaker, ssm=ssm, settings=SETTINGS)

    assert again.deleted_models == again.deleted_endpoint_configs == []
    assert bare.deleted_models == bare.deleted_endpoint_configs == []
    assert names(sagemaker) == before


def test_a_refused_deletion_raises_after_nothing_protected_was_touched(
    sagemaker: Any, ssm: Any, execution: Execution
) -> None:
    runs = [retrain(sagemaker, ssm, execution, day) for day in range(3)]

    class Refusing(DeletionLog):
        def delete_endpoint_config(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteEndpointConfig")

    with pytest.raises(ClientError, match="AccessDenied"):
        prune_models(*runs[-1][1], sagemaker=Refusing(sagemaker), ssm=ssm, settings=SETTINGS)

    assert names(sagemaker) == ({name for name, _ in runs}, {name for name, _ in runs})


def test_resources_carry_the_pipeline_tag_the_ownership_check_reads(sagemaker: Any, execution: Execution) -> None:
    name = deploy(sagemaker, execution, 0)

    arn = sagemaker.describe_model(ModelName=name)["ModelArn"]

    assert {"Key": PIPELINE_TAG, "Value": "churn"} in sagemaker.list_tags(ResourceArn=arn)["Tags"]
