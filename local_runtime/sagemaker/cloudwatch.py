"""SageMaker's endpoint metrics in the local CloudWatch (moto), and the alarm evaluation moto does not do.

moto stores alarms and metric data but never evaluates an alarm: its state stays whatever SetAlarmState last
set. During a guarded rollout the hosting service asks `LocalCloudWatch.evaluate` for the state of the alarms
named in the DeploymentConfig; it computes each one from the datapoints, as CloudWatch would, and sets it with
SetAlarmState so DescribeAlarms shows it too.

Time runs on the local scale: an alarm's period (60 s for SageMaker's metrics) lasts `period x time_scale`
seconds here, like the rollout's baking periods, so one evaluation period still spans several invocations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

NAMESPACE = "AWS/SageMaker"
_GREATER = {"GreaterThanThreshold", "GreaterThanOrEqualToThreshold"}
STATISTICS = frozenset({"Sum", "Average", "Minimum", "Maximum", "SampleCount"})
COMPARISONS = frozenset({*_GREATER, "LessThanThreshold", "LessThanOrEqualToThreshold"})


@dataclass(frozen=True)
class AlarmSpec:
    """What an alarm watches and when it breaches: the fields of PutMetricAlarm the evaluation needs."""

    name: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str  # Sum, Average, Minimum, Maximum or SampleCount
    period_seconds: int
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str  # missing, notBreaching, breaching or ignore

    @classmethod
    def from_moto(cls, alarm: Any) -> AlarmSpec:
        return cls(
            name=alarm.name,
            namespace=alarm.namespace,
            metric_name=alarm.metric_name,
            dimensions=tuple(sorted((d.name, d.value) for d in alarm.dimensions)),
            statistic=alarm.statistic,
            period_seconds=int(alarm.period),
            threshold=float(alarm.threshold),
            comparison=alarm.comparison_operator,
            evaluation_periods=int(alarm.evaluation_periods),
            datapoints_to_alarm=int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
            treat_missing_data=alarm.treat_missing_data or "missing",
        )


def can_evaluate(alarm: Any) -> bool:
    """Whether `evaluate_alarm` computes this moto alarm: one metric (no metric math), a plain statistic (no
    percentile) and a static threshold (no anomaly detection band)."""
    return bool(alarm.metric_name) and alarm.statistic in STATISTICS and alarm.comparison_operator in COMPARISONS


@dataclass(frozen=True)
class AlarmState:
    name: str
    value: str  # OK or ALARM
    reason: str


def evaluate_alarm(
    alarm: AlarmSpec, datapoints: Iterable[tuple[datetime, float]], *, now: datetime, time_scale: float
) -> AlarmState:
    """The alarm's state from its metric's datapoints over the last `evaluation_periods` periods before `now`.

    Each period (scaled by `time_scale`) gives one statistic; the alarm is ALARM when at least
    `datapoints_to_alarm` of them breach the threshold. A period without data breaches only when the alarm
    treats missing data as breaching.
    """
    period = timedelta(seconds=alarm.period_seconds * time_scale)
    buckets: list[list[float]] = [[] for _ in range(alarm.evaluation_periods)]
    start = now - period * alarm.evaluation_periods
    for timestamp, value in datapoints:
        if start < timestamp <= now:
            index = min(int((timestamp - start) / period), alarm.evaluation_periods - 1)
            buckets[index].append(value)
    breaching = []
    observed = 0.0
    for values in buckets:
        if not values:
            breaching.append(alarm.treat_missing_data == "breaching")
            continue
        statistic = _statistic(alarm.statistic, values)
        breaching.append(_breaches(alarm.comparison, statistic, alarm.threshold))
        if breaching[-1]:
            observed = statistic
    count = sum(breaching)
    if count >= alarm.datapoints_to_alarm:
        return AlarmState(
            alarm.name,
            "ALARM",
            f"Threshold Crossed: {count} out of the last {alarm.evaluation_periods} datapoints "
            f"[{observed:g}] were {_words(alarm.comparison)} the threshold ({alarm.threshold:g}).",
        )
    return AlarmState(
        alarm.name, "OK", f"{count} of the last {alarm.evaluation_periods} datapoints breached the threshold."
    )


class LocalCloudWatch:
    """Publishes endpoint metrics into moto's CloudWatch backend and evaluates alarms on them."""

    def __init__(self, backend: Callable[[str], Any]) -> None:
        """`backend(region)` is moto's CloudWatch backend of the account the local runtime uses."""
        self._backend = backend

    def publish_invocation(
        self, region: str, endpoint_name: str, variant: str, *, status: int, model_latency_us: float | None
    ) -> None:
        """Record one InvokeEndpoint as SageMaker does: Invocations, 4XX/5XX errors and the model's latency."""
        dimensions = [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant}]
        # moto keeps naive UTC timestamps.
        timestamp = datetime.now(UTC).replace(tzinfo=None)
        data: list[dict[str, Any]] = [
            {"MetricName": "Invocations", "Value": 1.0, "Unit": "None"},
            {"MetricName": "Invocation4XXErrors", "Value": float(400 <= status < 500), "Unit": "None"},
            {"MetricName": "Invocation5XXErrors", "Value": float(status >= 500), "Unit": "None"},
        ]
        if model_latency_us is not None:
            data.append({"MetricName": "ModelLatency", "Value": model_latency_us, "Unit": "Microseconds"})
        for datum in data:
            datum.update(Dimensions=dimensions, Timestamp=timestamp)
        self._backend(region).put_metric_data(NAMESPACE, data)

    def missing_alarms(self, region: str, names: Sequence[str]) -> list[str]:
        """The names among `names` that no alarm has."""
        alarms = self._backend(region).alarms
        return [name for name in names if name not in alarms]

    def evaluate(self, region: str, names: Sequence[str], *, time_scale: float) -> list[AlarmState]:
        """Evaluate the named alarms now, set each one's state (SetAlarmState) when it changed, return them all."""
        backend = self._backend(region)
        now = datetime.now(UTC)
        metric_data = list(backend.metric_data)
        states = []
        for name in names:
            alarm = backend.alarms.get(name)
            if alarm is None:
                continue
            spec = AlarmSpec.from_moto(alarm)
            state = evaluate_alarm(spec, _datapoints(spec, metric_data), now=now, time_scale=time_scale)
            if alarm.state_value != state.value:
                backend.set_alarm_state(name, state.reason, json.dumps({"evaluatedBy": "local runtime"}), state.value)
            states.append(state)
        return states


def _datapoints(alarm: AlarmSpec, metric_data: Iterable[Any]) -> list[tuple[datetime, float]]:
    wanted = dict(alarm.dimensions)
    points = []
    for datum in metric_data:
        if datum.namespace != alarm.namespace or datum.name != alarm.metric_name or not hasattr(datum, "value"):
            continue
        if {d.name: d.value for d in datum.dimensions} != wanted:
            continue
        timestamp = datum.timestamp if datum.timestamp.tzinfo else datum.timestamp.replace(tzinfo=UTC)
        points.append((timestamp, float(datum.value)))
    return points


def _statistic(name: str, values: Sequence[float]) -> float:
    if name == "Sum":
        return sum(values)
    if name == "Average":
        return sum(values) / len(values)
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    if name == "SampleCount":
        return float(len(values))
    raise ValueError(f"statistic {name} is not evaluated by the local runtime")


def _breaches(comparison: str, value: float, threshold: float) -> bool:
    comparisons: dict[str, Callable[[float, float], bool]] = {
        "GreaterThanThreshold": lambda v, t: v > t,
        "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
        "LessThanThreshold": lambda v, t: v < t,
        "LessThanOrEqualToThreshold": lambda v, t: v <= t,
    }
    if comparison not in comparisons:
        raise ValueError(f"comparison {comparison} is not evaluated by the local runtime")
    return comparisons[comparison](value, threshold)


def _words(comparison: str) -> str:
    if comparison in _GREATER:
        return "greater than" + (" or equal to" if "OrEqual" in comparison else "")
    return "less than" + (" or equal to" if "OrEqual" in comparison else "")
