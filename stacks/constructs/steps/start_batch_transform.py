"""StartBatchTransform: scores the newest day's data with the model just deployed, in a transform job.

Like StartPreprocessing: always deployed, reached only when the pipeline configures a batch transform.
"""

from __future__ import annotations

from constructs import Construct

from contract import env
from contract.steps import START_BATCH_TRANSFORM
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import RunArns, StepResources, allow_transform_jobs, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, data = resources.config, resources.data
    step = step_function(
        scope,
        START_BATCH_TRANSFORM,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.DATA_BUCKET: data.bucket.bucket_name,
            env.DATA_PREFIX: config.data_prefix,
            env.MANIFEST_PREFIX: config.manifest_prefix,
            env.POLL_INTERVAL_SECONDS: str(config.polling.interval_seconds),
            **resources.transform_env(),
        },
    )
    if config.batch_transform is not None:
        arns = RunArns.of(scope, config)
        # It lists the newest day's data files (a file or a dt= folder's) and writes them to the job's manifest; a
        # retried attempt finds its manifest written (PutObject with If-None-Match) and reads it back.
        data.grant_list(step.role, config.data_prefix)
        data.grant_put(step.role, config.manifest_prefix)
        data.grant_get(step.role, config.manifest_prefix)
        allow_transform_jobs(step, arns)
    return step
