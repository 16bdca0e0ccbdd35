"""One stack per pipeline: data, watermark, steps, the workflow that runs them, its schedule and triggers, alarms and
a dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Aspects, CfnOutput, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract.outputs import (
    DATA_BUCKET_NAME,
    DATA_PREFIX,
    ENDPOINT_NAME,
    RUNS_PREFIX,
    STACK_NAME,
    STATE_MACHINE_ARN,
    WAKE_PREFIX,
    WATERMARK_PARAMETER_NAME,
)
from contract.steps import CLEAN_UP, NOTIFY_SLACK
from stacks.algorithms import algorithm_images
from stacks.config import PipelineConfig
from stacks.constructs.alarms import AlertTopic, PipelineAlarms
from stacks.constructs.dashboard import PipelineDashboard
from stacks.constructs.data_store import DataStore
from stacks.constructs.encryption import EncryptLogGroups, PipelineKey
from stacks.constructs.evaluation_script import EvaluationScriptCode
from stacks.constructs.lambda_assets import LambdaAssets
from stacks.constructs.model_registry import ModelRegistry
from stacks.constructs.preprocessing import PreprocessingCode
from stacks.constructs.rollout_alarms import RolloutAlarms
from stacks.constructs.run_ended import RunEndedReaper
from stacks.constructs.sagemaker_role import SageMakerExecutionRole
from stacks.constructs.schedule import RetrainingSchedule
from stacks.constructs.state_machine import RetrainingStateMachine
from stacks.constructs.status_changes import StatusChangeWake
from stacks.constructs.steps import StepResources, WorkflowSteps
from stacks.constructs.training_script import TrainingScript
from stacks.constructs.triggers import RunTriggers
from stacks.constructs.watermark import UNTAGGED_RESOURCE_TYPES, Watermark

__all__ = ["STACK_NAME", "PipelineStack"]


class PipelineStack(Stack):
    """Continuous training and deployment of one SageMaker model."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("pipeline", config.name, exclude_resource_types=UNTAGGED_RESOURCE_TYPES)

        encryption = PipelineKey(self, "Encryption", pipeline=config.name)
        Aspects.of(self).add(EncryptLogGroups(encryption.key))
        data = DataStore(self, "Data", config=config, key=encryption.key)
        watermark = Watermark(self, "Watermark", pipeline=config.name)
        sagemaker = SageMakerExecutionRole(self, "SageMaker", config=config, data=data)

        rollout_alarms = None
        if config.rollout is not None:
            rollout_alarms = RolloutAlarms(
                self, "RolloutAlarms", pipeline=config.name, endpoint_name=config.endpoint.name, rollout=config.rollout
            )
            # SageMaker's guardrail docs ask that the execution role may describe the rollback alarms too.
            rollout_alarms.grant_describe(sagemaker.role)

        preprocessing, script, evaluation_script = self._user_code(config, data, sagemaker)
        assets = LambdaAssets(self, "LambdaAssets")
        registry = ModelRegistry(self, "Registry", config=config, assets=assets, data=data)
        # Before the steps: AwaitStatusChange is built under it (stacks/constructs/steps/await_status_change.py).
        wake = StatusChangeWake(self, "StatusChanges", config=config, assets=assets, data=data)
        steps = WorkflowSteps(
            self,
            "Steps",
            resources=StepResources(
                config=config,
                assets=assets,
                data=data,
                watermark=watermark,
                images=algorithm_images(self, config),
                sagemaker=sagemaker,
                registry=registry,
                rollout_alarms=rollout_alarms,
                preprocessing=preprocessing,
                script=script,
                evaluation_script=evaluation_script,
            ),
        )
        workflow = RetrainingStateMachine(self, "Workflow", config=config, steps=steps.functions)
        machine = workflow.state_machine
        schedule = RetrainingSchedule(self, "Schedule", config=config, state_machine=machine, key=encryption.key)
        triggers = RunTriggers(
            self,
            "Triggers",
            config=config,
            state_machine=workflow.state_machine,
            data=data,
            assets=assets,
            key=encryption.key,
        )

        reaper = RunEndedReaper(
            self, "RunEnded", config=config, assets=assets, data=data, state_machine=workflow.state_machine,
            clean_up=steps.functions[CLEAN_UP], notify=steps.functions[NOTIFY_SLACK], watermark=watermark,
            registry=registry,
        )  # fmt: skip
        functions = {step.name: function.function for step, function in steps.functions.items()}
        functions["RunEnded"] = reaper.function.function
        if registry.listener is not None:
            functions["ApprovalListener"] = registry.listener.function
        functions["StatusChangeListener"] = wake.listener.function
        if triggers.trigger_run is not None:
            functions["TriggerRun"] = triggers.trigger_run.function
        rollout = list(rollout_alarms.alarms) if rollout_alarms is not None else []
        self._monitoring(
            config, workflow.state_machine, functions, key=encryption.key, rollout_alarms=rollout,
            dead_letter_queue=schedule.dead_letter_queue,
        )  # fmt: skip

        CfnOutput(self, STATE_MACHINE_ARN, value=workflow.state_machine_arn)
        CfnOutput(self, DATA_BUCKET_NAME, value=data.bucket.bucket_name)
        CfnOutput(self, DATA_PREFIX, value=config.data_prefix)
        CfnOutput(self, RUNS_PREFIX, value=config.runs_prefix)
        CfnOutput(self, WAKE_PREFIX, value=config.wake_prefix)
        CfnOutput(self, WATERMARK_PARAMETER_NAME, value=watermark.parameter_name)
        CfnOutput(self, ENDPOINT_NAME, value=config.endpoint.name)
        CfnOutput(self, "ModelPackageGroupName", value=registry.group_name)

    def _user_code(
        self, config: PipelineConfig, data: DataStore, sagemaker: SageMakerExecutionRole
    ) -> tuple[PreprocessingCode | None, TrainingScript | None, EvaluationScriptCode | None]:
        """The user's code the pipeline ships as assets: the preprocessing, a framework's training script and the
        evaluation script, each None when the config has none."""
        preprocessing = (
            PreprocessingCode(self, "Preprocessing", config=config, data=data, sagemaker=sagemaker)
            if config.preprocessing is not None
            else None
        )
        script = (
            TrainingScript(self, "TrainingScript", config=config, sagemaker=sagemaker)
            if config.algorithm.kind == "framework"
            else None
        )
        evaluation_script = (
            EvaluationScriptCode(self, "EvaluationScript", config=config, sagemaker=sagemaker)
            if config.evaluation_script is not None
            else None
        )
        return preprocessing, script, evaluation_script

    def _monitoring(
        self,
        config: PipelineConfig,
        state_machine: sfn.StateMachine,
        functions: Mapping[str, lambda_.IFunction],
        *,
        key: kms.IKey,
        rollout_alarms: Sequence[cloudwatch.IAlarm],
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        """The alarms (to the alert topic, when emails are configured) and the dashboard that shows them."""
        topic = None
        if config.alerts is not None:
            topic = AlertTopic(self, "Alerts", pipeline=config.name, alerts=config.alerts, key=key).topic
        alarms = PipelineAlarms(
            self,
            "Alarms",
            config=config,
            state_machine=state_machine,
            functions=functions,
            topic=topic,
            schedule_dead_letters=dead_letter_queue,
        )
        PipelineDashboard(
            self,
            "Dashboard",
            config=config,
            state_machine=state_machine,
            functions=functions,
            alarms=[*alarms.alarms, *rollout_alarms],
        )
