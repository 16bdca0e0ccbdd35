"""How long the local runtime takes to bring a SageMaker state-change event to its rule's Lambda target.

PutEvents as the SageMaker emulator sends it, moto's rule matching, the local event bus's delivery thread and
the in-process invoke: what the local runtime's wake-ups of the wait/poll loops cost. A stand-in listener notes
the arrival (the recorder lives in this module so that it is the same object whether the bench runs as __main__).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import boto3

from local_runtime import event_bus
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws

_woken_at: list[float] = []
_woken = threading.Event()


def record_wake(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A stand-in listener for the latency measurement: notes when the event arrived."""
    _woken_at.append(time.perf_counter())
    _woken.set()
    return {}


def local_event_latencies(samples: int = 20) -> list[float]:
    """Seconds from a training job state change's PutEvents to its rule's Lambda target being invoked, locally."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    region, arn = "us-east-1", f"arn:aws:lambda:us-east-1:{event_bus.ACCOUNT}:function:listener"
    with LocalAws() as aws:
        aws.register_function(LocalFunction("listener", arn, "bench.event_latency.record_wake"))
        events = boto3.client(
            "events",
            endpoint_url=aws.endpoint_url,
            region_name=region,
            aws_access_key_id="l",
            aws_secret_access_key="l",
        )
        pattern = {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"]}
        events.put_rule(Name="wake", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="wake", Targets=[{"Id": "listener", "Arn": arn}])
        latencies = []
        for number in range(samples):
            _woken.clear()
            detail = {"TrainingJobName": f"bench-{number}", "TrainingJobStatus": "Completed"}
            entry = {"Source": "aws.sagemaker", "DetailType": pattern["detail-type"][0], "Detail": json.dumps(detail)}
            sent = time.perf_counter()
            event_bus.put_events([entry], region=region)
            if not _woken.wait(10):
                raise RuntimeError("the local event bus never delivered the event")
            latencies.append(_woken_at[-1] - sent)
        aws.events.wait_until_idle()
    return latencies
