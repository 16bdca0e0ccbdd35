"""The CloudWatch alarms a guarded rollout watches: SageMaker rolls the endpoint back when one fires."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract.names import VARIANT_NAME
from stacks.compliance import acknowledge
from stacks.config import ROLLOUT_ALARM_PERIOD_SECONDS, RolloutConfig

ALARM_NAME = "{pipeline}-rollout-{kind}"
SAGEMAKER_NAMESPACE = "AWS/SageMaker"
MICROSECONDS_PER_MS = 1_000  # SageMaker reports ModelLatency in microseconds
ALARM_ACTION_REASON = (
    "SageMaker itself acts on these alarms during a rollout: it rolls the deployment back. The run then fails as "
    "DeploymentFailed and NotifyFailure posts the rollback's reason to Slack, so an alarm action would only send "
    "the same news twice; outside a rollout the alarms gate nothing."
)


class RolloutAlarms(Construct):
    """One alarm on the endpoint's 5xx answers and, unless turned off, one on its model latency.

    The metrics carry the endpoint and the variant DeployModel names, so the alarms see the old and the new
    fleet together, as SageMaker's guardrail examples do. A minute without invocations breaches nothing: a
    quiet endpoint must not roll back.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, pipeline: str, endpoint_name: str, rollout: RolloutConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self._pipeline, self._rollout = pipeline, rollout
        self._dimensions = {"EndpointName": endpoint_name, "VariantName": VARIANT_NAME}
        thresholds = rollout.alarms
        self.alarms: list[cloudwatch.Alarm] = [
            self._alarm(
                "Errors5xx",
                "5xx-errors",
                "Invocation5XXErrors",
                cloudwatch.Stats.SUM,
                thresholds.max_5xx_errors,
                f"Endpoint {endpoint_name} answered more than {thresholds.max_5xx_errors} 5xx errors a minute",
            )
        ]
        if thresholds.max_model_latency_ms is not None:
            self.alarms.append(
                self._alarm(
                    "ModelLatency",
                    "model-latency",
                    "ModelLatency",
                    cloudwatch.Stats.AVERAGE,
                    thresholds.max_model_latency_ms * MICROSECONDS_PER_MS,
                    f"Endpoint {endpoint_name}'s model took more than {thresholds.max_model_latency_ms} ms on "
                    "average in a minute",
                )
            )
        for alarm in self.alarms:
            acknowledge(alarm, "NIST.800.53.R5-CloudWatchAlarmAction", ALARM_ACTION_REASON)

    def _alarm(
        self, construct_id: str, kind: str, metric_name: str, statistic: str, threshold: float, breach: str
    ) -> cloudwatch.Alarm:
        periods = self._rollout.alarms.evaluation_periods
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=ALARM_NAME.format(pipeline=self._pipeline, kind=kind),
            alarm_description=f"{breach} during a rollout: SageMaker rolls the deployment back.",
            metric=cloudwatch.Metric(
                namespace=SAGEMAKER_NAMESPACE,
                metric_name=metric_name,
                dimensions_map=self._dimensions,
                statistic=statistic,
                period=Duration.seconds(ROLLOUT_ALARM_PERIOD_SECONDS),
            ),
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    @property
    def alarm_names(self) -> list[str]:
        return [alarm.alarm_name for alarm in self.alarms]

    def grant_describe(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow reading these alarms: UpdateEndpoint with AutoRollbackConfiguration needs cloudwatch:DescribeAlarms."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["cloudwatch:DescribeAlarms"],
            resource_arns=[alarm.alarm_arn for alarm in self.alarms],
        )
