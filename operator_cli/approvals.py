"""Deciding on a model version from the command line: list a pipeline's versions, approve or reject one.

The decision is an UpdateModelPackage, exactly what the SageMaker console does: the registry's state-change
event then resumes the run waiting for it (ApprovalListener), on AWS and in the local runtime alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.events import APPROVED, PENDING, REJECTED
from contract.outputs import model_package_group
from operator_cli.not_found import is_not_found

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient


# How many versions `models` shows by default: the registry keeps every one ever trained.
DEFAULT_LISTED = 20
MAX_LISTED = 100  # ListModelPackages' MaxResults


class ApprovalError(Exception):
    """The version cannot be decided (unknown, already decided, or ambiguous); the message says which."""


class VersionNotFoundError(ApprovalError):
    """The registry has no version of that number; the message names it, its group and where."""


def group_exists(sagemaker: SageMakerClient, pipeline: str) -> bool:
    """Whether the pipeline's model package group exists (EvaluateModel creates it with the first version)."""
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=model_package_group(pipeline))
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


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
    sagemaker: SageMakerClient,
    pipeline: str,
    *,
    approve: bool,
    version: int | None = None,
    reason: str | None = None,
    where: str = "SageMaker",
) -> ModelVersion:
    """Approve or reject a version waiting for approval (the only one waiting, when `version` is None).

    Raises VersionNotFoundError when `where` has no such version, ApprovalError when it was already decided, or
    several wait and none was named.
    """
    if version is None:
        waiting = [v for v in list_versions(sagemaker, pipeline, limit=100) if v.status == PENDING]
        if not waiting:
            raise ApprovalError(f"no version of {model_package_group(pipeline)} in {where} waits for approval")
        if len(waiting) > 1:
            numbers = ", ".join(str(v.version) for v in waiting)
            raise ApprovalError(
                f"versions {numbers} of {model_package_group(pipeline)} wait for approval: name one with --version"
            )
        version = waiting[0].version
    arn = _arn(sagemaker, pipeline, version)
    try:
        current = _version(sagemaker.describe_model_package(ModelPackageName=arn))
    except ClientError as error:
        if not is_not_found(error):
            raise
        newest = list_versions(sagemaker, pipeline, limit=1)
        raise VersionNotFoundError(
            f"version {version} of {model_package_group(pipeline)} not found in {where}"
            + (f" (the newest is {newest[0].version})" if newest else " (it holds no version)")
        ) from None
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
