"""SageMaker Lineage in the local runtime: the local AWS server's answers to boto3 (moto has no lineage APIs)."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_runtime.server import LocalAws
from tests.local_aws import local_client

REGION = "us-east-1"  # the region local_client uses
_unique = count()


@pytest.fixture
def sagemaker(moto_aws: LocalAws) -> Any:
    return local_client(moto_aws, "sagemaker")


def name(stem: str) -> str:
    return f"{stem}-{next(_unique)}"


@pytest.mark.compatibility("sagemaker:lineage")
def test_an_artifact_is_created_described_and_listed_by_source_uri(sagemaker: Any) -> None:
    uri = f"s3://data/manifests/{name('run')}.manifest"

    arn = sagemaker.create_artifact(
        ArtifactName="manifest", Source={"SourceUri": uri}, ArtifactType="DataSet", Properties={"files": "7"}
    )["ArtifactArn"]

    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:123456789012:artifact/")
    described = sagemaker.describe_artifact(ArtifactArn=arn)
    assert (described["ArtifactType"], described["Source"]["SourceUri"], described["Properties"]) == (
        "DataSet",
        uri,
        {"files": "7"},
    )
    listed = sagemaker.list_artifacts(SourceUri=uri)["ArtifactSummaries"]
    assert [a["ArtifactArn"] for a in listed] == [arn]
    assert sagemaker.list_artifacts(SourceUri=uri, ArtifactType="Model")["ArtifactSummaries"] == []


@pytest.mark.parametrize(
    ("create", "describe", "arn_key"),
    [
        ("create_action", "describe_action", "ActionArn"),
        ("create_context", "describe_context", "ContextArn"),
    ],
)
def test_actions_and_contexts_are_unique_by_name(sagemaker: Any, create: str, describe: str, arn_key: str) -> None:
    kind = "Action" if "action" in create else "Context"
    entity = name("churn-run")
    arn = getattr(sagemaker, create)(
        **{f"{kind}Name": entity, f"{kind}Type": "Endpoint", "Source": {"SourceUri": f"arn:x:{entity}"}}
    )[arn_key]

    with pytest.raises(ClientError) as duplicate:
        getattr(sagemaker, create)(**{f"{kind}Name": entity, f"{kind}Type": "Endpoint", "Source": {"SourceUri": "o"}})

    assert duplicate.value.response["Error"]["Code"] == "ValidationException"
    assert "already exists" in duplicate.value.response["Error"]["Message"]
    assert getattr(sagemaker, describe)(**{f"{kind}Name": entity})[arn_key] == arn
    listed = getattr(sagemaker, f"list_{kind.lower()}s")(SourceUri=f"arn:x:{entity}")[f"{kind}Summaries"]
    assert [e[arn_key] for e in listed] == [arn]


@pytest.mark.parametrize(
    ("call", "params"),
    [
        ("describe_artifact", {"ArtifactArn": "arn:aws:sagemaker:us-east-1:123456789012:artifact/missing"}),
        ("describe_action", {"ActionName": "missing"}),
        ("describe_context", {"ContextName": "missing"}),
    ],
)
def test_a_missing_entity_is_resource_not_found(sagemaker: Any, call: str, params: dict[str, str]) -> None:
    with pytest.raises(ClientError) as missing:
        getattr(sagemaker, call)(**params)

    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"


def test_an_invalid_name_is_a_validation_error(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as invalid:
        sagemaker.create_context(ContextName="bad_name", Source={"SourceUri": "x"}, ContextType="Endpoint")

    assert invalid.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.compatibility("sagemaker:lineage")
def test_associations_are_listed_by_source_and_destination(sagemaker: Any) -> None:
    data = sagemaker.create_artifact(Source={"SourceUri": name("s3://d/m")}, ArtifactType="DataSet")["ArtifactArn"]
    job = sagemaker.create_action(ActionName=name("job"), Source={"SourceUri": "j"}, ActionType="ModelTraining")[
        "ActionArn"
    ]
    model = sagemaker.create_artifact(Source={"SourceUri": name("s3://d/model")}, ArtifactType="Model")["ArtifactArn"]

    sagemaker.add_association(SourceArn=data, DestinationArn=job, AssociationType="ContributedTo")
    sagemaker.add_association(SourceArn=job, DestinationArn=model, AssociationType="Produced")

    downstream = sagemaker.list_associations(SourceArn=job)["AssociationSummaries"]
    assert [(a["DestinationArn"], a["AssociationType"], a["DestinationType"]) for a in downstream] == [
        (model, "Produced", "Model")
    ]
    upstream = sagemaker.list_associations(DestinationArn=job)["AssociationSummaries"]
    assert [(a["SourceArn"], a["SourceType"]) for a in upstream] == [(data, "DataSet")]
    with pytest.raises(ClientError) as twice:
        sagemaker.add_association(SourceArn=job, DestinationArn=model, AssociationType="Produced")
    assert twice.value.response["Error"]["Code"] == "ValidationException"


def test_an_association_needs_both_ends(sagemaker: Any) -> None:
    data = sagemaker.create_artifact(Source={"SourceUri": name("s3://d/m")}, ArtifactType="DataSet")["ArtifactArn"]

    with pytest.raises(ClientError) as missing:
        sagemaker.add_association(SourceArn=data, DestinationArn=f"{data}-gone", AssociationType="ContributedTo")

    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
