"""SageMaker in the state directory: models, endpoint configs, endpoints, the model registry (groups and versions with
their approval status and metadata), and training, processing and transform jobs as DescribeX answers them.

What a restart changes, as SageMaker would tell it:
- an endpoint that was serving (InService, or Updating: its serving config) is Creating again and its workers start
  from its model (local_runtime.sagemaker.hosting), then InService; a Failed one stays Failed;
- a job still running when the state was saved ends Failed: its worker is gone, and a job SageMaker loses to an
  internal error fails with an InternalServerError reason.

Not kept: notebook instances, experiments, trials, pipelines, feature groups, clusters, model cards, tuning jobs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import moto.sagemaker.models as sagemaker_models
from moto.sagemaker.models import sagemaker_backends

from local_runtime.state_dir.codec import StateFormatError, attributes, rebuild

# Collection attribute of moto's backend -> the status attribute of a job in it
_JOBS = {
    "training_jobs": "training_job_status",
    "processing_jobs": "processing_job_status",
    "transform_jobs": "transform_job_status",
}
_RECORDS = ("_models", "endpoint_configs", "model_package_groups", "model_packages", *_JOBS)
_RUNNING = frozenset({"InProgress", "Stopping"})
RESTART_FAILURE = "InternalServerError: the local runtime restarted while the job was running."
_SERVING = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack", "Creating", "UpdateRollbackFailed"})


def save() -> list[dict[str, Any]]:
    saved = []
    for account, regions in list(sagemaker_backends.items()):
        for region, backend in list(regions.items()):
            collections = {
                collection: [_record(key, record) for key, record in list(getattr(backend, collection).items())]
                for collection in (*_RECORDS, "endpoints")
            }
            if any(collections.values()):
                mapping = dict(backend.model_package_name_mapping)
                saved.append({"account": account, "region": region, **collections, "package_names": mapping})
    return saved


def restore(saved: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Put the saved records back; the (region, endpoint name) of each endpoint to start serving again."""
    to_serve = []
    for entry in saved:
        backend = sagemaker_backends[entry["account"]][entry["region"]]
        for collection in _RECORDS:
            records = getattr(backend, collection)
            for record in entry[collection]:
                restored = _rebuilt(record)
                status = _JOBS.get(collection)
                if status and getattr(restored, status, None) in _RUNNING:
                    _fail(restored, status)
                records[record["key"]] = restored
        backend.model_package_name_mapping.update(entry["package_names"])
        for record in entry["endpoints"]:
            endpoint = _rebuilt(record)
            backend.endpoints[record["key"]] = endpoint
            if endpoint.endpoint_status in _SERVING:
                endpoint.pending_deployment_summary = None
                to_serve.append((entry["region"], record["key"]))
    return to_serve


def _record(key: str, record: Any) -> dict[str, Any]:
    """The record, and the key the backend files it under (a name; a model package's ARN)."""
    return {"class": type(record).__name__, "key": key, "attributes": attributes(record)}


def _rebuilt(saved: dict[str, Any]) -> Any:
    cls = getattr(sagemaker_models, saved["class"], None)
    if not isinstance(cls, type):
        raise StateFormatError(f"moto.sagemaker has no record class {saved['class']!r}")
    return rebuild(cls, saved["attributes"])


def _fail(job: Any, status_attribute: str) -> None:
    setattr(job, status_attribute, "Failed")
    job.failure_reason = RESTART_FAILURE
    now = datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC dates
    for attribute in ("training_end_time", "processing_end_time", "transform_end_time", "last_modified_time"):
        if hasattr(job, attribute):
            setattr(job, attribute, now)
