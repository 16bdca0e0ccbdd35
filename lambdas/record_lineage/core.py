"""RecordLineage: the run's chain from data files to endpoint, as a run record in S3 and as SageMaker Lineage.

The chain: data files -> manifest -> training job -> model artifact -> model package -> endpoint config ->
endpoint. The data files are not entities of their own: a window holds thousands of them and the manifest
already lists them, so the manifest is the one DataSet artifact and the run record points at it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.names import endpoint_context_name
from lambdas.common import env as names
from lambdas.common.cost import RunCost
from lambdas.common.errors import InvalidStepEventError
from lambdas.common.events import Execution, format_timestamp
from lambdas.common.models import (
    DeploymentState,
    EvaluationState,
    LineageState,
    RunState,
    TrainingJobState,
    WatermarkState,
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker.literals import AssociationEdgeTypeType

RUN_RECORD_SCHEMA = 1
# SageMaker's lineage Properties: string values of at most 1,024 characters.
_PROPERTY_MAX_LENGTH = 1024


@dataclass(frozen=True)
class LineageSettings:
    pipeline: str
    bucket: str
    runs_prefix: str
    endpoint_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LineageSettings:
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            bucket=names.require_str(env, names.DATA_BUCKET),
            runs_prefix=names.require_str(env, names.RUNS_PREFIX).strip("/"),
            endpoint_name=names.require_str(env, names.ENDPOINT_NAME),
        )


def run_record_key(runs_prefix: str, run_id: str) -> str:
    """Where a run's record lives: keyed by the run's resource name, so the endpoint config leads to it."""
    return f"{runs_prefix.strip('/')}/{run_id}.json"


def build_run_record(
    run: RunState,
    training: TrainingJobState,
    execution: Execution,
    *,
    deployment: DeploymentState | None,
    evaluation: EvaluationState | None,
    watermark: WatermarkState | None,
    settings: LineageSettings,
    now: datetime,
    cost: RunCost | None = None,
) -> dict[str, Any]:
    """The portable record of one run: what it trained on, what it produced and where that serves.

    `cost` is what the run's jobs so far cost (the batch transform runs after the record is written: its cost is
    in its own Slack message and `runs show`). The file list stays in the manifest (never copied: a window holds
    thousands of files). Raises
    InvalidStepEventError when the run wrote no manifest, or a deployed run's state has no deployment.
    """
    manifest_uri = run.manifest()
    job_name = training.job_name
    run_id = run.run_id or job_name
    # UpdateParameters says whether the run deployed or was rejected.
    outcome = watermark.outcome if watermark is not None else "deployed"
    return {
        "schema": RUN_RECORD_SCHEMA,
        "pipeline": settings.pipeline,
        "run_id": run_id,
        "execution": {"id": execution.id, "name": execution.name, "started_at": format_timestamp(execution.start_time)},
        "recorded_at": format_timestamp(now),
        "outcome": outcome,
        "window": {
            "start": run.window_start,
            "end": run.window_end,
            "days": run.window_days,
            "newest_data_date": run.newest_data_date,
        },
        "data": {"manifest_uri": manifest_uri, "file_count": run.file_count, "total_bytes": run.total_bytes},
        "training": {
            "job_name": job_name,
            "job_arn": sagemaker_arn(execution, "training-job", job_name),
            "model_artifact": training.model_artifact,
            "metrics": dict(training.metrics),
        },
        "model_package": _model_package(evaluation),
        "evaluation": _evaluation(evaluation),
        "deployment": _deployment(deployment, execution, settings.endpoint_name, now)
        if outcome == "deployed"
        else None,
        "cost": cost.to_json() if cost is not None else None,
    }


def write_run_record(s3: S3Client, bucket: str, key: str, record: Mapping[str, Any]) -> str:
    """Write the record (a retried attempt writes the same run's record again); return its S3 URI."""
    body = json.dumps(record, indent=2, sort_keys=True).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return f"s3://{bucket}/{key}"


def record_lineage_entities(record: Mapping[str, Any], *, run_record: str, sagemaker: SageMakerClient) -> LineageState:
    """Create the run's artifacts, actions, endpoint context and their associations; safe to retry.

    Returns the state's `lineage`: `run_record` (where the record was written) and the entities' ARNs, None where
    the run has no such step.

    Each entity is found by its source URI before one is created (SageMaker creates some by itself, and a
    retried attempt finds its first attempt's), and an association that already exists counts as made.
    """
    run_id, data, training = record["run_id"], record["data"], record["training"]
    properties = {"pipeline": record["pipeline"], "run_id": run_id, "execution": record["execution"]["name"]}
    lineage = _Lineage(sagemaker)
    dataset = lineage.artifact(
        f"{run_id}-manifest",
        data["manifest_uri"],
        "DataSet",
        {
            **properties,
            "file_count": data.get("file_count"),
            "window_start": record["window"]["start"],
            "window_end": record["window"]["end"],
        },
    )
    job = lineage.action(f"{run_id}-training", training["job_arn"], "ModelTraining", properties)
    lineage.associate(dataset, job, "ContributedTo")
    if not training.get("model_artifact"):
        raise InvalidStepEventError(f"training job {training['job_name']} reported no model artifact")
    model = lineage.artifact(
        f"{run_id}-model", training["model_artifact"], "Model", {**properties, **_metric_properties(training)}
    )
    lineage.associate(job, model, "Produced")
    upstream = model
    package = record.get("model_package")
    package_arn = None
    if package:
        package_arn = lineage.artifact(
            f"{run_id}-package",
            package["arn"],
            "ModelPackage",
            {**properties, "version": package.get("version"), "approval_status": package.get("approval_status")},
        )
        lineage.associate(model, package_arn, "ContributedTo")
        upstream = package_arn
    deployment = record.get("deployment")
    deployment_arn = endpoint_arn = None
    if deployment:
        deployment_arn = lineage.action(
            f"{run_id}-deployment",
            deployment["endpoint_config_arn"],
            "ModelDeployment",
            {**properties, "endpoint_config": deployment["endpoint_config_name"], "model": deployment["model_name"]},
        )
        lineage.associate(upstream, deployment_arn, "ContributedTo")
        endpoint_arn = lineage.context(
            endpoint_context_name(deployment["endpoint_name"]),
            deployment["endpoint_arn"],
            "Endpoint",
            {"pipeline": record["pipeline"], "endpoint": deployment["endpoint_name"]},
        )
        lineage.associate(deployment_arn, endpoint_arn, "AssociatedWith")
    return LineageState(
        run_record=run_record,
        dataset=dataset,
        training=job,
        model=model,
        model_package=package_arn,
        deployment=deployment_arn,
        endpoint=endpoint_arn,
        associations=lineage.associations,
    )


def sagemaker_arn(execution: Execution, resource: str, name: str) -> str:
    """The ARN of a SageMaker resource in the execution's partition, region and account (names lowercased)."""
    # arn:<partition>:states:<region>:<account>:execution:<machine>:<name>
    parts = execution.id.split(":")
    if len(parts) < 5 or not parts[3] or not parts[4]:
        raise InvalidStepEventError(f"event field 'execution.id' is not an execution ARN: {execution.id!r}")
    return f"arn:{parts[1]}:sagemaker:{parts[3]}:{parts[4]}:{resource}/{name.lower()}"


class _Lineage:
    """Find-or-create over SageMaker's lineage APIs, counting the associations made."""

    def __init__(self, sagemaker: SageMakerClient) -> None:
        self._sagemaker = sagemaker
        self.associations = 0

    def artifact(self, name: str, source_uri: str, artifact_type: str, properties: Mapping[str, Any]) -> str:
        # Artifact names are not unique: only the listing by source URI finds an earlier attempt's.
        return self._entity("Artifact", name, source_uri, artifact_type, properties, unique_name=False)

    def action(self, name: str, source_uri: str, action_type: str, properties: Mapping[str, Any]) -> str:
        return self._entity("Action", name, source_uri, action_type, properties, Status="Completed")

    def context(self, name: str, source_uri: str, context_type: str, properties: Mapping[str, Any]) -> str:
        return self._entity("Context", name, source_uri, context_type, properties)

    def associate(self, source: str, destination: str, association_type: AssociationEdgeTypeType) -> None:
        try:
            self._sagemaker.add_association(
                SourceArn=source, DestinationArn=destination, AssociationType=association_type
            )
        except ClientError as error:
            if not _already_exists(error):
                raise
        self.associations += 1

    def _entity(
        self,
        kind: str,
        name: str,
        source_uri: str,
        entity_type: str,
        properties: Mapping[str, Any],
        *,
        unique_name: bool = True,
        **extra: str,
    ) -> str:
        """The ARN of the `kind` (Artifact, Action, Context) of this source and type, created if none exists."""
        api = kind.lower()
        listed = getattr(self._sagemaker, f"list_{api}s")(SourceUri=source_uri, **{f"{kind}Type": entity_type})
        found = listed.get(f"{kind}Summaries", [])
        if found:
            return str(found[0][f"{kind}Arn"])
        try:
            created = getattr(self._sagemaker, f"create_{api}")(
                **{f"{kind}Name": name, f"{kind}Type": entity_type},
                Source={"SourceUri": source_uri},
                Properties=_properties(properties),
                **extra,
            )
            return str(created[f"{kind}Arn"])
        except ClientError as error:
            # Names are unique: an attempt that created it and failed later finds it under the same name.
            if not (unique_name and _already_exists(error)):
                raise
        return str(getattr(self._sagemaker, f"describe_{api}")(**{f"{kind}Name": name})[f"{kind}Arn"])


def _already_exists(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    return code == "ResourceInUse" or (code == "ValidationException" and "already exist" in message.lower())


def _properties(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v)[:_PROPERTY_MAX_LENGTH] for k, v in values.items() if v is not None}


def _metric_properties(training: Mapping[str, Any]) -> dict[str, Any]:
    # Lineage allows 30 properties per entity: a few metrics at most, prefixed to keep their names apart.
    metrics = training.get("metrics") or {}
    return {f"metric:{name}": value for name, value in sorted(metrics.items())[:20]}


def _evaluation(evaluation: EvaluationState | None) -> dict[str, Any] | None:
    """The gate's reading: the new model's value and production's, on the same held-out records when the run scored
    both (`holdout`, `report`); None without a gate."""
    if evaluation is None or not evaluation.metric:
        return None
    return {
        "metric": evaluation.metric,
        "direction": evaluation.direction,
        "holdout": list(evaluation.holdout),
        "candidate": evaluation.value,
        "production": evaluation.production_value,
        "production_model": evaluation.production_model,
        "report": evaluation.report,
    }


def _model_package(evaluation: EvaluationState | None) -> dict[str, Any] | None:
    if evaluation is None or not evaluation.model_package_arn:
        return None
    return {
        "arn": evaluation.model_package_arn,
        "group": evaluation.model_package_group,
        "version": evaluation.model_package_version,
        "approval_status": evaluation.approval_status,
    }


def _deployment(
    deployment: DeploymentState | None, execution: Execution, endpoint_name: str, now: datetime
) -> dict[str, Any]:
    if deployment is None:
        raise InvalidStepEventError("state field 'deployment' is missing: a deployed run needs its endpoint config")
    config = deployment.endpoint_config_name
    endpoint = deployment.endpoint_name or endpoint_name
    return {
        "endpoint_name": endpoint,
        "endpoint_arn": sagemaker_arn(execution, "endpoint", endpoint),
        "endpoint_config_name": config,
        "endpoint_config_arn": sagemaker_arn(execution, "endpoint-config", config),
        "model_name": deployment.model_name or config,
        "started_at": deployment.started_at,
        # RecordLineage runs right after UpdateParameters confirmed the endpoint serves this config.
        "deployed_at": format_timestamp(now),
    }
