"""Runs started by more than the schedule: new data under the data prefix, and events from upstream jobs."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract import env
from contract.names import SCHEDULE_NAME
from stacks.compliance import INLINE_POLICY_REASON, acknowledge
from stacks.config import EventTriggerConfig, NewDataTriggerConfig, PipelineConfig
from stacks.constructs.data_store import DataStore
from stacks.constructs.lambda_assets import LambdaAssets
from stacks.constructs.step_function import StepFunction

SCHEDULE_GROUP_NAME = "sagemaker-retraining-{pipeline}"
OBJECT_CREATED = "Object Created"
# TriggerRun makes two or three Scheduler calls per object (GetSchedule, then CreateSchedule or UpdateSchedule;
# Scheduler's default quota is 50 requests per second for each, in most regions 1,000 or more). Two at a time
# keep a burst of thousands of objects far below it; Lambda holds the asynchronous invocations it throttles
# and retries them for up to six hours.
TRIGGER_RUN_CONCURRENCY = 2
TRIGGER_RUN_DLQ_REASON = (
    "TriggerRun only moves the pipeline's pending run: a lost event delays training to the next object or the "
    "next scheduled run, which finds the object anyway (CheckData lists the window). Lambda retries a failed "
    "asynchronous invocation twice and holds throttled ones for up to six hours."
)


class RunTriggers(Construct):
    """New data (debounced: one run per burst of uploads) and upstream events (one run per event) start runs.

    Either kind is optional; the overlapping-run guard in CheckData stops a run started while another goes on.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        state_machine: sfn.IStateMachine,
        data: DataStore,
        assets: LambdaAssets,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.trigger_run: StepFunction | None = None
        self.event_rules: dict[str, events.Rule] = {}
        new_data = config.triggers.new_data
        if new_data is not None:
            self.trigger_run = self._new_data(config, new_data, state_machine, data, assets, key)
        if config.triggers.events:
            # One role for every upstream rule; each target adds states:StartExecution on this machine only.
            role = iam.Role(
                self,
                "EventsRole",
                assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
                description=f"Starts a run of pipeline {config.name} when an upstream event matches",
            )
            acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)
            for event in config.triggers.events:
                self.event_rules[event.name] = self._upstream_event(config, event, state_machine, role)

    def _upstream_event(
        self, config: PipelineConfig, event: EventTriggerConfig, state_machine: sfn.IStateMachine, role: iam.IRole
    ) -> events.Rule:
        rule = events.Rule(
            self,
            f"Event{''.join(part.title() for part in event.name.split('-'))}",
            description=f"Starts a run of pipeline {config.name} when upstream event {event.name} matches",
            # Replaced below: the configured pattern is written as given, with fields the L2 pattern lacks.
            event_pattern=events.EventPattern(source=["placeholder"]),
            targets=[
                targets.SfnStateMachine(
                    state_machine, input=events.RuleTargetInput.from_object({"trigger": event.trigger}), role=role
                )
            ],
        )
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.add_property_override("EventPattern", json.loads(json.dumps(dict(event.pattern))))
        return rule

    def _new_data(
        self,
        config: PipelineConfig,
        new_data: NewDataTriggerConfig,
        state_machine: sfn.IStateMachine,
        data: DataStore,
        assets: LambdaAssets,
        key: kms.IKey,
    ) -> StepFunction:
        stack = Stack.of(self)
        data.send_events_to_eventbridge()
        group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=SCHEDULE_GROUP_NAME.format(pipeline=config.name))
        schedule_arn = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{group.ref}/{SCHEDULE_NAME.format(pipeline=config.name)}",
        )

        # The role EventBridge Scheduler starts the execution with; only schedules of this account may use it.
        scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Starts a run of pipeline {config.name} once new data has been quiet",
        )
        acknowledge(scheduler_role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)
        state_machine.grant_start_execution(scheduler_role)
        # The schedule's payload is encrypted with the pipeline's key, as the bucket and the logs are.
        key.grant_decrypt(scheduler_role)

        function = StepFunction(
            self,
            "TriggerRun",
            step="trigger_run",
            assets=assets,
            log_retention_days=config.log_retention_days,
            environment={
                env.PIPELINE_NAME: config.name,
                env.STATE_MACHINE_ARN: state_machine.state_machine_arn,
                env.SCHEDULE_GROUP: group.ref,
                env.SCHEDULER_ROLE_ARN: scheduler_role.role_arn,
                env.SCHEDULE_KMS_KEY_ARN: key.key_arn,
                env.QUIET_SECONDS: str(new_data.quiet_seconds),
                env.MAX_DELAY_SECONDS: str(new_data.max_delay_seconds),
            },
            reserved_concurrent_executions=TRIGGER_RUN_CONCURRENCY,
            dlq_reason=TRIGGER_RUN_DLQ_REASON,
        )
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["scheduler:GetSchedule", "scheduler:CreateSchedule", "scheduler:UpdateSchedule"],
                resources=[schedule_arn],
            )
        )
        iam.Grant.add_to_principal(
            grantee=function.role,
            actions=["iam:PassRole"],
            resource_arns=[scheduler_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        )
        # Scheduler encrypts and decrypts the payload with the caller's permissions on the key.
        key.grant(function.role, "kms:GenerateDataKey", "kms:Decrypt")

        events.Rule(
            self,
            "NewDataRule",
            description=f"New data under {config.data_prefix}/: TriggerRun moves pipeline {config.name}'s pending run",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=[OBJECT_CREATED],
                detail={
                    "bucket": {"name": [data.bucket.bucket_name]},
                    "object": {"key": [{"prefix": f"{config.data_prefix}/"}]},
                },
            ),
            targets=[targets.LambdaFunction(function.function)],
        )
        return function
