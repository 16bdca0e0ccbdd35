"""The model registry's EventBridge events: "SageMaker Model Package State Change", as SageMaker sends them.

SageMaker emits one when a model package is created and when its state changes (the approval listener reacts
to ModelApprovalStatus); moto's SageMaker emits none. The detail carries DescribeModelPackage's fields as in
AWS's documented example, with times as ISO-8601 text; `resources` is the package's ARN.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from contract.events import MODEL_PACKAGE_STATE_CHANGE
from local_runtime import event_bus

SOURCE = "aws.sagemaker"

# The fields of AWS's example event (the rest of DescribeModelPackage's answer is not sent), plus those a
# package only has when given: its name (unversioned), description, approval note and metadata.
_DETAIL_FIELDS = (
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "ModelPackageName",
    "ModelPackageDescription",
    "CreationTime",
    "InferenceSpecification",
    "ModelPackageStatus",
    "ModelPackageStatusDetails",
    "CertifyForMarketplace",
    "ModelApprovalStatus",
    "ApprovalDescription",
    "MetadataProperties",
    "ModelMetrics",
    "CustomerMetadataProperties",
    "LastModifiedTime",
)

PutEvents = Callable[..., Sequence[Mapping[str, Any]]]


def state_change_detail(description: Mapping[str, Any]) -> dict[str, Any]:
    """The event's detail from a package's DescribeModelPackage answer (datetimes become ISO-8601 text)."""
    detail = {key: description[key] for key in _DETAIL_FIELDS if description.get(key) is not None}
    detail.setdefault("LastModifiedTime", detail.get("CreationTime"))  # a new package was last modified then
    for key in ("CreationTime", "LastModifiedTime"):
        if isinstance(detail.get(key), datetime):
            detail[key] = event_bus.aws_time(detail[key])
    return detail


class ModelPackageEvents:
    """Emits a state change per created package and per update that changes its approval status."""

    def __init__(self, put_events: PutEvents = event_bus.put_events) -> None:
        self._put_events = put_events
        self._approval: dict[str, str | None] = {}  # package ARN -> the approval status last announced
        self._lock = threading.Lock()

    def on_created(self, region: str, description: Mapping[str, Any]) -> None:
        with self._lock:
            self._approval[description["ModelPackageArn"]] = description.get("ModelApprovalStatus")
        self._emit(region, description)

    def on_updated(self, region: str, description: Mapping[str, Any]) -> None:
        """Emit only when the approval status differs from the one last announced for the package."""
        arn, status = description["ModelPackageArn"], description.get("ModelApprovalStatus")
        with self._lock:
            unchanged = arn in self._approval and self._approval[arn] == status
            self._approval[arn] = status
        if not unchanged:
            self._emit(region, description)

    def _emit(self, region: str, description: Mapping[str, Any]) -> None:
        detail = state_change_detail(description)
        entry = {
            "Source": SOURCE,
            "DetailType": MODEL_PACKAGE_STATE_CHANGE,
            "Detail": json.dumps(detail, default=str),
            "Resources": [detail["ModelPackageArn"]],
        }
        self._put_events([entry], region=region)
