"""StartEvaluation: scores the new model and the production model on the run's holdout, in transform jobs (the
built-in evaluators) or in one processing job running the user's evaluation script.

Always deployed; reached only when the pipeline's models are scored on the holdout (CheckData's run.evaluate).
"""

from __future__ import annotations

from constructs import Construct

from contract import env
from contract.steps import START_EVALUATION
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import (
    RunArns,
    StepResources,
    allow,
    allow_evaluation_processing_jobs,
    allow_run_resources,
    allow_transform_jobs,
    step_function,
)


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config = resources.config
    step = step_function(
        scope,
        START_EVALUATION,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.DATA_BUCKET: resources.data.bucket.bucket_name,
            env.ENDPOINT_NAME: config.endpoint.name,
            env.INFERENCE_IMAGE: resources.images.inference,
            **resources.model_env(),
            env.SAGEMAKER_ROLE_ARN: resources.sagemaker.role_arn,
            env.POLL_INTERVAL_SECONDS: str(config.polling.interval_seconds),
            **resources.preprocessing_env(),
            **resources.evaluation_env(),
        },
    )
    if config.evaluates_models:
        arns = RunArns.of(scope, config)
        # The new model, created as DeployModel creates it (which then adopts it).
        allow_run_resources(
            step, ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:AddTags"], [arns.models]
        )
        resources.sagemaker.grant_pass_role(step.role)
        # The production model: the one the endpoint's config names.
        allow(step, ["sagemaker:DescribeEndpoint"], [arns.endpoint])
        allow_run_resources(step, ["sagemaker:DescribeEndpointConfig"], [arns.endpoint_configs])
        if config.evaluation_script is not None:
            allow_evaluation_processing_jobs(step, arns)
        else:
            allow_transform_jobs(step, arns)
    return step
