"""How long a `.sync` SageMaker task of the local Step Functions takes to go on once its job has ended.

A state machine of one `arn:aws:states:::sagemaker:createTrainingJob.sync` task trains the built-in Linear Learner on
a tiny CSV, again and again. The lag runs from the moment the emulator ends the job (its Describe answer says
Completed and it tells the waiting task: local_runtime.sagemaker.job_ends) to the task's TaskSucceeded event in the
execution's history. Target (issue 22): under 100 ms. moto's own `.sync` loop (for the services it runs) reads the
job every 0.5 s, so 250 ms on average; AWS follows the job through EventBridge with a slow poll behind.
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from bench.report import machine_line, table, verdict
from local_runtime.sagemaker import job_ends
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws

TARGET_SECONDS = 0.1
REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET = "sync-lag"
LINEAR_LEARNER = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
ROWS = "".join(f"{2 * x + 1},{x}\n" for x in range(40)).encode()


def definition() -> dict[str, Any]:
    job = {
        "TrainingJobName.$": "$.Name",
        "AlgorithmSpecification": {"TrainingImage": LINEAR_LEARNER, "TrainingInputMode": "File"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
        "HyperParameters": {"predictor_type": "regressor"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    task = {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "Parameters": job}
    return {"StartAt": "Train", "States": {"Train": {**task, "End": True}}}


class _EndClock:
    """Notes when the emulator tells each job's end (wall-clock time, as the history's timestamps are)."""

    def __init__(self) -> None:
        self.ended_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._told = job_ends.JOB_ENDS.ended

    def __enter__(self) -> _EndClock:
        def ended(region: str, kind: str, name: str) -> None:
            with self._lock:
                self.ended_at[name] = time.time()
            self._told(region, kind, name)

        job_ends.JOB_ENDS.ended = ended  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        vars(job_ends.JOB_ENDS).pop("ended")  # the class's method again


def sync_lags(samples: int = 10) -> list[float]:
    """Seconds from each job's end to its `.sync` task's TaskSucceeded event."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as workdir, LocalAws(sagemaker=LocalSageMaker(Path(workdir))) as aws:
        s3, sfn = _client(aws, "s3"), _client(aws, "stepfunctions")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="train/rows.csv", Body=ROWS)
        machine = sfn.create_state_machine(
            name="sync-lag", definition=json.dumps(definition()), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
        )["stateMachineArn"]
        lags = []
        with _EndClock() as clock:
            for number in range(samples):
                name = f"sync-lag-{number}"
                execution = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({"Name": name}))
                succeeded = _task_succeeded(sfn, execution["executionArn"])
                lags.append(succeeded.timestamp() - clock.ended_at[name])
    return lags


def main(argv: Sequence[str] | None = None) -> int:
    samples = int(argv[0]) if argv else 10
    lags = sync_lags(samples)
    median, worst = statistics.median(lags), max(lags)
    print(f"local Step Functions: a createTrainingJob.sync task's wake-up after its job ends, {samples} jobs")
    print(machine_line())
    rows = [[f"{samples} jobs", f"{median * 1000:.1f}", f"{worst * 1000:.1f}", f"{TARGET_SECONDS * 1000:.0f}"]]
    print(table(["lag", "median ms", "max ms", "target ms"], rows))
    holds = worst < TARGET_SECONDS
    print(f"\nwake-up lag under {TARGET_SECONDS * 1000:.0f} ms: {verdict(holds)}")
    return 0 if holds else 1


def _task_succeeded(sfn: Any, execution: str, timeout_seconds: float = 60.0) -> datetime:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            if described["status"] != "SUCCEEDED":
                raise RuntimeError(f"{execution}: {described['status']} {described.get('cause')}")
            events = sfn.get_execution_history(executionArn=execution)["events"]
            succeeded: datetime = next(e for e in events if e["type"] == "TaskSucceeded")["timestamp"]
            return succeeded
        time.sleep(0.2)  # the bench's own wait for the execution's end: not what it measures
    raise RuntimeError(f"{execution} still running after {timeout_seconds} s")


def _client(aws: LocalAws, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=aws.endpoint_url, region_name=REGION, aws_access_key_id="l", aws_secret_access_key="l"
    )


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
