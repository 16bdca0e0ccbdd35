"""What one real run of a pipeline uses, measured in the local runtime: the usage the monthly cost bench prices.

The pipeline is synthesized from a config, deployed into the local runtime behind a request counter, and run twice
on new data: the first run creates the endpoint; the second is the daily run being measured (it trains, scores
the new and the production model on the holdout, deploys with a rollout and smoke-tests). Counted for that run:
the states entered (Step Functions bills each transition), every Lambda invocation with its duration, memory and
log bytes (local_runtime.lambda_invoke.InvocationReport), every AWS request the local AWS answered, by service and
operation (bench.aws_requests), the bytes of the execution's history (the state machine logs every event with its
data), the SageMaker jobs, and the custom metrics the functions' EMF lines published. From the template: the
alarms, dashboards, KMS keys, queues and schedules the stack keeps all month.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from bench.aws_requests import RequestCounter
from bench.counts import Counts
from local_runtime.deploy import run_execution
from local_runtime.runtime import LocalRuntime, SlackTarget, synthesize
from local_runtime.slack_api import LocalSlackApi

SLACK_TOKEN = "xoxb-cost-bench"
SLACK_CHANNEL = "#ml-costs"
# The states of the two wait loops the monthly figures re-size to a 2-hour training job and a 10-minute deployment.
LOOP_WAITS = ("WaitForTraining", "WaitForDeployment")
LOOP_CHECKS = ("GetTrainingStatus", "GetEndpointStatus")
LOOP_CHOICES = ("TrainingStatus", "EndpointStatus")
# Resources the stack keeps all month, by CloudFormation type.
STANDING = (
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::KMS::Key",
    "AWS::SQS::Queue",
    "AWS::Scheduler::Schedule",
    "AWS::Events::Rule",
)


@dataclass(frozen=True)
class FunctionUsage:
    """One function's invocations in the run: how many, their billed GB-seconds and log bytes."""

    invocations: int = 0
    gb_seconds: float = 0.0
    log_bytes: int = 0

    def plus(self, invocations: int, gb_seconds: float, log_bytes: int) -> FunctionUsage:
        return FunctionUsage(self.invocations + invocations, self.gb_seconds + gb_seconds, self.log_bytes + log_bytes)

    def mean(self) -> FunctionUsage:
        """One average invocation."""
        n = max(self.invocations, 1)
        return FunctionUsage(1, self.gb_seconds / n, self.log_bytes // n)


@dataclass(frozen=True)
class RunUsage:
    """One measured run and the stack's standing resources."""

    states: list[str]
    functions: dict[str, FunctionUsage]  # by step (the handler's package: "get_status", "check_data", ...)
    requests: Counts
    history_bytes: int
    history_events: int
    jobs: dict[str, int]  # training, processing, transform: jobs the run started
    custom_metrics: int  # distinct (namespace, name, dimensions) the functions published
    standing: dict[str, int] = field(default_factory=dict)  # CloudFormation type -> count in the template
    lambda_memory_mb: dict[str, int] = field(default_factory=dict)  # by step

    def loop_counts(self) -> tuple[int, int, int]:
        """(waits, checks, choices) the run's training and deployment loops made."""
        states = Counter(self.states)
        return (
            sum(states[s] for s in LOOP_WAITS),
            sum(states[s] for s in LOOP_CHECKS),
            sum(states[s] for s in LOOP_CHOICES),
        )


def _rows(seed: int, n: int = 300) -> bytes:
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.1, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


def measure_run(config: dict[str, Any]) -> RunUsage:
    """Deploy `config` (one pipeline) locally, run it twice, and measure the second run."""
    stack_name = f"SageMakerRetraining-{config['name']}"
    template = synthesize({"pipelines": [config]})[stack_name]
    counter = RequestCounter()
    runtime = LocalRuntime()
    serve = runtime.aws._wsgi
    setattr(runtime.aws, "_wsgi", lambda app: counter.wrap(serve(app)))  # noqa: B010  (in front of the server it starts)
    today = datetime.now(UTC).date()
    with (
        runtime,
        LocalSlackApi(valid_token=SLACK_TOKEN, channels=(SLACK_CHANNEL,)) as slack,
        contextlib.redirect_stdout(io.StringIO()),  # the functions' log lines: counted, not shown
    ):
        pipeline = runtime.deploy_template(
            template, stack_name=stack_name, slack=SlackTarget(api_url=slack.base_url, token=SLACK_TOKEN)
        )
        bucket = pipeline.stack.outputs["DataBucketName"]
        s3, sagemaker = runtime.client("s3"), runtime.client("sagemaker")
        for run, offsets in enumerate(((3, 2, 1), (0,))):
            for offset in offsets:
                day = (today - timedelta(days=offset)).isoformat()
                s3.put_object(Bucket=bucket, Key=f"{config['data_prefix']}/{day}.csv", Body=_rows(offset))
            jobs_before = _job_counts(sagemaker)
            requests_before, reports_before = counter.counts(), len(runtime.aws.functions.reports)
            record = run_execution(runtime.aws, pipeline, name=f"cost-{run}", timeout_seconds=600)
            requests = counter.counts().minus(requests_before)  # before the bench's own calls below
            if record.status != "SUCCEEDED":
                raise RuntimeError(f"run {run + 1} of {config['name']} ended {record.status}: {record.cause}")
        steps = {f.name: f.handler.split(".")[1] for f in pipeline.stack.functions.values()}
        functions: dict[str, FunctionUsage] = {}
        for report in runtime.aws.functions.reports[reports_before:]:
            step = steps.get(report.function, report.function)
            functions[step] = functions.get(step, FunctionUsage()).plus(1, report.billed_gb_seconds, report.log_bytes)
        jobs = {kind: count - jobs_before[kind] for kind, count in _job_counts(sagemaker).items()}
        metrics = _custom_metrics(runtime.client("cloudwatch"))
        return RunUsage(
            states=record.states_entered(),
            functions=functions,
            requests=requests,
            history_bytes=sum(len(json.dumps(event, default=str)) for event in record.history),
            history_events=len(record.history),
            jobs=jobs,
            custom_metrics=metrics,
            standing=_standing(template),
            lambda_memory_mb={steps[f.name]: f.memory_mb for f in pipeline.stack.functions.values()},
        )


def _job_counts(sagemaker: Any) -> dict[str, int]:
    return {
        "training": len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]),
        "processing": len(sagemaker.list_processing_jobs(MaxResults=100)["ProcessingJobSummaries"]),
        "transform": len(sagemaker.list_transform_jobs(MaxResults=100)["TransformJobSummaries"]),
    }


def _custom_metrics(cloudwatch: Any) -> int:
    """Metrics outside AWS's own namespaces: each name and dimension set is one custom metric on the bill."""
    seen = set()
    for page in cloudwatch.get_paginator("list_metrics").paginate():
        for metric in page["Metrics"]:
            if not metric["Namespace"].startswith("AWS/"):
                dimensions = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
                seen.add((metric["Namespace"], metric["MetricName"], dimensions))
    return len(seen)


def _standing(template: dict[str, Any]) -> dict[str, int]:
    kinds = Counter(resource["Type"] for resource in template["Resources"].values())
    return {kind: kinds[kind] for kind in STANDING}
