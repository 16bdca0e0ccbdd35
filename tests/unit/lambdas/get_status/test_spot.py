"""GetStatus on a spot training job that SageMaker ended at its max wait."""

from __future__ import annotations

from lambdas.common.models import TrainingJobState
from lambdas.get_status.core import training_status
from tests.unit.lambdas.get_status.test_core import NOW, SETTINGS, TRAINING, RecordedSageMaker


def test_a_spot_job_stopped_at_its_max_wait_says_so() -> None:
    # GIVEN a spot job SageMaker ended as its lifecycle documents it: Stopping, then Stopped with secondary status
    # MaxWaitTimeExceeded and no FailureReason (Developer Guide, Managed Spot Training Lifecycle)
    sagemaker = RecordedSageMaker(
        training_job={"TrainingJobStatus": "Stopped", "SecondaryStatus": "MaxWaitTimeExceeded"}
    )

    # WHEN the loop checks it
    state = training_status(TrainingJobState.from_state(TRAINING), sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # THEN the run's failure names the limit and the field that sets it
    assert (state.status, state.secondary_status) == ("Stopped", "MaxWaitTimeExceeded")
    assert state.failure_reason == (
        "training job churn-1 was stopped (secondary status MaxWaitTimeExceeded): it did not complete within its "
        "MaxWaitTimeInSeconds (training.spot.max_wait_seconds), the time spent waiting for spot capacity plus the "
        "time it ran"
    )
