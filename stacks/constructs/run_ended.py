"""RunEnded: the end of every run, from Step Functions' Execution Status Change event.

It releases the run lease of any run that ends, and reaps a run that ended outside the workflow's failure path
(stopped by hand, timed out, or failed without its alert): CleanUp stops its jobs and removes what it created, and
NotifySlack says how it ended (lambdas/run_ended/core.py). It invokes those two functions rather than holding their
permissions itself: one copy of what a clean-up may do.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract import env
from contract.events import EXECUTION_ENDED, EXECUTION_STATUS_CHANGE
from contract.names import lease_key
from stacks.compliance import acknowledge, resource_finding
from stacks.config import PipelineConfig
from stacks.constructs.data_store import DataStore
from stacks.constructs.lambda_assets import LambdaAssets
from stacks.constructs.model_registry import ModelRegistry
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.check_data import executions_arn
from stacks.constructs.watermark import Watermark


class RunEndedReaper(Construct):
    """The RunEnded function and the rule that sends it every end of the pipeline's executions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        assets: LambdaAssets,
        data: DataStore,
        state_machine: sfn.IStateMachine,
        clean_up: StepFunction,
        notify: StepFunction,
        watermark: Watermark,
        registry: ModelRegistry | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = StepFunction(
            self,
            "RunEnded",
            step="run_ended",
            assets=assets,
            log_retention_days=config.log_retention_days,
            environment={
                env.PIPELINE_NAME: config.name,
                env.DATA_BUCKET: data.bucket.bucket_name,
                env.WAKE_PREFIX: config.wake_prefix,
                env.CLEAN_UP_FUNCTION: clean_up.function.function_arn,
                env.NOTIFY_SLACK_FUNCTION: notify.function.function_arn,
                env.WATERMARK_PARAMETER: watermark.parameter_name,
            },
            # Waits for CleanUp (up to its own minute) and NotifySlack, each retried by the caller's SDK.
            timeout=Duration.minutes(5),
            dlq_reason="Invoked asynchronously by EventBridge (which retries the delivery); Lambda's async queue "
            "retries a failed invocation twice. An end-of-run event lost after that leaves a lease the next run "
            "takes over and jobs their own maximum runtimes stop; its errors alarm says it happened.",
        )
        role = self.function.role
        if registry is not None and config.registry.manual:
            # A run stopped while it waited for approval: its record goes and its version is Rejected.
            self.function.add_environment(env.MODEL_PACKAGE_GROUP, registry.group_name)
            self.function.add_environment(env.APPROVAL_PREFIX, config.approval_prefix)
            data.grant_get(role, config.approval_prefix)
            data.grant_list(role, config.approval_prefix)
            data.grant_delete(role, config.approval_prefix)
            registry.grant_list_versions(self.function)
            registry.grant_reject(self.function)
        watermark.grant_get(role)  # whether the run had deployed and recorded its model before it ended
        data.grant_object(role, lease_key(config.wake_prefix), "s3:GetObject", "s3:DeleteObject")
        # The two functions themselves, not their versions (grant_invoke adds `<arn>:*`): the reaper calls $LATEST.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["lambda:InvokeFunction"],
            resource_arns=[clean_up.function.function_arn, notify.function.function_arn],
        )
        executions = executions_arn(Stack.of(self), config.name)
        iam.Grant.add_to_principal(grantee=role, actions=["states:GetExecutionHistory"], resource_arns=[executions])
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "The history of whichever execution of the pipeline's own state machine ended, known only from the "
            "event: the machine's executions are the narrowest scope that holds it.",
            applies_to=resource_finding(self, executions),
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"A run of pipeline {config.name} ended: release its lease, reap it if it ended outside "
            "the workflow",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[EXECUTION_STATUS_CHANGE],
                detail={"stateMachineArn": [state_machine.state_machine_arn], "status": sorted(EXECUTION_ENDED)},
            ),
            targets=[targets.LambdaFunction(self.function.function, retry_attempts=4)],
        )
