"""StartPreprocessing: starts the run's processing job, which writes the training data.

Always deployed, so the definition is the same for every pipeline; only a pipeline with preprocessing routes runs
to it (CheckData's `preprocess`), and only then may it start processing jobs.
"""

from __future__ import annotations

from constructs import Construct

from contract import env
from contract.steps import START_PREPROCESSING
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow_run_resources, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config = resources.config
    step = step_function(
        scope,
        START_PREPROCESSING,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.DATA_BUCKET: resources.data.bucket.bucket_name,
            env.SAGEMAKER_ROLE_ARN: resources.sagemaker.role_arn,
            env.POLL_INTERVAL_SECONDS: str(config.polling.interval_seconds),
            **resources.preprocessing_env(),
        },
    )
    if resources.preprocessing is not None:
        allow_run_resources(
            step,
            [
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            [RunArns.of(scope, config).processing_jobs],
        )
        resources.sagemaker.grant_pass_role(step.role)
    return step
