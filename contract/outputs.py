"""A pipeline stack's name and outputs: what tools outside the app (the CLI) find a deployed pipeline by."""

from __future__ import annotations

STACK_NAME = "SageMakerRetraining-{pipeline}"

STATE_MACHINE_ARN = "StateMachineArn"
DATA_BUCKET_NAME = "DataBucketName"
DATA_PREFIX = "DataPrefix"
RUNS_PREFIX = "RunsPrefix"
WAKE_PREFIX = "WakePrefix"  # where the run lease is (contract.names.lease_key)
WATERMARK_PARAMETER_NAME = "WatermarkParameterName"
ENDPOINT_NAME = "EndpointName"


def model_package_group(pipeline: str) -> str:
    """The registry's group of a pipeline's model versions (EvaluateModel creates it on first use)."""
    return f"{pipeline}-models"


def stack_name(pipeline: str) -> str:
    """The CloudFormation stack of a pipeline."""
    return STACK_NAME.format(pipeline=pipeline)
