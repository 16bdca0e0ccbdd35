"""Names and tag keys that the stack's grants and the functions' calls must agree on."""

from __future__ import annotations

# Tags every SageMaker resource of a run carries (lambdas/common/names.py): PruneModels may delete only what
# carries its pipeline's tag, and the stack's policy conditions on the same key.
PIPELINE_TAG = "sagemaker-retraining:pipeline"
EXECUTION_TAG = "sagemaker-retraining:execution"

# The one production variant DeployModel creates; the rollout alarms watch its metrics.
VARIANT_NAME = "AllTraffic"

# Where transform jobs write a day's predictions unless configured otherwise (the run's batch transform, the
# operator's `transform`): `<prefix>/<data key>.out`; the SageMaker role may write there.
PREDICTIONS_PREFIX = "predictions"

# The run input's field holding when the pipeline schedule's tick was due: the stack's schedule puts EventBridge
# Scheduler's <aws.scheduler.scheduled-time> there, and CheckData ends the run's window on its day.
SCHEDULED_TIME_FIELD = "scheduled_time"

# TriggerRun's one-time schedule in the pipeline's schedule group (the stack grants on its ARN).
SCHEDULE_NAME = "{pipeline}-new-data"


def endpoint_context_name(endpoint_name: str) -> str:
    """The name of the Lineage context this workflow creates for an endpoint it has none for."""
    return f"{endpoint_name}-endpoint"


# The pipeline's run lease (lambdas/common/lease.py): one object under the wake prefix, beside the wait loops' tokens.
LEASE_FILE = "run.lease"


def lease_key(wake_prefix: str) -> str:
    """The run lease's key in the data bucket."""
    return f"{wake_prefix.strip('/')}/{LEASE_FILE}"


# Where a spot training job's checkpoints live: beside its model artifacts under the model prefix, in a folder of the
# run's own job, so a run never resumes from another run's checkpoint (trained on another window). SageMaker copies
# CHECKPOINT_LOCAL_PATH there while the job runs and back into the container when it restarts.
CHECKPOINT_FOLDER = "checkpoints"
# CheckpointConfig.LocalPath: SageMaker's default, "/opt/ml/checkpoints/" (API reference, CheckpointConfig).
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"


def checkpoint_prefix(model_prefix: str, job_name: str) -> str:
    """The key prefix of a training job's checkpoints (`job_name` "*" gives the pattern of every job's)."""
    return f"{model_prefix.strip('/')}/{job_name}/{CHECKPOINT_FOLDER}"
