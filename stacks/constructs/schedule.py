"""The EventBridge rule that starts the workflow on the pipeline's schedule."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.compliance import INLINE_POLICY_REASON, acknowledge

SCHEDULED_INPUT = {"trigger": "schedule"}


class RetrainingSchedule(Construct):
    """Starts one execution per tick; a run that finds no new data ends at once."""

    def __init__(
        self, scope: Construct, construct_id: str, *, expression: str, state_machine: sfn.IStateMachine
    ) -> None:
        super().__init__(scope, construct_id)
        # The role EventBridge starts executions with; the target grants it states:StartExecution on this machine.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Starts the retraining workflow on its schedule",
        )
        acknowledge(self.role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)
        self.rule = events.Rule(
            self,
            "Rule",
            description="Starts the retraining workflow",
            schedule=events.Schedule.expression(expression),
            targets=[
                targets.SfnStateMachine(
                    state_machine, input=events.RuleTargetInput.from_object(SCHEDULED_INPUT), role=self.role
                )
            ],
        )
