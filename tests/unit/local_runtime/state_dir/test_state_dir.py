"""save/restore per service: boto3 against a LocalAws, saved, the server stopped, a new one restored."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_runtime import state_dir
from local_runtime.server import LocalAws
from local_runtime.state_dir.executions import RESTART_ERROR
from local_runtime.state_dir.sagemaker import RESTART_FAILURE
from tests.local_aws import local_client

ROLE = "arn:aws:iam::123456789012:role/local"


@contextmanager
def restarted(directory: Path, before: Callable[[LocalAws], None]) -> Iterator[LocalAws]:
    """A LocalAws given `before`, saved to `directory` and stopped; then a new one restored from it."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalAws() as first:
        before(first)
        state_dir.save(first, directory)
    with LocalAws() as second:
        assert state_dir.restore(second, directory) is not None
        yield second


def test_a_directory_without_state_restores_nothing(tmp_path: Path) -> None:
    with LocalAws() as aws:
        assert state_dir.restore(aws, tmp_path / "empty") is None


def test_s3_keeps_objects_versions_metadata_tags_and_encryption(tmp_path: Path) -> None:
    def before(aws: LocalAws) -> None:
        s3 = local_client(aws, "s3")
        s3.create_bucket(Bucket="data")
        s3.put_bucket_tagging(Bucket="data", Tagging={"TagSet": [{"Key": "team", "Value": "ml"}]})
        s3.put_bucket_encryption(
            Bucket="data",
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        s3.put_object(
            Bucket="data",
            Key="daily/2026-11-22.csv",
            Body=b"a,b\n1,2\n",
            ContentType="text/csv",
            Metadata={"source": "test"},
            Tagging="kind=daily",
        )
        s3.create_bucket(Bucket="versioned")
        s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="versioned", Key="model", Body=b"v1")
        s3.put_object(Bucket="versioned", Key="model", Body=b"v2")
        s3.put_object(Bucket="versioned", Key="gone", Body=b"x")
        s3.delete_object(Bucket="versioned", Key="gone")

    with restarted(tmp_path, before) as aws:
        s3 = local_client(aws, "s3")
        got = s3.get_object(Bucket="data", Key="daily/2026-11-22.csv")
        assert got["Body"].read() == b"a,b\n1,2\n"
        assert got["ContentType"] == "text/csv"
        assert got["Metadata"] == {"source": "test"}
        assert got["ServerSideEncryption"] == "AES256"
        assert s3.get_object_tagging(Bucket="data", Key="daily/2026-11-22.csv")["TagSet"] == [
            {"Key": "kind", "Value": "daily"}
        ]
        assert s3.get_bucket_tagging(Bucket="data")["TagSet"] == [{"Key": "team", "Value": "ml"}]
        rules = s3.get_bucket_encryption(Bucket="data")["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert s3.get_bucket_versioning(Bucket="versioned")["Status"] == "Enabled"
        versions = s3.list_object_versions(Bucket="versioned", Prefix="model")["Versions"]
        assert [
            s3.get_object(Bucket="versioned", Key="model", VersionId=v["VersionId"])["Body"].read() for v in versions
        ] == [b"v2", b"v1"]
        assert s3.get_object(Bucket="versioned", Key="model")["Body"].read() == b"v2"
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="versioned", Key="gone")
        assert len(s3.list_object_versions(Bucket="versioned", Prefix="gone")["DeleteMarkers"]) == 1


def test_ssm_keeps_every_version_and_secrets_their_values(tmp_path: Path) -> None:
    def before(aws: LocalAws) -> None:
        ssm = local_client(aws, "ssm")
        ssm.put_parameter(
            Name="/pipeline/watermark", Value="2026-11-21", Type="String", Tags=[{"Key": "k", "Value": "v"}]
        )
        ssm.put_parameter(Name="/pipeline/watermark", Value="2026-11-22", Type="String", Overwrite=True)
        ssm.put_parameter(Name="/pipeline/secret", Value="hush", Type="SecureString")
        secrets = local_client(aws, "secretsmanager")
        secrets.create_secret(Name="slack-token", SecretString="xoxb-1")
        secrets.put_secret_value(SecretId="slack-token", SecretString="xoxb-2")

    with restarted(tmp_path, before) as aws:
        ssm = local_client(aws, "ssm")
        assert ssm.get_parameter(Name="/pipeline/watermark")["Parameter"]["Value"] == "2026-11-22"
        history = ssm.get_parameter_history(Name="/pipeline/watermark")["Parameters"]
        assert [(p["Version"], p["Value"]) for p in history] == [(1, "2026-11-21"), (2, "2026-11-22")]
        assert ssm.get_parameter(Name="/pipeline/secret", WithDecryption=True)["Parameter"]["Value"] == "hush"
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/pipeline/watermark")["TagList"]
        assert tags == [{"Key": "k", "Value": "v"}]
        ssm.put_parameter(Name="/pipeline/watermark", Value="2026-11-23", Type="String", Overwrite=True)
        assert ssm.get_parameter(Name="/pipeline/watermark")["Parameter"]["Version"] == 3
        secrets = local_client(aws, "secretsmanager")
        assert secrets.get_secret_value(SecretId="slack-token")["SecretString"] == "xoxb-2"
        versions = secrets.list_secret_version_ids(SecretId="slack-token")["Versions"]
        assert len(versions) == 2


def _register(sagemaker: Any, group: str, status: str) -> str:
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        CustomerMetadataProperties={"data_through": "2026-11-22"},
        InferenceSpecification={
            "Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://models/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    return arn


def test_sagemaker_keeps_the_registry_models_configs_and_jobs(tmp_path: Path) -> None:
    arns: list[str] = []

    def before(aws: LocalAws) -> None:
        sagemaker = local_client(aws, "sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName="churn", ModelPackageGroupDescription="d")
        arns.append(_register(sagemaker, "churn", "Approved"))
        arns.append(_register(sagemaker, "churn", "PendingManualApproval"))
        sagemaker.create_model(
            ModelName="churn-1",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "xgboost", "ModelDataUrl": "s3://models/model.tar.gz"},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="churn-1",
            ProductionVariants=[
                {"VariantName": "a", "ModelName": "churn-1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
            ],
        )
        sagemaker.create_training_job(
            TrainingJobName="train-1",
            AlgorithmSpecification={"TrainingImage": "xgboost", "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig={"S3OutputPath": "s3://models/"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )

    with restarted(tmp_path, before) as aws:
        sagemaker = local_client(aws, "sagemaker")
        packages = sagemaker.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
        assert sorted(p["ModelApprovalStatus"] for p in packages) == ["Approved", "PendingManualApproval"]
        first = sagemaker.describe_model_package(ModelPackageName=arns[0])
        assert first["CustomerMetadataProperties"] == {"data_through": "2026-11-22"}
        assert first["ModelPackageVersion"] == 1
        assert _register(sagemaker, "churn", "PendingManualApproval").endswith("/3")  # versions go on from 2
        assert sagemaker.describe_model(ModelName="churn-1")["ExecutionRoleArn"] == ROLE
        config = sagemaker.describe_endpoint_config(EndpointConfigName="churn-1")
        assert config["ProductionVariants"][0]["ModelName"] == "churn-1"
        assert sagemaker.describe_training_job(TrainingJobName="train-1")["TrainingJobStatus"] == "Completed"


def test_a_job_running_at_the_save_comes_back_failed(tmp_path: Path) -> None:
    from moto.sagemaker.models import sagemaker_backends

    def before(aws: LocalAws) -> None:
        local_client(aws, "sagemaker").create_training_job(
            TrainingJobName="running",
            AlgorithmSpecification={"TrainingImage": "xgboost", "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig={"S3OutputPath": "s3://models/"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )
        sagemaker_backends["123456789012"]["us-east-1"].training_jobs["running"].training_job_status = "InProgress"

    with restarted(tmp_path, before) as aws:
        job = local_client(aws, "sagemaker").describe_training_job(TrainingJobName="running")
        assert (job["TrainingJobStatus"], job["FailureReason"]) == ("Failed", RESTART_FAILURE)


def test_lineage_keeps_entities_and_associations(tmp_path: Path) -> None:
    def before(aws: LocalAws) -> None:
        sagemaker = local_client(aws, "sagemaker")
        data = sagemaker.create_artifact(Source={"SourceUri": "s3://data/day.csv"}, ArtifactType="DataSet")
        sagemaker.create_context(ContextName="churn-model-1", Source={"SourceUri": "arn:model"}, ContextType="Model")
        context = sagemaker.describe_context(ContextName="churn-model-1")["ContextArn"]
        sagemaker.add_association(
            SourceArn=data["ArtifactArn"], DestinationArn=context, AssociationType="ContributedTo"
        )

    with restarted(tmp_path, before) as aws:
        sagemaker = local_client(aws, "sagemaker")
        context = sagemaker.describe_context(ContextName="churn-model-1")["ContextArn"]
        associations = sagemaker.list_associations(DestinationArn=context)["AssociationSummaries"]
        assert [a["AssociationType"] for a in associations] == ["ContributedTo"]


PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}})
WAIT_MACHINE = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}})


def test_executions_keep_their_history_and_a_running_one_ends_aborted(tmp_path: Path) -> None:
    arns: dict[str, str] = {}

    def before(aws: LocalAws) -> None:
        sfn = local_client(aws, "stepfunctions")
        done = sfn.create_state_machine(name="done", definition=PASS_MACHINE, roleArn=ROLE)["stateMachineArn"]
        waits = sfn.create_state_machine(name="waits", definition=WAIT_MACHINE, roleArn=ROLE)["stateMachineArn"]
        arns["finished"] = sfn.start_execution(stateMachineArn=done, name="finished", input="{}")["executionArn"]
        arns["running"] = sfn.start_execution(stateMachineArn=waits, name="running", input="{}")["executionArn"]
        arns["done_machine"] = done
        for _ in range(100):
            if sfn.describe_execution(executionArn=arns["finished"])["status"] != "RUNNING":
                break
            time.sleep(0.05)
        arns["history"] = json.dumps(
            [e["type"] for e in sfn.get_execution_history(executionArn=arns["finished"])["events"]]
        )

    with restarted(tmp_path, before) as aws:
        sfn = local_client(aws, "stepfunctions")
        finished = sfn.describe_execution(executionArn=arns["finished"])
        assert (finished["status"], json.loads(finished["output"])) == ("SUCCEEDED", {"ok": 1})
        events = sfn.get_execution_history(executionArn=arns["finished"])["events"]
        assert json.dumps([e["type"] for e in events]) == arns["history"]
        running = sfn.describe_execution(executionArn=arns["running"])
        assert (running["status"], running["error"]) == ("ABORTED", RESTART_ERROR)
        assert running["stopDate"] <= datetime.now(UTC)
        last = sfn.get_execution_history(executionArn=arns["running"])["events"][-1]
        assert last["type"] == "ExecutionAborted"
        listed = sfn.list_executions(stateMachineArn=arns["done_machine"])["executions"]
        assert [e["name"] for e in listed] == ["finished"]
        again = sfn.start_execution(stateMachineArn=arns["done_machine"], name="after", input="{}")
        assert again["executionArn"].endswith(":after")
