"""StartTrainingJob: checks the run's data if configured, then starts its training job."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from contract import env
from contract.steps import START_TRAINING_JOB
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow_run_resources, step_function

# Lambda gives a function one full vCPU at 1,769 MB.
VALIDATING_MEMORY_MB = 1769


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, data, training = resources.config, resources.data, resources.config.training
    step = step_function(
        scope,
        START_TRAINING_JOB,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.DATA_BUCKET: data.bucket.bucket_name,
            env.MODEL_PREFIX: config.model_prefix,
            env.TRAINING_IMAGE: resources.images.training,
            env.SAGEMAKER_ROLE_ARN: resources.sagemaker.role_arn,
            env.TRAINING_INSTANCE_TYPE: training.instance_type,
            env.TRAINING_INSTANCE_COUNT: str(training.instance_count),
            env.TRAINING_VOLUME_SIZE_GB: str(training.volume_size_gb),
            env.TRAINING_MAX_RUNTIME_SECONDS: str(training.max_runtime_seconds),
            **(
                {env.TRAINING_SPOT_MAX_WAIT_SECONDS: str(training.spot.max_wait_seconds)}
                if training.spot is not None
                else {}
            ),
            **resources.training_env(),
            env.POLL_INTERVAL_SECONDS: str(config.polling.interval_seconds),
            env.VALIDATE_DATA: "true" if training.validate_data else "false",
            **resources.preprocessing_env(),
        },
        # Checking the data streams every file of the window: Lambda's longest timeout, and the memory
        # that buys a full vCPU (the check is CPU-bound; its memory use does not grow with the files).
        timeout=Duration.minutes(15) if training.validate_data else None,
        memory_size=VALIDATING_MEMORY_MB if training.validate_data else 256,
    )
    if training.validate_data:
        data.grant_get(step.role, config.data_prefix)
        data.grant_get(step.role, config.manifest_prefix)
        # A file deleted since CheckData listed it must read as missing (404 NoSuchKey, a clear DataObjectMissingError),
        # which S3 answers only to a caller that may list the prefix: 403 AccessDenied otherwise.
        data.grant_list(step.role, config.data_prefix)
        if config.preprocessing is not None:
            # It checks the preprocessed data instead: every file the run's processing job wrote.
            data.grant_list(step.role, config.preprocessing.output_prefix)
            data.grant_get(step.role, config.preprocessing.output_prefix)
    allow_run_resources(
        step,
        # ListTags: a retried attempt checks that an existing job of this name is its own run's.
        ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:AddTags", "sagemaker:ListTags"],
        [RunArns.of(scope, config).training_jobs],
    )
    resources.sagemaker.grant_pass_role(step.role)
    return step
