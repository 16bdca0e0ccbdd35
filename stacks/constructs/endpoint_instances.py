"""An autoscaled endpoint's instance count as CloudWatch can chart it, for the dashboard and the alarms.

CloudWatch has no instance-count metric of a real-time variant, but SageMaker's InvocationsPerInstance is "the number
of invocations sent to a model, normalized by InstanceCount in each ProductionVariant. 1/numberOfInstances is sent as
the value on each request" (SageMaker API reference, ScalingPolicyMetric): over a period, Sum(Invocations) /
Sum(InvocationsPerInstance) is the number of instances that served it. It is defined only while the endpoint has
traffic; GetStatus records the count itself (EndpointInstances) whenever a run's deployment goes into service.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from contract.metrics import ENDPOINT_INSTANCES, METRICS_NAMESPACE, metric_dimensions
from contract.names import VARIANT_NAME
from stacks.config import PipelineConfig

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INSTANCES_PERIOD = Duration.minutes(5)


def serving_instances(config: PipelineConfig, *, period: Duration = INSTANCES_PERIOD) -> cloudwatch.MathExpression:
    """The instances that served the endpoint's invocations in each period (no value without traffic)."""
    return cloudwatch.MathExpression(
        expression="invocations / per_instance",
        using_metrics={
            "invocations": _invocations(config, "Invocations"),
            "per_instance": _invocations(config, "InvocationsPerInstance"),
        },
        label="instances serving (Invocations / InvocationsPerInstance)",
        period=period,
    )


def at_max_instances(config: PipelineConfig) -> cloudwatch.MathExpression:
    """1 in a period the endpoint served at its autoscaling maximum, else 0."""
    scaling = config.endpoint.autoscaling
    if scaling is None:
        raise ValueError(f"pipeline {config.name!r}: the endpoint does not scale")
    return cloudwatch.MathExpression(
        expression=f"IF(instances >= {scaling.max}, 1, 0)",
        using_metrics={"instances": serving_instances(config)},
        label=f"at the maximum of {scaling.max} instances",
        period=INSTANCES_PERIOD,
    )


def deployed_instances(config: PipelineConfig, *, period: Duration) -> cloudwatch.Metric:
    """The count GetStatus saw when a run's deployment went into service."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=ENDPOINT_INSTANCES,
        dimensions_map=metric_dimensions("get_status", config.name),
        statistic=cloudwatch.Stats.MAXIMUM,
        period=period,
        label="instances at each deployment (GetStatus)",
    )


def _invocations(config: PipelineConfig, metric_name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=SAGEMAKER_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"EndpointName": config.endpoint.name, "VariantName": VARIANT_NAME},
        statistic=cloudwatch.Stats.SUM,
        period=INSTANCES_PERIOD,
    )
