"""The local CloudWatch's missing half: the functions' EMF metrics put into moto, and alarms evaluated on a clock.

moto stores metric data and alarms but never evaluates an alarm. CloudWatch evaluates an alarm whose period is a
minute or more once a minute ("If the alarm period is 10 seconds or 30 seconds, the alarm is evaluated every 10
seconds", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html; every minute
otherwise). `AlarmClock` does it every minute of local time (60 s x time_scale: a second in the local runtime,
whose alarm periods are scaled alike, so a 5-minute period lasts 5 s), with the evaluation the guarded rollouts
use (local_runtime.sagemaker.cloudwatch.evaluate_alarm), and sets each state with SetAlarmState so DescribeAlarms
shows it.

Which alarms: those on namespaces outside `AWS/`, whose metrics come from the account's own code (EMF lines,
PutMetricData), all of which reach the local CloudWatch. AWS services' own metrics (AWS/States, AWS/Lambda) are
not published locally: their alarms keep the state they have rather than read that silence as OK. AWS/SageMaker's,
which the emulator publishes, are evaluated by the guarded rollout that names them (local_runtime.sagemaker.traffic).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from local_runtime.emf import ExtractedMetric, metric_data
from local_runtime.sagemaker.cloudwatch import AlarmState, LocalCloudWatch, can_evaluate

AWS_NAMESPACE_PREFIX = "AWS/"
SECONDS_BETWEEN_EVALUATIONS = 60  # CloudWatch's, for alarms with a period of a minute or more

_log = logging.getLogger(__name__)


def publish_metrics(account: str, region: str, metrics: Sequence[ExtractedMetric]) -> None:
    """Put extracted EMF metrics into the local CloudWatch of `account` and `region`, as CloudWatch Logs does."""
    backend = cloudwatch_backends[account][region]
    for namespace, data in metric_data(metrics).items():
        backend.put_metric_data(namespace, data)


def evaluated_by_clock(alarm: Any) -> bool:
    """Whether the clock evaluates this moto alarm: on the account's own metrics, and computable."""
    namespace = alarm.namespace or ""
    return not namespace.startswith(AWS_NAMESPACE_PREFIX) and can_evaluate(alarm)


def _of(backend: Any) -> LocalCloudWatch:
    return LocalCloudWatch(lambda _region: backend)


class AlarmClock:
    """Evaluates the alarms on the account's own metrics once a minute of local time, in every account and region."""

    def __init__(self, *, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = time_scale
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval_seconds(self) -> float:
        return SECONDS_BETWEEN_EVALUATIONS * self.time_scale

    def evaluate(self) -> list[AlarmState]:
        """Evaluate every such alarm now, set the states that changed, and return them all."""
        states: list[AlarmState] = []
        for regions in list(cloudwatch_backends.values()):
            for region, backend in list(regions.items()):
                names = [name for name, alarm in list(backend.alarms.items()) if evaluated_by_clock(alarm)]
                if names:
                    states.extend(_of(backend).evaluate(region, names, time_scale=self.time_scale))
        return states

    def start(self) -> AlarmClock:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-alarm-clock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.evaluate()
            except Exception:  # one bad evaluation must not stop the clock (moto reset under it, a racing delete)
                _log.warning("alarm evaluation failed", exc_info=True)
