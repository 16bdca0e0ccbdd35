"""GetStatus: one function for every wait loop's status check (preprocessing, training, endpoint, batch transform).

Each loop's ASL state (GetPreprocessingStatus, GetTrainingStatus, GetEndpointStatus, GetBatchTransformStatus)
invokes it; it describes the job or endpoint, decides whether the loop ends, and computes the next wait. It records
each job's instances and time, priced from the pipeline's price table (stacks/pricing.py).
"""

from __future__ import annotations

from constructs import Construct

from contract import env
from contract.steps import GET_STATUS
from stacks.arns import optional_run_jobs, run_resources_arn
from stacks.constructs.endpoint_scaling import allow_scaling
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow, allow_run_resources, step_function
from stacks.pricing import prices_env


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, polling = resources.config, resources.config.polling
    step = step_function(
        scope,
        GET_STATUS,
        resources,
        {
            env.POLL_INTERVAL_SECONDS: str(polling.interval_seconds),
            env.MAX_TRAINING_WAIT_SECONDS: str(polling.max_training_wait_seconds),
            env.MAX_DEPLOYMENT_WAIT_SECONDS: str(polling.max_deployment_wait_seconds),
            # each job's usage is priced where it is described (cost.price_table, checked here at synth)
            env.PRICES: prices_env(config),
            **(
                {env.MAX_PREPROCESSING_WAIT_SECONDS: str(config.preprocessing.max_wait_seconds)}
                if config.preprocessing is not None
                else {}
            ),
            **(
                {env.MAX_BATCH_TRANSFORM_WAIT_SECONDS: str(config.batch_transform.max_wait_seconds)}
                if config.batch_transform is not None
                else {}
            ),
            **resources.evaluation_env(),
        },
    )
    arns = RunArns.of(scope, config)
    allow_run_resources(step, ["sagemaker:DescribeTrainingJob"], [arns.training_jobs])
    for resource, noun in optional_run_jobs(config):
        allow_run_resources(step, [f"sagemaker:Describe{noun}"], [run_resources_arn(scope, resource, config.name)])
    allow(step, ["sagemaker:DescribeEndpoint"], [arns.endpoint])
    # Once the endpoint serves the run's config, the endpoint loop registers its variant for autoscaling.
    allow_scaling(scope, step, config)
    return step
