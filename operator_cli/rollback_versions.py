"""Which registry version a rollback deploys: the one `--version` names, or the one served before the current one.

The previously served version is the newest Approved version older than the one serving now (the version whose
`training_job` metadata names the serving model: a run names its model after its training job) that the run
records show deployed to the endpoint, by a run or by a rollback, and whose model is not the serving one. A version
never deployed (a backfill's, or one approved after its run gave up waiting) is skipped, and so is one Rejected
since. Rolling back twice therefore goes back twice, never forth to the version the first rollback replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.events import APPROVED
from lambdas.common.names import SAGEMAKER_NAME_PATTERN
from lambdas.record_lineage.core import run_record_key
from operator_cli.not_found import is_not_found
from operator_cli.rollback_endpoint import PipelineResources, RollbackError, Serving

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient

# A rollback's run record: `<runs prefix>/rollback-<UTC time>.json`.
ROLLBACK_RUN_PREFIX = "rollback-"
VERSION_ARN = re.compile(r"^arn:[\w-]+:sagemaker:[\w-]+:\d{12}:model-package/(?P<group>[^/]+)/(?P<number>\d+)$")


@dataclass(frozen=True)
class RegistryVersion:
    """One version of the pipeline's model package group, as a rollback reads it."""

    number: int
    arn: str
    group: str
    status: str
    metadata: Mapping[str, str]  # CustomerMetadataProperties (lambdas/evaluate_model/core.py version_metadata)
    containers: tuple[Mapping[str, Any], ...]  # InferenceSpecification.Containers

    @property
    def model_name(self) -> str | None:
        """The name the version's run gave its model (its training job's), None when it names no valid one."""
        job = self.metadata.get("training_job") or ""
        return job if SAGEMAKER_NAME_PATTERN.match(job) else None

    def describe(self) -> str:
        return f"version {self.number} of {self.group}"


def parse_version(text: str) -> int | str:
    """`--version`: a version number, or a model package version's ARN; raise ValueError saying what is expected."""
    if text.isdigit() and int(text) >= 1:
        return int(text)
    if VERSION_ARN.match(text):
        return text
    raise ValueError(f"--version {text!r}: expected a version number (1 or more) or a model package version's ARN")


def read_version(sagemaker: SageMakerClient, arn: str) -> RegistryVersion:
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    arn = str(described["ModelPackageArn"])
    return RegistryVersion(
        number=int(described.get("ModelPackageVersion") or arn.rsplit("/", 1)[-1]),
        arn=arn,
        group=str(described.get("ModelPackageGroupName") or arn.rsplit("/", 2)[-2]),
        status=str(described.get("ModelApprovalStatus", "")),
        metadata=dict(described.get("CustomerMetadataProperties") or {}),
        containers=tuple(described.get("InferenceSpecification", {}).get("Containers", [])),
    )


def named_version(sagemaker: SageMakerClient, group: str, selector: int | str, where: str) -> RegistryVersion:
    """The version `--version` names: a number in `group`, or an ARN that must be of `group`.

    Raises RollbackError when the ARN is of another group, or no such version exists.
    """
    if isinstance(selector, str):
        match = VERSION_ARN.match(selector)
        if match is None:
            raise RollbackError(f"{selector!r} is not a model package version's ARN")
        # SageMaker matches names in ARNs without regard to case.
        if match["group"].lower() != group.lower():
            raise RollbackError(f"{selector} is a version of group {match['group']}, not of this pipeline's {group}")
        arn, label = selector, selector
    else:
        group_arn = _group_arn(sagemaker, group, where)
        arn = f"{group_arn.replace(':model-package-group/', ':model-package/')}/{selector}"
        label = f"version {selector} of {group}"
    try:
        return read_version(sagemaker, arn)
    except ClientError as error:
        if not is_not_found(error):
            raise
    newest = sagemaker.list_model_packages(
        ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    ).get("ModelPackageSummaryList", [])
    raise RollbackError(
        f"{label} not found in {where}"
        + (f" (the newest is version {newest[0].get('ModelPackageVersion')})" if newest else f" ({group} holds none)")
    )


def require_deployable(version: RegistryVersion, serving: Serving) -> None:
    """Raise RollbackError unless the version is Approved, has containers, and is not what serves now."""
    if version.status != APPROVED:
        raise RollbackError(
            f"{version.describe()} is {version.status}, not {APPROVED}: only an Approved version is deployed"
        )
    if not version.containers:
        raise RollbackError(f"{version.describe()} has no inference containers to create a model from")
    if version.model_name is not None and version.model_name == serving.model_name:
        raise RollbackError(
            f"{version.describe()} is what endpoint {serving.endpoint_name} serves now (model {serving.model_name})"
        )


def versions_newest_first(sagemaker: SageMakerClient, group: str) -> Iterator[RegistryVersion]:
    """Every version of the group, newest first, each described only when reached."""
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"
    )
    for page in pages:
        for summary in page.get("ModelPackageSummaryList", []):
            yield read_version(sagemaker, summary["ModelPackageArn"])


def current_version(sagemaker: SageMakerClient, group: str, serving: Serving) -> RegistryVersion | None:
    """The version whose model serves now, None when no version records it."""
    return next((v for v in versions_newest_first(sagemaker, group) if v.model_name == serving.model_name), None)


@dataclass
class DeploymentRecords:
    """Which models the run records show deployed to the endpoint, read when first asked: each run's own record
    (`<runs>/<run>.json`: the run's name is its model's) and the rollbacks' (`<runs>/rollback-*.json`)."""

    s3: S3Client
    resources: PipelineResources
    _rolled_back: set[str] | None = field(default=None, repr=False)

    def deployed(self, model_name: str) -> bool:
        record = self._read(run_record_key(self.resources.runs_prefix, model_name))
        if record is not None and self._deployment(record) == model_name:
            return True
        return model_name in self._rollbacks()

    def _rollbacks(self) -> set[str]:
        if self._rolled_back is None:
            self._rolled_back = set()
            prefix = f"{self.resources.runs_prefix}/{ROLLBACK_RUN_PREFIX}"
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.resources.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    model = self._deployment(self._read(item["Key"]) or {})
                    if model is not None:
                        self._rolled_back.add(model)
        return self._rolled_back

    def _deployment(self, record: Mapping[str, Any]) -> str | None:
        """The model a record deployed to this endpoint, None when it deployed none there."""
        deployment = record.get("deployment") or {}
        if record.get("outcome") != "deployed" or deployment.get("endpoint_name") != self.resources.endpoint_name:
            return None
        return str(deployment.get("model_name") or "") or None

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.resources.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if is_not_found(error):
                return None
            raise
        try:
            record = json.loads(body)
        except ValueError:
            return None  # not a record of ours
        return record if isinstance(record, dict) else None


def previous_version(
    sagemaker: SageMakerClient, records: DeploymentRecords, serving: Serving, group: str
) -> tuple[RegistryVersion, RegistryVersion]:
    """The version served before the current one, and the current one (the rule: see the module's docstring).

    Raises RollbackError when the serving model is no version's, or no earlier version qualifies.
    """
    current: RegistryVersion | None = None
    for version in versions_newest_first(sagemaker, group):
        if current is None:
            if version.model_name == serving.model_name:
                current = version
            continue
        if version.status != APPROVED or version.model_name in (None, serving.model_name):
            continue
        if records.deployed(str(version.model_name)):
            return version, current
    if current is None:
        raise RollbackError(
            f"endpoint {serving.endpoint_name} serves model {serving.model_name}, which no version of {group} "
            "records: name the version to deploy with --version"
        )
    raise RollbackError(
        f"no Approved version of {group} older than version {current.number} (serving now) was deployed to "
        f"endpoint {serving.endpoint_name}: name the version to deploy with --version (`sagemaker-retraining models` "
        "lists them)"
    )


def _group_arn(sagemaker: SageMakerClient, group: str, where: str) -> str:
    try:
        return str(sagemaker.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"])
    except ClientError as error:
        if is_not_found(error):
            raise RollbackError(
                f"model package group {group} not found in {where}: the pipeline has registered no version yet"
            ) from None
        raise
