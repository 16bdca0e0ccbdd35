"""Lineage questions answered from the run records RecordLineage writes (lambdas/record_lineage).

Pure functions over boto3 clients, so they work the same against AWS and the local runtime:
which data files trained the model an endpoint serves now, which endpoints serve or served a model trained
on a file, and an endpoint's deployment history.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.outputs import DATA_BUCKET_NAME, ENDPOINT_NAME, RUNS_PREFIX
from lambdas.record_lineage.core import run_record_key
from operator_cli.not_found import is_not_found

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient


_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


class LineageError(Exception):
    """The question has no answer from what is recorded; the message says what is missing."""


class LineageNotFoundError(LineageError):
    """The endpoint or file asked about does not exist, and no record names it. The message ends with "does not
    exist", for the command to add where it looked (" in AWS (eu-west-1)")."""


@dataclass(frozen=True)
class PipelineLocation:
    """Where a deployed pipeline keeps its run records, and the endpoint it deploys to."""

    pipeline: str
    bucket: str
    runs_prefix: str
    endpoint_name: str

    @classmethod
    def from_outputs(cls, pipeline: str, outputs: Mapping[str, str]) -> PipelineLocation:
        """Read the stack's outputs; raise LineageError when the bucket is not among them."""
        bucket = outputs.get(DATA_BUCKET_NAME)
        if not bucket:
            raise LineageError(f"the stack of pipeline {pipeline} has no {DATA_BUCKET_NAME} output")
        return cls(
            pipeline=pipeline,
            bucket=bucket,
            # Stacks deployed before run records existed have no RunsPrefix output: the config's default.
            runs_prefix=outputs.get(RUNS_PREFIX) or f"runs/{pipeline}",
            endpoint_name=outputs.get(ENDPOINT_NAME) or pipeline,
        )


@dataclass(frozen=True)
class ServingFiles:
    """The files behind the model an endpoint serves now, and the run that trained it."""

    endpoint_name: str
    endpoint_config_name: str
    record: dict[str, Any]
    files: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint_name,
            "endpoint_config": self.endpoint_config_name,
            "run_id": self.record["run_id"],
            "execution": self.record["execution"]["name"],
            "model": (self.record.get("deployment") or {}).get("model_name"),
            "training_job": self.record["training"]["job_name"],
            "window": self.record["window"],
            "manifest_uri": self.record["data"]["manifest_uri"],
            "file_count": len(self.files),
            "files": self.files,
        }


@dataclass(frozen=True)
class TrainedOn:
    """A deployment of a model whose training data held the file asked about."""

    record: dict[str, Any]
    serving_now: bool

    def to_json(self) -> dict[str, Any]:
        deployment = self.record["deployment"]
        return {
            "endpoint": deployment["endpoint_name"],
            "serving_now": self.serving_now,
            "model": deployment["model_name"],
            "endpoint_config": deployment["endpoint_config_name"],
            "deployed_at": deployment.get("deployed_at"),
            "run_id": self.record["run_id"],
            "execution": self.record["execution"]["name"],
            "window": self.record["window"],
        }


@dataclass
class RunRecords:
    """The pipeline's run records and manifests, each read at most once per question."""

    s3: S3Client
    location: PipelineLocation
    _manifests: dict[str, list[str]] = field(default_factory=dict)

    def all(self) -> list[dict[str, Any]]:
        """Every run record, oldest first (keys are run names, which start with the run's start time)."""
        return [self._read(key) for key in self._keys()]

    def for_endpoint_config(self, config_name: str) -> dict[str, Any] | None:
        """The record of the run whose endpoint config this is: its own key first, then a search."""
        try:
            record = self._read(run_record_key(self.location.runs_prefix, config_name))
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
        else:
            if (record.get("deployment") or {}).get("endpoint_config_name") == config_name:
                return record
        return next(
            (r for r in reversed(self.all()) if (r.get("deployment") or {}).get("endpoint_config_name") == config_name),
            None,
        )

    def files(self, manifest_uri: str) -> list[str]:
        """The S3 URIs a manifest lists (S3 ManifestFile format: a prefix object, then keys relative to it)."""
        if manifest_uri not in self._manifests:
            bucket, key = split_s3_uri(manifest_uri)
            entries = json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            prefix = next((e["prefix"] for e in entries if isinstance(e, dict) and "prefix" in e), "")
            self._manifests[manifest_uri] = [f"{prefix}{e}" for e in entries if isinstance(e, str)]
        return self._manifests[manifest_uri]

    def _keys(self) -> Iterator[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=f"{self.location.runs_prefix}/"
        )
        for page in pages:
            yield from sorted(o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json"))

    def _read(self, key: str) -> dict[str, Any]:
        record: dict[str, Any] = json.loads(self.s3.get_object(Bucket=self.location.bucket, Key=key)["Body"].read())
        return record


def files_behind_endpoint(sagemaker: SageMakerClient, records: RunRecords, endpoint_name: str) -> ServingFiles:
    """The data files that trained the model the endpoint serves now.

    Raises LineageError when the endpoint does not exist or no run record names its current config.
    """
    config_name = current_endpoint_config(sagemaker, endpoint_name)
    if config_name is None:
        raise LineageNotFoundError(f"endpoint {endpoint_name} does not exist")
    record = records.for_endpoint_config(config_name)
    if record is None:
        raise LineageError(
            f"endpoint {endpoint_name} serves config {config_name}, which no run record of pipeline "
            f"{records.location.pipeline} names (s3://{records.location.bucket}/{records.location.runs_prefix}/): "
            "it was deployed by hand or before run records existed"
        )
    return ServingFiles(endpoint_name, config_name, record, records.files(record["data"]["manifest_uri"]))


def endpoints_trained_on(sagemaker: SageMakerClient, records: RunRecords, data_file: str) -> list[TrainedOn]:
    """Every deployment of a model trained on the file, newest first, saying which still serve.

    A record whose window cannot hold the file's date (when its name has one) is skipped unread. Raises
    LineageNotFoundError when none was, and the file does not exist either (a mistyped name, not an unused file).
    """
    uri = data_file if data_file.startswith("s3://") else f"s3://{records.location.bucket}/{data_file.lstrip('/')}"
    # Both layouts date a file in its last two path segments: <prefix>/YYYY-MM-DD.csv, <prefix>/dt=YYYY-MM-DD/x.csv
    day = _DATE.search("/".join(uri.split("/")[-2:]))
    found: list[TrainedOn] = []
    serving: dict[str, str | None] = {}
    for record in deployed(records.all()):
        window = record.get("window") or {}
        if day and window.get("start") and window.get("end") and not window["start"] <= day[1] <= window["end"]:
            continue
        if uri not in records.files(record["data"]["manifest_uri"]):
            continue
        endpoint = record["deployment"]["endpoint_name"]
        if endpoint not in serving:
            serving[endpoint] = current_endpoint_config(sagemaker, endpoint)
        found.append(TrainedOn(record, serving[endpoint] == record["deployment"]["endpoint_config_name"]))
    if not found and not _object_exists(records.s3, uri):
        raise LineageNotFoundError(f"data file {uri}: no deployed model was trained on it, and it does not exist")
    return found


def deployment_history(records: RunRecords, endpoint_name: str) -> list[dict[str, Any]]:
    """The runs deployed to the endpoint, newest first."""
    return [r for r in deployed(records.all()) if r["deployment"]["endpoint_name"] == endpoint_name]


def endpoint_history(sagemaker: SageMakerClient, records: RunRecords, endpoint_name: str) -> list[dict[str, Any]]:
    """The endpoint's deployments, newest first (a deleted endpoint's too); LineageNotFoundError when the endpoint
    does not exist and no record names it."""
    history = deployment_history(records, endpoint_name)
    if not history and current_endpoint_config(sagemaker, endpoint_name) is None:
        raise LineageNotFoundError(
            f"endpoint {endpoint_name}: no run record of pipeline {records.location.pipeline} names it, and it "
            "does not exist"
        )
    return history


def deployed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of deployed runs, newest deployment first."""
    chosen = [r for r in records if r.get("outcome") == "deployed" and r.get("deployment")]
    return sorted(chosen, key=lambda r: (r["deployment"].get("deployed_at") or "", r["run_id"]), reverse=True)


def current_endpoint_config(sagemaker: SageMakerClient, endpoint_name: str) -> str | None:
    """The config an endpoint serves now, or None when there is no such endpoint."""
    try:
        return str(sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"])
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationException" and "not find" in str(error).lower():
            return None
        raise


def _object_exists(s3: S3Client, uri: str) -> bool:
    bucket, key = split_s3_uri(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise LineageError(f"not an S3 object URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


# Terminal output


def render_files(answer: ServingFiles) -> str:
    data = answer.to_json()
    window = data["window"]
    lines = [
        f"Endpoint {data['endpoint']} serves model {data['model']} (endpoint config {data['endpoint_config']}),",
        f"trained by {data['training_job']} in run {data['execution']} on {data['file_count']} file(s) "
        f"from {window.get('start')} to {window.get('end')}.",
        f"Manifest: {data['manifest_uri']}",
        "",
        *(f"  {uri}" for uri in answer.files),
    ]
    return "\n".join(lines)


def render_trained_on(data_file: str, answers: list[TrainedOn]) -> str:
    if not answers:
        return f"No deployed model was trained on {data_file}."
    lines = [f"Models trained on {data_file}:", ""]
    for answer in answers:
        data = answer.to_json()
        state = "serves now" if answer.serving_now else "served"
        lines.append(
            f"  {data['endpoint']:<24} {state:<11} model {data['model']}  deployed {data['deployed_at']}  "
            f"window {data['window'].get('start')}..{data['window'].get('end')}"
        )
    return "\n".join(lines)


def render_history(endpoint_name: str, history: list[dict[str, Any]]) -> str:
    if not history:
        return f"No recorded deployment to endpoint {endpoint_name}."
    lines = [f"Deployments to endpoint {endpoint_name}, newest first:", ""]
    for record in history:
        deployment, window = record["deployment"], record["window"]
        metrics = ", ".join(f"{k}={v:g}" for k, v in sorted(record["training"].get("metrics", {}).items()))
        lines.append(
            f"  {deployment.get('deployed_at')}  model {deployment['model_name']}  "
            f"window {window.get('start')}..{window.get('end')} ({record['data'].get('file_count')} files)"
            + (f"  {metrics}" if metrics else "")
        )
    return "\n".join(lines)


def history_to_json(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "deployed_at": r["deployment"].get("deployed_at"),
            "model": r["deployment"]["model_name"],
            "endpoint_config": r["deployment"]["endpoint_config_name"],
            "run_id": r["run_id"],
            "execution": r["execution"]["name"],
            "window": r["window"],
            "file_count": r["data"].get("file_count"),
            "manifest_uri": r["data"]["manifest_uri"],
            "metrics": r["training"].get("metrics", {}),
            "model_package": r.get("model_package"),
        }
        for r in history
    ]
