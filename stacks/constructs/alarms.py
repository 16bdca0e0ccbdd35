"""The pipeline's operational alarms, and the optional SNS topic that emails them to people outside Slack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract.metrics import METRICS_NAMESPACE, SLACK_NOTIFICATION_FAILED, metric_dimensions
from stacks.compliance import acknowledge
from stacks.config import AlertsConfig, PipelineConfig
from stacks.constructs.endpoint_instances import at_max_instances

STATES_NAMESPACE = "AWS/States"
# Runs are rare (daily by default) and every failure matters: one event in five minutes raises the alarm, and a
# period without data (no run) is fine, not unknown.
ALARM_PERIOD = Duration.minutes(5)
ALARM_NAME = "{pipeline}-{kind}"
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
NO_TOPIC_REASON = (
    "No alerts.email is configured for this pipeline, so there is no SNS topic to notify: the alarm shows in the "
    "CloudWatch console and on the pipeline's dashboard, and Slack already carries each failed run's report. "
    "Setting alerts.email adds a topic and makes it every alarm's action."
)


@dataclass(frozen=True)
class _Watch:
    """One alarm: what it counts, and what it tells the operator to do."""

    kind: str
    metric: cloudwatch.IMetric
    description: str


class AlertTopic(Construct):
    """An SNS topic, encrypted with the pipeline's key and TLS-only, that emails the configured addresses.

    Each address receives a confirmation email from SNS first; nothing is delivered until it is confirmed.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, pipeline: str, alerts: AlertsConfig, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"Retraining pipeline {pipeline} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        for address in alerts.email:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        # CloudWatch publishes as its service principal; on behalf of this pipeline's alarms only (the
        # confused-deputy conditions), and it must be able to use the key the topic is encrypted with.
        stack = Stack.of(self)
        conditions = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=ALARM_NAME.format(pipeline=pipeline, kind="*"),
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        }
        principal = iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisPipelinesAlarms",
                principals=[principal],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=conditions,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisPipelinesAlarmsToPublishToTheEncryptedTopic",
                principals=[principal],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                # In a key policy, "*" is the key itself.
                resources=["*"],
                conditions=conditions,
            )
        )


class PipelineAlarms(Construct):
    """Alarms on what an operator must act on: runs that failed, timed out or were stopped, Slack that could not
    be told, and errors of any of the pipeline's functions (one alarm each, so the alarm names the function).

    The endpoint's own health during a rollout has its alarms already (RolloutAlarms); none is repeated here.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        state_machine: sfn.StateMachine,
        functions: Mapping[str, lambda_.IFunction],
        topic: sns.ITopic | None = None,
        schedule_dead_letters: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._pipeline = config.name
        name = state_machine.state_machine_name
        console = "the Step Functions console"
        watches = [
            _Watch(
                "runs-failed",
                self._executions("ExecutionsFailed", state_machine),
                f"A run of pipeline {config.name} failed. Open the failed execution of state machine {name} in "
                f"{console}: its last state's input holds the failure report (stage, error, cause), the same one "
                "Slack received. Fix the cause (data, configuration, quota), then start a run by hand or let the "
                "schedule retry: the watermark did not move.",
            ),
            _Watch(
                "runs-timed-out",
                self._executions("ExecutionsTimedOut", state_machine),
                f"A run of pipeline {config.name} exceeded its execution timeout and was ended by Step Functions, "
                f"so no clean-up ran. In {console}, find the state it was in; stop any training job or endpoint "
                "update it left, then start a run again.",
            ),
            _Watch(
                "runs-aborted",
                self._executions("ExecutionsAborted", state_machine),
                f"A run of pipeline {config.name} was stopped (StopExecution), so no clean-up ran and Slack was "
                f"not told. If that was not intended, see who stopped it in CloudTrail; in {console} find the "
                "state it was in and stop any training job it had started.",
            ),
        ]
        if config.slack is not None:
            watches.append(
                _Watch(
                    "slack-delivery-failed",
                    cloudwatch.Metric(
                        namespace=METRICS_NAMESPACE,
                        metric_name=SLACK_NOTIFICATION_FAILED,
                        dimensions_map=metric_dimensions("notify_slack", config.name),
                        statistic=cloudwatch.Stats.SUM,
                        period=ALARM_PERIOD,
                    ),
                    f"Slack did not take a message of pipeline {config.name} for channel {config.slack.channel}. "
                    "The NotifySlack function's log says why (a warning with the Slack error): usually a revoked "
                    f"token in secret {config.slack.token_secret_name}, or a bot not invited to the channel. The "
                    "run itself went on.",
                )
            )
        watches.extend(_scaling_watches(config))
        if schedule_dead_letters is not None:
            watches.append(_schedule_dead_letters_watch(config, schedule_dead_letters))
        for step, function in functions.items():
            watches.append(
                _Watch(
                    f"{step}-errors",
                    function.metric_errors(statistic=cloudwatch.Stats.SUM, period=ALARM_PERIOD),
                    f"The {step} function of pipeline {config.name} raised an error. Its log group holds the "
                    "stack trace. Step Functions retries transient errors and routes the rest to the failure "
                    "report, so check whether the run went on: if it did, a retry absorbed the error.",
                )
            )
        self.alarms = [self._alarm(watch) for watch in watches]
        for alarm in self.alarms:
            if topic is None:
                acknowledge(alarm, "NIST.800.53.R5-CloudWatchAlarmAction", NO_TOPIC_REASON)
                continue
            action = actions.SnsAction(topic)
            alarm.add_alarm_action(action)
            # Email readers see no console: the OK message tells them the problem is over.
            alarm.add_ok_action(action)

    @staticmethod
    def _executions(metric_name: str, state_machine: sfn.StateMachine) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=STATES_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"StateMachineArn": state_machine.state_machine_arn},
            statistic=cloudwatch.Stats.SUM,
            period=ALARM_PERIOD,
        )

    def _alarm(self, watch: _Watch) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            watch.kind,
            alarm_name=ALARM_NAME.format(pipeline=self._pipeline, kind=watch.kind),
            alarm_description=watch.description,
            metric=watch.metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


def _scaling_watches(config: PipelineConfig) -> list[_Watch]:
    """An autoscaled endpoint serving at its maximum (stacks/constructs/endpoint_instances.py); none otherwise."""
    scaling = config.endpoint.autoscaling
    if scaling is None:
        return []
    return [
        _Watch(
            "endpoint-at-max-instances",
            at_max_instances(config),
            f"Endpoint {config.endpoint.name} of pipeline {config.name} served a five-minute period on its "
            f"autoscaling maximum of {scaling.max} instances (endpoint.autoscaling.max): it cannot scale "
            "further, so invocations per instance may stay above the target and latency rise. Check the "
            "endpoint's invocations and latency on the dashboard; raise the maximum (or the instance type) "
            "if the load is lasting.",
        )
    ]


def _schedule_dead_letters_watch(config: PipelineConfig, queue: sqs.IQueue) -> _Watch:
    """A tick of the schedule that EventBridge Scheduler could not deliver, its retries spent: no run started."""
    return _Watch(
        "schedule-dead-letters",
        queue.metric_approximate_number_of_messages_visible(statistic=cloudwatch.Stats.MAXIMUM, period=ALARM_PERIOD),
        f"EventBridge Scheduler could not start a scheduled run of pipeline {config.name} (schedule "
        f"{config.schedule}, {config.schedule_timezone}) and gave up after its retries: the tick is in queue "
        f"{queue.queue_name}. Its message attributes say why (ERROR_CODE, ERROR_MESSAGE); its body is the run "
        "input, scheduled_time included. Fix the cause (the role, a deleted state machine, a quota), start a run "
        "with that input by hand so it trains on the same window, then delete the message.",
    )
