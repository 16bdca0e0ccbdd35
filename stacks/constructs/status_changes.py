"""The wait/poll loops woken by SageMaker's own state-change events, with their timeouts as the safety net."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from contract import env
from contract.events import (
    ENDPOINT_SETTLED,
    ENDPOINT_STATE_CHANGE,
    PROCESSING_JOB_STATE_CHANGE,
    TRAINING_ENDED,
    TRAINING_JOB_STATE_CHANGE,
    TRANSFORM_JOB_STATE_CHANGE,
)
from stacks.arns import RUN_RESOURCE_PATTERN
from stacks.config import PipelineConfig
from stacks.constructs.data_store import DataStore
from stacks.constructs.lambda_assets import LambdaAssets
from stacks.constructs.model_registry import grant_task_response
from stacks.constructs.step_function import StepFunction


def _upper_snake(status: str) -> str:
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(status)).upper()


class StatusChangeWake(Construct):
    """StatusChangeListener (target of this pipeline's rules) and the rules; AwaitStatusChange, the loops' wait
    state, is a step of the registry (stacks/constructs/steps/await_status_change.py) built under this construct.

    AwaitStatusChange keeps the loop's task token under `wake_prefix`; the rule passes SageMaker's state
    changes of the pipeline's training jobs and endpoint that end a loop to StatusChangeListener, which
    returns the token. Nothing else changes: GetStatus still decides, and the wait's timeout still checks.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PipelineConfig, assets: LambdaAssets, data: DataStore
    ) -> None:
        super().__init__(scope, construct_id)
        environment = {env.DATA_BUCKET: data.bucket.bucket_name, env.WAKE_PREFIX: config.wake_prefix}
        self.listener = StepFunction(
            self,
            "StatusChangeListener",
            step="status_change_listener",
            assets=assets,
            log_retention_days=config.log_retention_days,
            environment=environment,
        )
        data.grant_get(self.listener.role, config.wake_prefix)
        # Most events are of jobs and endpoints no run waits for: their record is missing, which S3 answers with
        # 404 NoSuchKey only to a caller that may list the prefix (403 AccessDenied otherwise, failing the function).
        data.grant_list(self.listener.role, config.wake_prefix)
        data.grant_delete(self.listener.role, config.wake_prefix)
        grant_task_response(self.listener, config)

        # SageMaker's documented endpoint event spells statuses IN_SERVICE while the API says InService, and
        # matching is case-sensitive: both spellings, so a change of spelling cannot silently stop the wake-ups.
        endpoint_statuses = sorted({*ENDPOINT_SETTLED, *(_upper_snake(s) for s in ENDPOINT_SETTLED)})
        run_prefix = RUN_RESOURCE_PATTERN.format(pipeline=config.name).removesuffix("*")
        self.training_rule = self._rule(
            "TrainingJobRule",
            f"A training job of pipeline {config.name} ended: wake the run waiting for it",
            TRAINING_JOB_STATE_CHANGE,
            {"TrainingJobName": [{"prefix": run_prefix}], "TrainingJobStatus": sorted(TRAINING_ENDED)},
        )
        self.endpoint_rule = self._rule(
            "EndpointRule",
            f"The endpoint of pipeline {config.name} settled: wake the run waiting for its deployment",
            ENDPOINT_STATE_CHANGE,
            {"EndpointName": [config.endpoint.name], "EndpointStatus": endpoint_statuses},
        )
        if config.preprocessing is not None or config.evaluation_script is not None:
            # The preprocessing's and the evaluation script's; they end in the training jobs' states.
            self.processing_rule = self._rule(
                "ProcessingJobRule",
                f"A processing job of pipeline {config.name} ended: wake the run waiting for it",
                PROCESSING_JOB_STATE_CHANGE,
                {"ProcessingJobName": [{"prefix": run_prefix}], "ProcessingJobStatus": sorted(TRAINING_ENDED)},
            )
        if config.batch_transform is not None or config.builtin_evaluation is not None:
            # The batch transform after deploying, and the held-out evaluation's jobs.
            self.transform_rule = self._rule(
                "TransformJobRule",
                f"A transform job of pipeline {config.name} ended: wake the run waiting for it",
                TRANSFORM_JOB_STATE_CHANGE,
                {"TransformJobName": [{"prefix": run_prefix}], "TransformJobStatus": sorted(TRAINING_ENDED)},
            )

    def _rule(self, construct_id: str, description: str, detail_type: str, detail: dict[str, Any]) -> events.Rule:
        return events.Rule(
            self,
            construct_id,
            description=description,
            event_pattern=events.EventPattern(source=["aws.sagemaker"], detail_type=[detail_type], detail=detail),
            targets=[targets.LambdaFunction(self.listener.function, retry_attempts=4)],
        )
