"""The EventBridge Scheduler schedule that starts the workflow on the pipeline's schedule, in its time zone.

Scheduler rather than an EventBridge rule: a rule reads cron in UTC only (a 05:00 Berlin run would move an hour twice
a year), and a rule's target has a retry policy but hands the run no scheduled time. Scheduler retries a failed
StartExecution per the schedule's RetryPolicy, then sends the tick to the dead-letter queue, whose alarm tells the
operator that a scheduled run never started.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract.names import SCHEDULED_TIME_FIELD
from stacks.compliance import INLINE_POLICY_REASON, acknowledge
from stacks.config import PipelineConfig

SCHEDULE_TRIGGER = "schedule"
# A dead letter is kept as long as SQS allows, so an operator back from two weeks away can still read why.
DEAD_LETTER_RETENTION = Duration.days(14)
DEAD_LETTER_REASON = (
    "This queue is the schedule's dead-letter queue: what lands in it is read by an operator after its alarm; a "
    "dead-letter queue of its own would hold nothing."
)


def scheduled_input() -> dict[str, str]:
    """The run input each tick starts an execution with. Scheduler substitutes the context attribute with the time
    the tick was due, in UTC (ISO 8601: 2026-12-05T04:00:00Z), however late it delivers it: CheckData ends the run's
    window on its day, so a retried or late delivery trains on the window the on-time one would have."""
    return {"trigger": SCHEDULE_TRIGGER, SCHEDULED_TIME_FIELD: scheduler.ContextAttribute.scheduled_time}


class RetrainingSchedule(Construct):
    """Starts one execution per tick; a run that finds no new data ends at once."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        state_machine: sfn.IStateMachine,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Standard, not FIFO: Scheduler's dead-letter queues must be standard queues (configuring-schedule-dlq).
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        acknowledge(self.dead_letter_queue, "AwsSolutions-SQS3", DEAD_LETTER_REASON)
        acknowledge(self.dead_letter_queue, "NIST.800.53.R5-SQSQueueDLQ", DEAD_LETTER_REASON)
        # The role Scheduler starts executions with; only this account's schedules may assume it. The target grants
        # it states:StartExecution on this machine and sqs:SendMessage (with the key) on the dead-letter queue.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Starts the retraining workflow on its schedule",
        )
        acknowledge(self.role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)
        # Sending to an encrypted queue takes a data key of the queue's key (the target grants only sqs:SendMessage).
        key.grant(self.role, "kms:GenerateDataKey")
        retry = config.schedule_retry
        target = targets.StepFunctionsStartExecution(
            state_machine,
            input=scheduler.ScheduleTargetInput.from_object(scheduled_input()),
            role=self.role,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=retry.maximum_retry_attempts,
            max_event_age=Duration.seconds(retry.maximum_event_age_seconds),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Starts the retraining workflow of pipeline {config.name}",
            schedule=scheduler.ScheduleExpression.expression(config.schedule, TimeZone.of(config.schedule_timezone)),
            target=target,
            # The payload is encrypted with the pipeline's key, as the bucket, the logs and the queue are.
            key=key,
        )
