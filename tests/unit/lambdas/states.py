"""Whole state sections as the steps write them, for the tests of the steps that read them.

Each builder takes the fields a test cares about as keywords; the rest are plausible values of one run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lambdas.common.models import (
    BatchTransformState,
    DeploymentState,
    EvaluationState,
    PreprocessingState,
    RunState,
    TrainingJobState,
    WatermarkState,
)

RUN_ID = "churn-20261122060000-1a2b3c4d"

_RUN = RunState(
    pipeline="churn",
    run_id=RUN_ID,
    trigger="schedule",
    forced=False,
    window_start="2026-11-15",
    window_end="2026-11-21",
    window_days=7,
    newest_data_date="2026-11-21",
    watermark_date="2026-11-14",
    has_new_data=True,
    reason="data of 2026-11-21 is newer than the watermark 2026-11-14",
    file_count=7,
    total_bytes=7000,
    manifest_uri=f"s3://bucket/manifests/churn/{RUN_ID}.manifest",
    skipped_count=0,
    skipped_keys=[],
    list_requests=2,
)
_TRAINING = TrainingJobState(
    job_name=RUN_ID,
    status="Completed",
    secondary_status="Completed",
    failure_reason=None,
    model_artifact=f"s3://bucket/models/churn/{RUN_ID}/output/model.tar.gz",
    metrics={},
    started_at="2026-11-22T06:00:05.000Z",
    waited_seconds=1320,
    wait_exceeded=False,
    poll_seconds=60,
)
_PREPROCESSING = PreprocessingState(
    job_name=RUN_ID,
    status="Completed",
    failure_reason=None,
    training_data_uri=f"s3://bucket/preprocessed/churn/{RUN_ID}/train/",
    model_artifact=f"s3://bucket/preprocessed/churn/{RUN_ID}/model/model.tar.gz",
    started_at="2026-11-22T06:00:01.000Z",
    waited_seconds=300,
    wait_exceeded=False,
    poll_seconds=60,
)
_DEPLOYMENT = DeploymentState(
    endpoint_name="churn",
    endpoint_config_name=RUN_ID,
    model_name=RUN_ID,
    action="update",
    status="InService",
    failure_reason=None,
    serving_new_model=True,
    started_at="2026-11-22T06:23:00.000Z",
    waited_seconds=480,
    wait_exceeded=False,
    poll_seconds=60,
)
_EVALUATION = EvaluationState(
    metric=None,
    direction=None,
    value=None,
    production_value=None,
    production_model=None,
    passed=True,
    reasons=[],
    notes=["no quality gate configured"],
    model_package_group="churn-models",
    model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/3",
    model_package_version=3,
    approval_status="Approved",
    approval_timeout_seconds=3600,
)
_BATCH_TRANSFORM = BatchTransformState(
    job_name=RUN_ID,
    status="InProgress",
    failure_reason=None,
    day="2026-11-21",
    input_uri="s3://bucket/daily/2026-11-21.csv",
    output_uri="s3://bucket/predictions/daily/",
    started_at="2026-11-22T07:00:00.000Z",
    waited_seconds=0,
    wait_exceeded=False,
    poll_seconds=600,
)
_WATERMARK = WatermarkState(
    parameter="/sagemaker-retraining/churn/watermark",
    newest_data_date="2026-11-21",
    previous_date="2026-11-14",
    version=2,
    outcome="deployed",
)


def run_section(**fields: Any) -> RunState:
    return replace(_RUN, **fields)


def training_section(**fields: Any) -> TrainingJobState:
    return replace(_TRAINING, **fields)


def preprocessing_section(**fields: Any) -> PreprocessingState:
    return replace(_PREPROCESSING, **fields)


def deployment_section(**fields: Any) -> DeploymentState:
    return replace(_DEPLOYMENT, **fields)


def evaluation_section(**fields: Any) -> EvaluationState:
    return replace(_EVALUATION, **fields)


def batch_transform_section(**fields: Any) -> BatchTransformState:
    return replace(_BATCH_TRANSFORM, **fields)


def watermark_section(**fields: Any) -> WatermarkState:
    return replace(_WATERMARK, **fields)
