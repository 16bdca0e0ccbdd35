"""How long `serve --state-dir` takes to save and restore a busy local AWS: 10,000 S3 objects, 100 model versions.

The objects (1 KiB CSV rows each, under daily prefixes of a versioned bucket) go in through moto's S3 backend, the
model versions, their models and the watermark's versions through boto3, as a pipeline would leave them. Timed: the
first save (every object's bytes written as a blob), a save with nothing new (the periodic save of an idle
runtime), and the restore into a fresh LocalAws. Target (issue 22): each under 5 s.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from moto.s3.models import s3_backends

from bench.report import machine_line, table, verdict
from local_runtime import state_dir
from local_runtime.server import LocalAws

TARGET_SECONDS = 5.0
OBJECTS, VERSIONS = 10_000, 100
REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET, GROUP = "bench-data", "bench"


def main() -> int:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="state-dir-bench-") as temporary:
        directory = Path(temporary)
        with LocalAws() as aws:
            _populate(aws)
            first = state_dir.save(aws, directory)
            idle = state_dir.save(aws, directory)
        with LocalAws() as fresh:
            restored = state_dir.restore(fresh, directory)
            assert restored is not None
            packages = _client(fresh, "sagemaker").list_model_packages(ModelPackageGroupName=GROUP, MaxResults=100)
            assert len(packages["ModelPackageSummaryList"]) == VERSIONS
        size = sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
    print(machine_line())
    print(f"{OBJECTS:,} S3 objects, {VERSIONS} model versions; state directory {size / 1e6:.1f} MB\n")
    rows = [
        ("first save", f"{first.seconds:.2f}", first.blobs_written, TARGET_SECONDS),
        ("save, nothing new", f"{idle.seconds:.2f}", idle.blobs_written, TARGET_SECONDS),
        ("restore", f"{restored.seconds:.2f}", "", TARGET_SECONDS),
    ]
    print(table(["", "seconds", "blobs written", "target s"], rows))
    worst = max(first.seconds, idle.seconds, restored.seconds)
    holds = worst < TARGET_SECONDS and restored.objects == OBJECTS
    print(f"\nsave and restore under {TARGET_SECONDS:.0f} s: {verdict(holds)}")
    return 0 if holds else 1


def _populate(aws: LocalAws) -> None:
    s3 = _client(aws, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    backend = s3_backends[ACCOUNT]["aws"]
    for index in range(OBJECTS):
        row = f"{index},{index * 0.5:.3f}," + "0.125," * 140 + "\n"
        backend.put_object(BUCKET, f"data/day-{index // 100:03d}/part-{index:05d}.csv", row.encode())
    sagemaker = _client(aws, "sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    ssm = _client(aws, "ssm")
    for version in range(VERSIONS):
        artifact = f"s3://{BUCKET}/models/{version}/model.tar.gz"
        container = {"Image": "linear-learner", "ModelDataUrl": artifact}
        sagemaker.create_model(ModelName=f"bench-{version}", PrimaryContainer=container, ExecutionRoleArn=_ROLE)
        sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="Approved" if version % 3 == 0 else "Rejected",
            CustomerMetadataProperties={"data_through": f"day-{version:03d}"},
            InferenceSpecification={
                "Containers": [container],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )
        ssm.put_parameter(Name="/bench/watermark", Value=f"day-{version:03d}", Type="String", Overwrite=True)


_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"


def _client(aws: LocalAws, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=aws.endpoint_url, region_name=REGION, aws_access_key_id="l", aws_secret_access_key="l"
    )


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"(the benchmark took {time.perf_counter() - started:.0f} s)")
    raise SystemExit(code)
