"""EventBridge detail-types the stack's rules match and the functions receive, and the statuses they carry."""

from __future__ import annotations

from typing import Final

# SageMaker's state-change events: the wait/poll loops are woken by them (StatusChangeListener).
TRAINING_JOB_STATE_CHANGE = "SageMaker Training Job State Change"
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
PROCESSING_JOB_STATE_CHANGE = "SageMaker Processing Job State Change"
TRANSFORM_JOB_STATE_CHANGE = "SageMaker Transform Job State Change"
# The model registry's: a decided approval resumes the run waiting for it (ApprovalListener).
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
# Step Functions' own, on every status change of a Standard execution (source aws.states): RUNNING, then one of
# SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
EXECUTION_ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

# What each loop waits for to end: the states GetStatus's Choices leave the loop on (PreprocessingStatus,
# TrainingStatus and EndpointStatus in statemachine/retraining.asl.json). An endpoint InService on the previous
# config also ends it. Processing and transform jobs end in the same states as training jobs.
TRAINING_ENDED = frozenset({"Completed", "Failed", "Stopped"})
ENDPOINT_SETTLED = frozenset({"InService", "Failed", "OutOfService", "UpdateRollbackFailed"})

# A model version's ModelApprovalStatus.
APPROVED: Final = "Approved"
PENDING: Final = "PendingManualApproval"
REJECTED: Final = "Rejected"
DECIDED = frozenset({APPROVED, REJECTED})
