"""RecordLineage: the portable run record and the SageMaker Lineage chain, against moto's S3 and the lineage store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambdas.common.cost import run_cost
from lambdas.common.errors import InvalidStepEventError
from lambdas.common.events import Execution
from lambdas.common.models import DeploymentState, EvaluationState, RunState, TrainingJobState, WatermarkState
from lambdas.record_lineage.core import (
    LineageSettings,
    build_run_record,
    record_lineage_entities,
    run_record_key,
    write_run_record,
)
from tests.fakes.lineage import LineageClient
from tests.unit.lambdas.states import (
    deployment_section,
    evaluation_section,
    run_section,
    training_section,
    watermark_section,
)

NOW = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)
SETTINGS = LineageSettings(pipeline="churn", bucket="data", runs_prefix="runs/churn", endpoint_name="churn")
RUN = "churn-20261122060000-abcdef12"
SM = "arn:aws:sagemaker:us-east-1:123456789012:"


def deployed_state(**extra: Any) -> dict[str, Any]:
    return {
        "run": run_section(run_id=RUN, manifest_uri=f"s3://data/manifests/churn/{RUN}.manifest").to_state(),
        "training": training_section(
            job_name=RUN, model_artifact=f"s3://data/models/churn/{RUN}/model.tar.gz", metrics={"rmse": 0.5}
        ).to_state(),
        "deployment": deployment_section(
            endpoint_name="churn", endpoint_config_name=RUN, model_name=RUN, started_at="x"
        ).to_state(),
        "watermark": watermark_section(newest_data_date="2026-11-21", version=2).to_state(),
        **extra,
    }


def build(state: dict[str, Any], execution: Execution) -> dict[str, Any]:
    """The run record from the state's sections, read as the handler reads them."""
    return build_run_record(
        RunState.read(state),
        TrainingJobState.read(state),
        execution,
        deployment=DeploymentState.read_optional(state),
        evaluation=EvaluationState.read_optional(state),
        watermark=WatermarkState.read_optional(state),
        settings=SETTINGS,
        now=NOW,
    )


EVALUATION = evaluation_section(
    model_package_group="churn-models",
    model_package_arn=f"{SM}model-package/churn-models/3",
    model_package_version=3,
    approval_status="Approved",
).to_state()
RECORD_URI = f"s3://data/runs/churn/{RUN}.json"


def test_the_record_names_every_link_of_the_chain_but_not_the_files(execution: Execution) -> None:
    record = build(deployed_state(), execution)

    assert record["run_id"] == RUN
    assert record["outcome"] == "deployed"
    assert record["execution"] == {"id": execution.id, "name": "run-1", "started_at": "2026-11-22T06:00:00.000Z"}
    assert record["window"] == {"start": "2026-11-15", "end": "2026-11-21", "days": 7, "newest_data_date": "2026-11-21"}
    assert record["data"]["manifest_uri"] == f"s3://data/manifests/churn/{RUN}.manifest"
    assert record["training"]["job_arn"] == f"{SM}training-job/{RUN}"
    assert record["training"]["metrics"] == {"rmse": 0.5}
    assert record["deployment"]["endpoint_arn"] == f"{SM}endpoint/churn"
    assert record["deployment"]["endpoint_config_arn"] == f"{SM}endpoint-config/{RUN}"
    assert record["deployment"]["deployed_at"] == "2026-11-22T09:00:00.000Z"
    assert record["model_package"] is None  # no EvaluateModel in this state
    assert "files" not in json.dumps(record)
    assert run_record_key("runs/churn/", RUN) == f"runs/churn/{RUN}.json"


def test_a_rejected_run_records_its_model_package_and_no_deployment(execution: Execution) -> None:
    state = deployed_state(
        evaluation={**EVALUATION, "approval_status": "Rejected"},
        watermark=watermark_section(outcome="rejected").to_state(),
    )
    del state["deployment"]

    record = build(state, execution)

    assert record["outcome"] == "rejected"
    assert record["deployment"] is None
    assert record["model_package"] == {
        "arn": EVALUATION["model_package_arn"],
        "group": "churn-models",
        "version": 3,
        "approval_status": "Rejected",
    }


@pytest.mark.parametrize(("section", "field"), [("run", "manifest_uri"), ("training", None), ("run", None)])
def test_a_state_without_the_runs_data_is_refused(execution: Execution, section: str, field: str | None) -> None:
    state = deployed_state()
    if field is None:
        del state[section]
    else:
        del state[section][field]

    with pytest.raises(InvalidStepEventError, match=field or section):
        build(state, execution)


def test_the_record_is_written_under_the_runs_prefix(aws: None, execution: Execution) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data")
    record = build(deployed_state(), execution)

    uri = write_run_record(s3, "data", run_record_key(SETTINGS.runs_prefix, RUN), record)
    write_run_record(s3, "data", run_record_key(SETTINGS.runs_prefix, RUN), record)  # a retried attempt

    assert uri == f"s3://data/runs/churn/{RUN}.json"
    assert json.loads(s3.get_object(Bucket="data", Key=f"runs/churn/{RUN}.json")["Body"].read()) == record


def associations(client: LineageClient) -> set[tuple[str, str, str]]:
    answer = client.list_associations()["AssociationSummaries"]
    return {(a["SourceType"], a["DestinationType"], a["AssociationType"]) for a in answer}


def test_lineage_links_manifest_training_model_package_deployment_and_endpoint(execution: Execution) -> None:
    # GIVEN a deployed run whose model was registered as a package version
    client = LineageClient()
    record = build(deployed_state(evaluation=EVALUATION), execution)

    # WHEN its lineage is recorded
    entities = record_lineage_entities(record, run_record=RECORD_URI, sagemaker=client)

    # THEN each link of the chain is an entity, associated with the next in the right direction
    assert associations(client) == {
        ("DataSet", "ModelTraining", "ContributedTo"),
        ("ModelTraining", "Model", "Produced"),
        ("Model", "ModelPackage", "ContributedTo"),
        ("ModelPackage", "ModelDeployment", "ContributedTo"),
        ("ModelDeployment", "Endpoint", "AssociatedWith"),
    }
    assert entities.associations == 5
    dataset = client.describe_artifact(ArtifactArn=entities.dataset)
    assert dataset["Source"]["SourceUri"] == record["data"]["manifest_uri"]
    assert dataset["Properties"]["file_count"] == "7"
    assert client.describe_action(ActionName=f"{RUN}-training")["Source"]["SourceUri"] == f"{SM}training-job/{RUN}"
    assert client.describe_context(ContextName="churn-endpoint")["ContextArn"] == entities.endpoint
    upstream = client.list_associations(DestinationArn=entities.deployment)["AssociationSummaries"]
    assert [a["SourceArn"] for a in upstream] == [entities.model_package]


@pytest.mark.reliability(
    "fault",
    "RecordLineage retried after its first attempt created the lineage (or SageMaker made the endpoint's context)",
    "Every entity is found by its source URI or name and reused: no duplicate artifact, action, context or association",
)
def test_recording_again_reuses_every_entity_and_adds_no_association(execution: Execution) -> None:
    client = LineageClient()
    record = build(deployed_state(), execution)
    first = record_lineage_entities(record, run_record=RECORD_URI, sagemaker=client)

    again = record_lineage_entities(record, run_record=RECORD_URI, sagemaker=client)

    assert again == first
    assert len(client.list_associations()["AssociationSummaries"]) == 4  # no package: model -> deployment
    assert len(client.list_artifacts()["ArtifactSummaries"]) == 2


def test_an_endpoint_context_sagemaker_already_made_is_used(execution: Execution) -> None:
    # GIVEN SageMaker's own context for the endpoint (it creates one when the endpoint is created)
    client = LineageClient()
    own = client.create_context(
        ContextName="churn-abc123", Source={"SourceUri": f"{SM}endpoint/churn"}, ContextType="Endpoint"
    )["ContextArn"]
    record = build(deployed_state(), execution)

    entities = record_lineage_entities(record, run_record=RECORD_URI, sagemaker=client)

    assert entities.endpoint == own
    assert len(client.list_contexts()["ContextSummaries"]) == 1


def test_a_name_taken_by_an_earlier_attempt_is_described_instead_of_created(execution: Execution) -> None:
    # GIVEN an action of this run's name that the listing does not find (its source URI differs)
    client = LineageClient()
    existing = client.create_action(
        ActionName=f"{RUN}-training", Source={"SourceUri": "elsewhere"}, ActionType="ModelTraining"
    )["ActionArn"]
    record = build(deployed_state(), execution)

    entities = record_lineage_entities(record, run_record=RECORD_URI, sagemaker=client)

    assert entities.training == existing


def test_a_rejected_run_has_lineage_up_to_its_model_package(execution: Execution) -> None:
    state = deployed_state(
        evaluation={**EVALUATION, "approval_status": "Rejected"},
        watermark=watermark_section(outcome="rejected").to_state(),
    )
    client = LineageClient()

    entities = record_lineage_entities(build(state, execution), run_record=RECORD_URI, sagemaker=client)

    assert entities.deployment is None
    assert entities.endpoint is None
    assert ("Model", "ModelPackage", "ContributedTo") in associations(client)
    assert client.list_contexts()["ContextSummaries"] == []


def test_the_record_says_what_the_runs_jobs_cost(execution: Execution) -> None:
    # GIVEN a deployed run whose training job GetStatus described: 10 minutes on one priced ml.m5.large
    state = deployed_state()
    state["training"]["usage"] = {
        "kind": "training",
        "job_name": RUN,
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "seconds": 600,
        "billable_seconds": 600,
        "spot": False,
        "usd_per_hour": 0.115,
    }

    # WHEN its record is built as the handler builds it
    record = build_run_record(
        RunState.read(state),
        TrainingJobState.read(state),
        execution,
        deployment=DeploymentState.read_optional(state),
        evaluation=None,
        watermark=WatermarkState.read_optional(state),
        settings=SETTINGS,
        now=NOW,
        cost=run_cost(state),
    )

    # THEN it carries the billed time and the estimate, job by job
    assert record["cost"]["billable_instance_seconds"] == 600
    assert record["cost"]["estimated_usd"] == pytest.approx(0.019167, abs=1e-6)
    assert record["cost"]["unpriced"] == []
    assert [job["job_name"] for job in record["cost"]["jobs"]] == [RUN]
    assert json.loads(json.dumps(record)) == record
