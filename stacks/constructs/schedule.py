"""The EventBridge rule that starts the workflow on the pipeline's schedule."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

SCHEDULED_INPUT = {"trigger": "schedule"}


class RetrainingSchedule(Construct):
    """Starts one execution per tick; a run that finds no new data ends at once."""

    def __init__(
        self, scope: Construct, construct_id: str, *, expression: str, state_machine: sfn.IStateMachine
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="Starts the retraining workflow",
            schedule=events.Schedule.expression(expression),
            targets=[targets.SfnStateMachine(state_machine, input=events.RuleTargetInput.from_object(SCHEDULED_INPUT))],
        )
