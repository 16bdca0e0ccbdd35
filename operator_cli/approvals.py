"""Deciding on a model version from the command line: list a pipeline's versions, approve or reject one.

The decision is an UpdateModelPackage, exactly what the SageMaker console does: the registry's state-change
event then resumes the run waiting for it (ApprovalListener), on AWS and in the local runtime alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from contract.events import APPROVED, PENDING, REJECTED
from contract.outputs import model_package_group

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient


# How many versions `models` shows by default: the registry keeps every one ever trained.
DEFAULT_LISTED = 20


class ApprovalError(Exception):
    """The version cannot be decided (unknown, already decided, or ambiguous); the message says which."""


@dataclass(frozen=True)
class ModelVersion:
    version: int
    arn: str
    status: str
    created: str
    training_job: str | None
    manifest_uri: str | None
    description: str | None
    metrics: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def list_versions(sagemaker: SageMakerClient, pipeline: str, *, limit: int = DEFAULT_LISTED) -> list[ModelVersion]:
    """The pipeline's newest versions, newest first."""
    listed = sagemaker.list_model_packages(
        ModelPackageGroupName=model_package_group(pipeline),
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=limit,
    )
    return [
        _version(sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"]))
        for s in listed.get("ModelPackageSummaryList", [])
    ]


def decide(
    sagemaker: SageMakerClient, pipeline: str, *, approve: bool, version: int | None = None, reason: str | None = None
) -> ModelVersion:
    """Approve or reject a version waiting for approval (the only one waiting, when `version` is None).

    Raises ApprovalError when the version does not exist, was already decided, or several wait and none was named.
    """
    if version is None:
        waiting = [v for v in list_versions(sagemaker, pipeline, limit=100) if v.status == PENDING]
        if not waiting:
            raise ApprovalError(f"no version of {model_package_group(pipeline)} waits for approval")
        if len(waiting) > 1:
            numbers = ", ".join(str(v.version) for v in waiting)
            raise ApprovalError(
                f"versions {numbers} of {model_package_group(pipeline)} wait for approval: name one with --version"
            )
        version = waiting[0].version
    arn = _arn(sagemaker, pipeline, version)
    current = _version(sagemaker.describe_model_package(ModelPackageName=arn))
    if current.status != PENDING:
        raise ApprovalError(
            f"version {version} of {model_package_group(pipeline)} is {current.status}, not {PENDING}: "
            "only a version a run waits for can be decided"
        )
    update: dict[str, Any] = {"ModelPackageArn": arn, "ModelApprovalStatus": APPROVED if approve else REJECTED}
    if reason:
        update["ApprovalDescription"] = reason
    sagemaker.update_model_package(**update)
    return _version(sagemaker.describe_model_package(ModelPackageName=arn))


def _arn(sagemaker: SageMakerClient, pipeline: str, version: int) -> str:
    group = sagemaker.describe_model_package_group(ModelPackageGroupName=model_package_group(pipeline))
    arn = str(group["ModelPackageGroupArn"]).replace(":model-package-group/", ":model-package/")
    return f"{arn}/{version}"


def _version(described: Mapping[str, Any]) -> ModelVersion:
    metadata = described.get("CustomerMetadataProperties") or {}
    metrics = {}
    for key, value in metadata.items():
        if key.startswith("metric:"):
            try:
                metrics[key.removeprefix("metric:")] = float(value)
            except ValueError:
                continue
    created: Any = described.get("CreationTime")
    return ModelVersion(
        version=int(described.get("ModelPackageVersion") or str(described["ModelPackageArn"]).rsplit("/", 1)[-1]),
        arn=str(described["ModelPackageArn"]),
        status=str(described.get("ModelApprovalStatus", "")),
        created=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        training_job=metadata.get("training_job"),
        manifest_uri=metadata.get("manifest_uri"),
        description=described.get("ApprovalDescription") or described.get("ModelPackageDescription"),
        metrics=metrics,
    )
