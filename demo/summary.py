"""What the demo shows at the end: each run's outcome, the model it trained, the endpoint it serves from, the
watermark, predictions and the zero-downtime count; printed as a table, or as JSON with --json."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from operator_cli.progress import Console
from operator_cli.state_facts import model_metrics

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime


@dataclass(frozen=True)
class RunResult:
    """One execution of the story: how it ended and where."""

    label: str
    execution: str
    status: str
    end_state: str
    seconds: float
    action: str | None = None  # DeployModel's create or update
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Prediction:
    features: str
    label: float
    score: float | None


@dataclass
class DemoSummary:
    """What the demo shows at the end, also printed as JSON with --json."""

    sagemaker: str  # "emulated" (real training and endpoints) or "moto" (instant, canned answers)
    runs: list[RunResult] = field(default_factory=list)
    training_job: str | None = None
    training_status: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    endpoint: str | None = None
    endpoint_status: str | None = None
    endpoint_config: str | None = None
    serving: str | None = None
    watermark_parameter: str | None = None
    watermark: dict[str, Any] = field(default_factory=dict)
    predictions: list[Prediction] = field(default_factory=list)
    raw_answer: str | None = None
    invocations_during_update: int = 0  # from UpdateEndpoint to the endpoint InService on the new model
    errors_during_update: int = 0
    first_update_error: str | None = None
    old_model_answers: int = 0  # of the invocations during the update, answered by the previous model
    new_model_answers: int = 0
    invocations_during_run: int = 0  # over the whole of run (c)
    errors_during_run: int = 0
    slack: str = ""
    notifications: int = 0  # NotifySlack tasks run
    notifications_posted: int = 0  # of which Slack accepted the message
    slack_messages: list[str] = field(default_factory=list)  # headers, as the local Slack server received them
    permissions: str = ""  # IAM enforcement: how many of the roles' requests were checked and denied, or off
    phases: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0

    def problems(self) -> list[str]:
        """What differs from the story the demo tells; empty when every step went as expected."""
        expected = {"a": ("SUCCEEDED", "Deployed"), "b": ("SUCCEEDED", "NoNewData"), "c": ("SUCCEEDED", "Deployed")}
        found: list[str] = []
        for run in self.runs:
            status, end = expected[run.label]
            if (run.status, run.end_state) != (status, end):
                reason = f": {run.error}: {run.cause}" if run.error else ""
                found.append(f"run ({run.label}) ended {run.status} in {run.end_state}, expected {end}{reason}")
        if len(self.runs) == 3 and self.runs[2].action != "update":
            found.append(f"run (c) should update the endpoint in place, it did {self.runs[2].action!r}")
        if self.errors_during_run:
            found.append(f"{self.errors_during_run} invocations failed during run (c): {self.first_update_error}")
        return found

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def downtime_line(summary: DemoSummary) -> str:
    text = f"{summary.invocations_during_update} invocations during the update, {summary.errors_during_update} errors"
    if summary.old_model_answers or summary.new_model_answers:
        text += f" ({summary.old_model_answers} answered by the old model, {summary.new_model_answers} by the new)"
    text += f"; {summary.invocations_during_run} during the whole run, {summary.errors_during_run} errors"
    if summary.first_update_error:
        text += f" (first: {summary.first_update_error})"
    return text


def describe_pipeline(
    runtime: LocalRuntime, summary: DemoSummary, *, endpoint_name: str, watermark_parameter: str
) -> None:
    """Fill in what the runs left: the watermark, the endpoint and what it serves, the training job and its metrics."""
    sagemaker, ssm = runtime.client("sagemaker"), runtime.client("ssm")
    watermark = json.loads(ssm.get_parameter(Name=watermark_parameter)["Parameter"]["Value"])
    summary.watermark_parameter = watermark_parameter
    summary.watermark = watermark if isinstance(watermark, dict) else {"value": watermark}
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    summary.endpoint = endpoint_name
    summary.endpoint_status = endpoint["EndpointStatus"]
    summary.endpoint_config = endpoint.get("EndpointConfigName")
    if summary.endpoint_config:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=summary.endpoint_config)
        variants = config.get("ProductionVariants", [])
        summary.serving = ", ".join(
            f"{v['VariantName']}: model {v['ModelName']}, {v['InitialInstanceCount']} {v['InstanceType']}"
            for v in variants
        )
    job = summary.watermark.get("training_job_name")
    if job:
        described = sagemaker.describe_training_job(TrainingJobName=job)
        summary.training_job = job
        summary.training_status = described.get("TrainingJobStatus")
        metrics = {m["MetricName"]: float(m["Value"]) for m in described.get("FinalMetricDataList", [])}
        summary.metrics = metrics or {k: float(v) for k, v in summary.watermark.get("metrics", {}).items()}


def print_summary(console: Console, summary: DemoSummary, old_prediction: float | None) -> None:
    """The closing table: one line per fact, a prediction before and after the update, the wall time by phase."""
    console.line()
    console.line(console.bold("Summary"))
    rows: list[tuple[str, str]] = []
    for run in summary.runs:
        action = f", endpoint {run.action}d" if run.action else ""
        rows.append((f"run ({run.label})", f"{run.status} at {run.end_state} in {run.seconds:.1f} s{action}"))
    rows.append(("training job", f"{summary.training_job} ({summary.training_status})"))
    if summary.metrics:
        shown = model_metrics(summary.metrics) or summary.metrics
        rows.append(("metrics", ", ".join(f"{name} {value:.4g}" for name, value in shown.items())))
    rows.append(("endpoint", f"{summary.endpoint}: {summary.endpoint_status} on config {summary.endpoint_config}"))
    if summary.serving:
        rows.append(("serving", summary.serving))
    newest = summary.watermark.get("newest_data_date")
    files = summary.watermark.get("file_count")
    rows.append(("watermark", f"{summary.watermark_parameter}: newest data {newest} ({files} files trained on)"))
    scored = [p for p in summary.predictions if p.score is not None]
    if scored:
        first = scored[0]
        before = f" (before the update: {old_prediction:.1f})" if old_prediction is not None else ""
        rows.append(("prediction", f"{first.score:.1f} for a held-out row whose true value is {first.label:g}{before}"))
        others = " · ".join(f"{p.score:.1f} (true {p.label:g})" for p in scored[1:])
        error = statistics.fmean(abs(p.label - (p.score or 0.0)) for p in scored)
        rows.append(("", f"other held-out rows: {others}; mean absolute error {error:.1f}"))
    else:
        rows.append(("prediction", f"no Linear Learner JSON from the endpoint: {summary.raw_answer!r:.80}"))
    rows.append(("zero downtime", downtime_line(summary)))
    rows.append(
        ("slack", f"{summary.notifications_posted} of {summary.notifications} notifications posted to {summary.slack}")
    )
    if summary.permissions:
        rows.append(("permissions", summary.permissions))
    phases = ", ".join(f"{name} {seconds:.1f}" for name, seconds in summary.phases.items())
    rows.append(("wall time", f"{summary.total_seconds:.1f} s ({phases})"))
    for label, value in rows:
        console.line(f"  {label:<14} {value}")
