"""`serve --state-dir`: the local AWS's state kept across restarts, in explicit, versioned JSON and files.

save(aws, directory) writes what the local AWS holds; restore(aws, directory), on a started LocalAws before anything
is deployed, puts it back, so that deploying the same stacks then behaves like `cdk deploy` of an unchanged stack:
data, parameters, the model registry and endpoints stay. What is kept, per service:
- S3 (state_dir.s3): buckets and every object version, with metadata, tags and encryption;
- SSM parameters with their versions, Secrets Manager secrets with theirs (state_dir.parameters);
- SageMaker models, endpoint configs, endpoints (serving again from their models), model package groups and versions,
  training, processing and transform jobs (state_dir.sagemaker); lineage entities and associations;
- Step Functions state machines and executions with their histories; one still running ends ABORTED
  (state_dir.executions says why).
Not kept: IAM, KMS, EventBridge rules, alarms and their metrics, schedules, Lambda functions (a deployment
creates them again), CloudWatch metrics and the Slack server's messages.

moto has no persistence: each service's records are read from and written to moto's backends, its records of plain
data as their attributes (state_dir.codec), the rest field by field. The manifest names moto's version: another
version may name attributes differently, and restore says so when it fails.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.sagemaker.lineage import lineage_snapshot, load_lineage
from local_runtime.state_dir import executions, parameters, s3, sagemaker
from local_runtime.state_dir.codec import StateFormatError
from local_runtime.state_dir.store import BlobReader, BlobWriter, read_manifest, write_manifest

if TYPE_CHECKING:
    from local_runtime.server import LocalAws

__all__ = ["RestoreReport", "SaveReport", "StateFormatError", "restore", "save", "start_serving"]

_SAVE_ATTEMPTS = 3
_saving = threading.Lock()  # one save at a time: the periodic one and the one at stop may meet


@dataclass(frozen=True)
class SaveReport:
    objects: int
    blobs_written: int
    blobs_removed: int
    seconds: float


@dataclass(frozen=True)
class RestoreReport:
    saved_at: str
    objects: int
    parameters: int
    secrets: int
    endpoints: tuple[tuple[str, str], ...]  # (region, name) of each endpoint to serve again
    executions: int
    lineage_entities: int
    seconds: float

    def summary(self) -> str:
        return (
            f"state of {self.saved_at}: {self.objects} S3 object versions, {self.parameters} parameters, "
            f"{self.secrets} secrets, {len(self.endpoints)} endpoints to serve again, {self.executions} executions, "
            f"{self.lineage_entities} lineage entities ({self.seconds:.1f} s)"
        )


def save(aws: LocalAws, directory: Path) -> SaveReport:
    """Write the local AWS's state to `directory` (created if missing); the previous state stays whole until the
    new one is complete (state_dir.store)."""
    started = time.perf_counter()
    with _saving:
        directory.mkdir(parents=True, exist_ok=True)
        blobs = BlobWriter(directory)
        services = _collect(aws, blobs)
        write_manifest(
            directory,
            {"moto": version("moto"), "saved_at": datetime.now(UTC).isoformat(), "services": services},
        )
        removed = blobs.remove_unused()
    objects = sum(len(v) for bucket in services["s3"] for v in bucket["objects"].values())
    return SaveReport(objects, blobs.written, removed, time.perf_counter() - started)


def restore(aws: LocalAws, directory: Path, *, start_endpoints: bool = True) -> RestoreReport | None:
    """Put the state saved in `directory` back into a started, empty LocalAws; None when nothing was saved there.

    Endpoints start serving again in the background (Creating, then InService), as after CreateEndpoint; with
    `start_endpoints` False, only once start_serving is called: after the stacks are deployed again, when their
    models' execution roles and the KMS keys of their artifacts' buckets exist again (neither is kept).
    """
    manifest = read_manifest(directory)
    if manifest is None:
        return None
    started = time.perf_counter()
    services = manifest["services"]
    try:
        objects = s3.restore(services["s3"], BlobReader(directory))
        parameter_count = parameters.restore_parameters(services["ssm"])
        secret_count = parameters.restore_secrets(services["secretsmanager"])
        to_serve = sagemaker.restore(services["sagemaker"])
        lineage = load_lineage(aws.lineage, services["lineage"])
        execution_count = executions.restore(services["stepfunctions"])
    except (KeyError, TypeError, ValueError) as error:
        raise StateFormatError(
            f"{directory}: the saved state (moto {manifest.get('moto')}, this is moto {version('moto')}) "
            f"cannot be restored: {type(error).__name__}: {error}"
        ) from error
    report = RestoreReport(
        saved_at=str(manifest.get("saved_at")),
        objects=objects,
        parameters=parameter_count,
        secrets=secret_count,
        endpoints=tuple(to_serve),
        executions=execution_count,
        lineage_entities=lineage,
        seconds=time.perf_counter() - started,
    )
    if start_endpoints:
        start_serving(aws, report)
    return report


def start_serving(aws: LocalAws, report: RestoreReport) -> None:
    """Start the workers of the endpoints that were serving at the save: Creating, then InService (or Failed)."""
    if isinstance(aws.sagemaker, LocalSageMaker):  # without it, moto's endpoints are InService as they were
        for region, endpoint_name in report.endpoints:
            aws.sagemaker.hosting.on_endpoint_created(region, endpoint_name)


def _collect(aws: LocalAws, blobs: BlobWriter) -> dict[str, Any]:
    """Every service's records; read again when a request changed a backend's dict while it was read."""
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            return {
                "s3": s3.save(blobs),
                "ssm": parameters.save_parameters(),
                "secretsmanager": parameters.save_secrets(),
                "sagemaker": sagemaker.save(),
                "lineage": lineage_snapshot(aws.lineage),
                "stepfunctions": executions.save(),
            }
        except RuntimeError:  # "dictionary changed size during iteration"
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
            blobs.used.clear()
    raise AssertionError("unreachable")
