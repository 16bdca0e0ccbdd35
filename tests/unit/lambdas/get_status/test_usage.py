"""GetStatus records each job's instances and time, priced from the pipeline's price table (lambdas/common/cost.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from lambdas.common.cost import JobUsage, Prices
from lambdas.common.models import BatchTransformState, PreprocessingState, TrainingJobState
from lambdas.get_status.core import batch_transform_status, evaluation_status, preprocessing_status, training_status
from tests.unit.lambdas.get_status.test_core import (
    EVALUATION,
    EVALUATION_SETTINGS,
    NOW,
    PREPROCESSING,
    PREPROCESSING_SETTINGS,
    SETTINGS,
    TRAINING,
    TRANSFORM,
    TRANSFORM_SETTINGS,
    RecordedSageMaker,
)

PRICES = Prices(per_hour={"training": {"ml.m5.large": 0.115}, "processing": {"ml.m5.large": 0.115}})
START, END = datetime(2026, 11, 22, 7, 30, 0), datetime(2026, 11, 22, 7, 40, 0)


def recorded(usage: object) -> JobUsage:
    read = JobUsage.from_json(usage)
    assert read is not None
    return read


def test_a_completed_training_job_records_its_billable_time_and_price() -> None:
    # GIVEN a finished spot job SageMaker billed for 100 of its 500 seconds on one ml.m5.large
    sagemaker = RecordedSageMaker(
        training_job={
            "TrainingJobStatus": "Completed",
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "EnableManagedSpotTraining": True,
            "TrainingTimeInSeconds": 500,
            "BillableTimeInSeconds": 100,
        }
    )

    # WHEN GetStatus describes it
    state = training_status(
        TrainingJobState.from_state(TRAINING), sagemaker=sagemaker, settings=replace(SETTINGS, prices=PRICES), now=NOW
    )

    # THEN the state carries what it cost
    usage = recorded(state.usage)
    assert (usage.seconds, usage.billable_seconds, usage.spot, usage.usd_per_hour) == (500, 100, True, 0.115)
    assert TrainingJobState.from_state(state.to_state()) == state


def test_a_processing_job_records_its_start_to_end_time() -> None:
    sagemaker = RecordedSageMaker(
        processing_job={
            "ProcessingJobStatus": "Completed",
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2}},
            "ProcessingStartTime": START,
            "ProcessingEndTime": END,
        }
    )

    state = preprocessing_status(
        PreprocessingState.from_state(PREPROCESSING),
        sagemaker=sagemaker,
        settings=replace(PREPROCESSING_SETTINGS, prices=PRICES),
        now=NOW,
    )

    usage = recorded(state.usage)
    assert (usage.kind, usage.instance_seconds, usage.usd_per_hour) == ("processing", 1200, 0.115)


def test_a_transform_job_without_a_price_records_its_time_and_no_price() -> None:
    sagemaker = RecordedSageMaker(
        transform_job={
            "TransformJobStatus": "Completed",
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "TransformStartTime": START,
            "TransformEndTime": END,
        }
    )

    state = batch_transform_status(
        BatchTransformState.from_state(TRANSFORM),
        sagemaker=sagemaker,
        settings=replace(TRANSFORM_SETTINGS, prices=PRICES),
        now=NOW,
    )

    usage = recorded(state.usage)
    assert (usage.kind, usage.seconds, usage.usd_per_hour, usage.estimated_usd) == ("transform", 600, None, None)


def test_the_evaluation_records_each_models_job() -> None:
    ended = {"TransformJobStatus": "Completed", "TransformStartTime": START, "TransformEndTime": END}
    sagemaker = RecordedSageMaker(transform_jobs={"churn-1-new": ended, "churn-1-prod": ended})

    state = evaluation_status(EVALUATION, sagemaker=sagemaker, settings=EVALUATION_SETTINGS, now=NOW)

    assert [(recorded(u).job_name, recorded(u).seconds) for u in state.usage] == [
        ("churn-1-new", 600),
        ("churn-1-prod", 600),
    ]


def test_a_running_job_records_its_instances_but_no_time() -> None:
    sagemaker = RecordedSageMaker(
        training_job={"TrainingJobStatus": "InProgress", "ResourceConfig": {"InstanceType": "ml.m5.large"}}
    )

    state = training_status(TrainingJobState.from_state(TRAINING), sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    usage = recorded(state.usage)
    assert (usage.instance_type, usage.instance_count, usage.seconds, usage.usd_per_hour) == (
        "ml.m5.large",
        1,
        None,
        None,
    )
