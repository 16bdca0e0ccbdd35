"""EvaluateModel: judge the trained model against the quality gate and register it as a model version.

Every trained model becomes a version in the pipeline's model package group, whatever the verdict: the
registry is the record of what was trained, on which data, with which metrics, and what was decided.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from contract.events import APPROVED, PENDING, REJECTED
from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError, InvalidStepEventError, MetricMissingError
from lambdas.common.evaluation import EvaluationSettings
from lambdas.common.events import Execution
from lambdas.common.inference import ServingPreprocessing, model_environment, serving_containers
from lambdas.common.models import (
    EvaluationState,
    HoldoutEvaluationState,
    PreprocessingState,
    RunState,
    TrainingJobState,
)
from lambdas.common.sagemaker import production_model
from lambdas.evaluate_model.holdout import STATISTICS_CONTENT_TYPE, HoldoutScores

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker.literals import ModelApprovalStatusType
    from types_boto3_sagemaker.type_defs import InferenceSpecificationTypeDef, ModelPackageContainerDefinitionTypeDef

__all__ = ["APPROVED", "PENDING", "REJECTED", "EvaluateSettings", "QualityGate", "evaluate_model", "judge"]
MINIMIZE, MAXIMIZE = "minimize", "maximize"
# What the built-in algorithms' serving containers take and answer.
CONTENT_TYPES = ["text/csv"]
RESPONSE_TYPES = ["application/json"]
# CustomerMetadataProperties: at most 50 entries; keys 128 and values 256 characters of a restricted set.
_METADATA_ENTRIES = 50
_METADATA_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]")
_DESCRIPTION_LIMIT = 1024
# A retried attempt finds its own version among the group's newest: runs of a pipeline never overlap.
_NEWEST_VERSIONS_CHECKED = 5


@dataclass(frozen=True)
class QualityGate:
    metric: str
    direction: str
    threshold: float | None
    max_regression_percent: float | None

    @classmethod
    def from_json(cls, raw: str, *, variable: str) -> QualityGate:
        try:
            value = json.loads(raw)
            gate = cls(
                metric=str(value["metric"]),
                direction=str(value["direction"]),
                threshold=_optional_float(value.get("threshold")),
                max_regression_percent=_optional_float(value.get("max_regression_percent")),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ConfigurationError(f"environment variable {variable} is not a quality gate: {error}") from None
        if gate.direction not in (MINIMIZE, MAXIMIZE):
            raise ConfigurationError(f"environment variable {variable}: direction must be minimize or maximize")
        return gate


@dataclass(frozen=True)
class EvaluateSettings:
    pipeline: str
    endpoint_name: str
    model_package_group: str
    inference_image: str
    manual_approval: bool
    approval_timeout_seconds: int
    gate: QualityGate | None
    preprocessing: ServingPreprocessing | None = None  # None: the model is served alone
    environment: Mapping[str, str] = field(default_factory=dict)  # the algorithm's container's
    evaluation: EvaluationSettings | None = None  # None: no held-out evaluation scores the models

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EvaluateSettings:
        mode = names.require_str(env, names.APPROVAL_MODE)
        if mode not in ("automatic", "manual"):
            raise ConfigurationError(f"environment variable {names.APPROVAL_MODE} must be automatic or manual")
        raw_gate = names.optional_str(env, names.QUALITY_GATE)
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            endpoint_name=names.require_str(env, names.ENDPOINT_NAME),
            model_package_group=names.require_str(env, names.MODEL_PACKAGE_GROUP),
            inference_image=names.require_str(env, names.INFERENCE_IMAGE),
            manual_approval=mode == "manual",
            approval_timeout_seconds=names.require_int(env, names.APPROVAL_TIMEOUT_SECONDS),
            gate=QualityGate.from_json(raw_gate, variable=names.QUALITY_GATE) if raw_gate else None,
            preprocessing=ServingPreprocessing.from_env(env),
            environment=model_environment(env),
            evaluation=EvaluationSettings.from_env(env),
        )


@dataclass(frozen=True)
class Verdict:
    """The gate's judgement; `reasons` say why a model was rejected, `notes` what could not be compared."""

    passed: bool
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def judge(gate: QualityGate, value: float, production_value: float | None) -> Verdict:
    """Apply the absolute threshold and the regression rule; pure, so every edge is tested directly."""
    reasons: list[str] = []
    notes: list[str] = []
    lower_is_better = gate.direction == MINIMIZE
    if not math.isfinite(value):
        return Verdict(False, (f"{gate.metric} is {value}, not a finite number",))
    if gate.threshold is not None:
        if lower_is_better and value > gate.threshold:
            reasons.append(f"{gate.metric} {value:.6g} is above the threshold {gate.threshold:.6g}")
        if not lower_is_better and value < gate.threshold:
            reasons.append(f"{gate.metric} {value:.6g} is below the threshold {gate.threshold:.6g}")
    if gate.max_regression_percent is not None:
        if production_value is None or not math.isfinite(production_value):
            notes.append("no production model to compare with: the regression rule does not apply")
        else:
            # Relative to the size of the production value, so the rule reads the same for negative metrics.
            allowance = abs(production_value) * gate.max_regression_percent / 100
            worse_by = value - production_value if lower_is_better else production_value - value
            if worse_by > allowance:
                percent = 100 * worse_by / abs(production_value) if production_value else math.inf
                reasons.append(
                    f"{gate.metric} {value:.6g} is {percent:.1f}% worse than production's "
                    f"{production_value:.6g} (at most {gate.max_regression_percent:g}% allowed)"
                )
    return Verdict(not reasons, tuple(reasons), tuple(notes))


def evaluate_model(
    run: RunState,
    training: TrainingJobState,
    execution: Execution,
    *,
    sagemaker: SageMakerClient,
    settings: EvaluateSettings,
    preprocessing: PreprocessingState | None = None,
    scores: HoldoutScores | None = None,
    holdout: HoldoutEvaluationState | None = None,
) -> EvaluationState:
    """Judge the run's model and register it: Approved, PendingManualApproval, or Rejected by the gate.

    With the held-out evaluation (`scores`, from the transform jobs `holdout` describes), a gate on one of its
    metrics compares the new and the production model on the same records; a gate on a training job's metric
    reads that job's. Raises MetricMissingError when the gate's metric is in neither (a configuration mistake:
    judging without it would let any model through). Safe to retry: an attempt that finds this run's version
    already registered returns it.
    """
    artifact = training.model_artifact
    if not artifact:
        raise InvalidStepEventError(f"training job {training.job_name} reported no model artifact")
    job_name = training.job_name
    metrics = {str(k): float(v) for k, v in training.metrics.items()}
    gate = settings.gate
    reading = GateReading(verdict=Verdict(True, notes=("no quality gate configured",)))
    if gate is not None:
        reading = read_gate(
            gate, job_name, metrics, sagemaker=sagemaker, settings=settings, scores=scores, holdout=holdout
        )
    verdict = reading.verdict
    status: ModelApprovalStatusType = (
        REJECTED if not verdict.passed else PENDING if settings.manual_approval else APPROVED
    )
    ensure_group(sagemaker, settings.model_package_group, settings.pipeline)
    existing = find_version(sagemaker, settings.model_package_group, job_name)
    described: Mapping[str, Any]
    if existing is None:
        # The same containers DeployModel serves: with preprocessing, the whole inference pipeline. Their fields
        # (ContainerHostname, Image, ModelDataUrl, Environment) mean the same in a model package's containers.
        containers = serving_containers(
            preprocessing, artifact, settings.inference_image, settings.preprocessing, settings.environment
        )
        specification: InferenceSpecificationTypeDef = {
            "Containers": cast("list[ModelPackageContainerDefinitionTypeDef]", containers),
            "SupportedContentTypes": CONTENT_TYPES,
            "SupportedResponseMIMETypes": RESPONSE_TYPES,
        }
        extra = _model_metrics(scores)
        held_out = {f"holdout:{name}": value for name, value in (scores.candidate if scores else {}).items()}
        arn = sagemaker.create_model_package(
            ModelPackageGroupName=settings.model_package_group,
            ModelPackageDescription=_description(execution, run, verdict),
            InferenceSpecification=specification,
            ModelApprovalStatus=status,
            CustomerMetadataProperties=version_metadata(
                settings.pipeline, execution, run, job_name, {**held_out, **metrics}
            ),
            **extra,
        )["ModelPackageArn"]
        described = sagemaker.describe_model_package(ModelPackageName=arn)
    else:
        described = existing
        status = existing["ModelApprovalStatus"]
    return EvaluationState(
        metric=gate.metric if gate else None,
        direction=gate.direction if gate else None,
        value=reading.value,
        production_value=reading.production_value,
        production_model=reading.production,
        passed=verdict.passed,
        reasons=list(verdict.reasons),
        notes=list(verdict.notes),
        model_package_group=settings.model_package_group,
        model_package_arn=str(described["ModelPackageArn"]),
        model_package_version=int(described.get("ModelPackageVersion") or _version_from_arn(described)),
        approval_status=status,
        approval_timeout_seconds=settings.approval_timeout_seconds,
        **_held_out(scores, holdout),
    )


def _model_metrics(scores: HoldoutScores | None) -> dict[str, Any]:
    """CreateModelPackage's ModelMetrics: Studio's model quality view reads the statistics in Model Monitor's format."""
    if scores is None:
        return {}
    statistics = {"ContentType": STATISTICS_CONTENT_TYPE, "S3Uri": scores.candidate_statistics_uri}
    return {"ModelMetrics": {"ModelQuality": {"Statistics": statistics}}}


def _held_out(scores: HoldoutScores | None, holdout: HoldoutEvaluationState | None) -> dict[str, Any]:
    """EvaluationState's fields of the held-out evaluation: none when it did not run."""
    if scores is None or holdout is None:
        return {}
    return {
        "holdout_manifest": holdout.holdout_uri,
        "holdout": scores.files,
        "holdout_records": scores.records,
        "candidate_metrics": dict(scores.candidate),
        "production_metrics": dict(scores.production) if scores.production is not None else None,
        "report": scores.report_uri,
    }


@dataclass(frozen=True)
class GateReading:
    """The gate's metric for the new model and production's, which model that is, and the verdict."""

    verdict: Verdict
    value: float | None = None
    production_value: float | None = None
    production: str | None = None


def read_gate(
    gate: QualityGate,
    job_name: str,
    metrics: Mapping[str, float],
    *,
    sagemaker: SageMakerClient,
    settings: EvaluateSettings,
    scores: HoldoutScores | None,
    holdout: HoldoutEvaluationState | None,
) -> GateReading:
    """Read the gate's metric where it was reported and judge: from the held-out evaluation (both models on the same
    records) or from the training jobs (each on its own data). MetricMissingError when neither reported it."""
    if scores is not None and gate.metric in scores.candidate:
        value = scores.candidate[gate.metric]
        production = holdout.production_model if holdout is not None else None
        production_value = scores.production.get(gate.metric) if scores.production is not None else None
        return GateReading(judge(gate, value, production_value), value, production_value, production)
    if gate.metric not in metrics:
        reported = ", ".join(sorted(metrics)) or "none"
        evaluated = ", ".join(sorted(scores.candidate)) if scores is not None else "none (no held-out evaluation)"
        raise MetricMissingError(
            f"neither training job {job_name} nor the held-out evaluation reported the quality gate's metric "
            f"{gate.metric!r} (the job reported: {reported}; the evaluation: {evaluated}); fix "
            "quality_gate.metric or the algorithm's metric definitions"
        )
    value = metrics[gate.metric]
    production = production_model(sagemaker, settings.endpoint_name)
    production_value = None
    if production is not None and production != job_name:
        production_value = model_metric(sagemaker, production, gate.metric)
    return GateReading(judge(gate, value, production_value), value, production_value, production)


def ensure_group(sagemaker: SageMakerClient, group: str, pipeline: str) -> None:
    """Create the pipeline's model package group with its first version; it outlives the stack."""
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
        return
    except ClientError as error:
        if not _not_found(error):
            raise
    try:
        sagemaker.create_model_package_group(
            ModelPackageGroupName=group,
            ModelPackageGroupDescription=f"Models trained by the retraining pipeline {pipeline}",
        )
    except ClientError as error:
        # Another attempt of this run created it meanwhile.
        if "already exist" not in error.response["Error"].get("Message", "").lower():
            raise


def model_metric(sagemaker: SageMakerClient, model_name: str, metric: str) -> float | None:
    """The metric of the training job that produced a model (a run names both alike); None if unknown."""
    try:
        job = sagemaker.describe_training_job(TrainingJobName=model_name)
    except ClientError as error:
        if _not_found(error):
            return None
        raise
    for item in job.get("FinalMetricDataList") or []:
        if item.get("MetricName") == metric:
            return float(item["Value"])
    return None


def find_version(sagemaker: SageMakerClient, group: str, job_name: str) -> dict[str, Any] | None:
    """This run's version among the group's newest, if an earlier attempt registered it."""
    listed = sagemaker.list_model_packages(
        ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending", MaxResults=_NEWEST_VERSIONS_CHECKED
    )
    for summary in listed.get("ModelPackageSummaryList", []):
        described = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        if (described.get("CustomerMetadataProperties") or {}).get("training_job") == job_name:
            return dict(described)
    return None


def version_metadata(
    pipeline: str, execution: Execution, run: RunState, job_name: str, metrics: Mapping[str, float]
) -> dict[str, str]:
    """The version's searchable facts: where its data is listed, which run trained it, and its metrics."""
    metadata = {
        "pipeline": pipeline,
        "execution": execution.name,
        "training_job": job_name,
        "manifest_uri": str(run.manifest_uri),
        "window_start": run.window_start,
        "window_end": run.window_end,
        "file_count": str(run.file_count),
    }
    for name in sorted(metrics)[: _METADATA_ENTRIES - len(metadata)]:
        # holdout:<name> entries are the held-out evaluation's; the others the training job's.
        metadata[name if name.startswith("holdout:") else f"metric:{name}"] = repr(metrics[name])
    return {_safe(k)[:128]: _safe(v)[:256] for k, v in metadata.items()}


def _description(execution: Execution, run: RunState, verdict: Verdict) -> str:
    judged = "passed the quality gate" if verdict.passed else "rejected: " + "; ".join(verdict.reasons)
    text = f"Trained by {execution.name} on {run.window_start}..{run.window_end} ({run.file_count} files); {judged}"
    return text[:_DESCRIPTION_LIMIT]


def _safe(value: str) -> str:
    return _METADATA_UNSAFE.sub("_", value)


def _version_from_arn(described: Mapping[str, Any]) -> int:
    return int(str(described["ModelPackageArn"]).rsplit("/", 1)[-1])


def _not_found(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    message = error.response["Error"].get("Message", "").lower()
    missing = ("not find", "not found", "does not exist")
    return code in ("ValidationException", "ResourceNotFound") and any(words in message for words in missing)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
