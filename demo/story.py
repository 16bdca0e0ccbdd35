"""The demo: the synthesized stack in the local runtime, three scheduled runs, a live view and a summary.

(a) the schedule fires on six days of data: train and deploy; (b) it fires again: no new data; (c) a new day
arrives and it fires once more: retrain and update the endpoint while it keeps answering. Everything comes
from the CDK app's synthesized template; only local values (the poll interval, the AWS and Slack
endpoints) are substituted.
"""

from __future__ import annotations

import contextlib
import json
import queue
import statistics
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import boto3
from botocore.config import Config

from demo.data import DemoDataset, LabeledRow, demo_dataset, today_utc
from local_runtime.runtime import LOCAL_SLACK_TOKEN, QUIET_FUNCTIONS
from local_runtime.slack_api import LocalSlackApi, ReceivedMessage, render_message
from local_runtime.terminal import show_message, slack_channels
from operator_cli.progress import (
    Console,
    StateRun,
    follow_execution,
    model_metrics,
    state_runs,
    states_summary,
)

DEMO_CONFIG_FILE = "demo/pipelines.json"  # relative to the project root, as the app reads it
RUN_TIMEOUT_SECONDS = 180
_INVOKE_PAUSE_SECONDS = 0.05


class DemoError(Exception):
    """The demo could not run its story; the message says which step and why."""


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


@dataclass(frozen=True)
class _Invocation:
    at: float  # wall clock, comparable with the execution history's timestamps
    score: float | None
    error: str | None


@dataclass
class _Invoker:
    """Invokes the endpoint in a loop from a thread, recording every answer and error, until stopped."""

    client: Any
    endpoint: str
    body: str
    calls: list[_Invocation] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="demo-invoker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def between(self, start: float, end: float) -> list[_Invocation]:
        return [call for call in self.calls if start <= call.at <= end]

    def _loop(self) -> None:
        while not self._stop.is_set():
            at = time.time()
            try:
                answer = self.client.invoke_endpoint(
                    EndpointName=self.endpoint, Body=self.body.encode(), ContentType="text/csv"
                )["Body"].read()
                self.calls.append(_Invocation(at=at, score=_first_score(answer), error=None))
            except Exception as error:  # every failure is downtime, whatever its type
                self.calls.append(_Invocation(at=at, score=None, error=f"{type(error).__name__}: {error}"))
            self._stop.wait(_INVOKE_PAUSE_SECONDS)


def run_demo(
    console: Console,
    *,
    emulate_sagemaker: bool = True,
    slack_token: str | None = None,
    slack_channel: str | None = None,
    quiet_functions: bool = True,
    today: date | None = None,
) -> DemoSummary:
    """Run the story and return its summary; raise DemoError when a step cannot run at all.

    `slack_token` posts to real Slack (the channel from the configuration, or `slack_channel`); without it
    a local Slack server receives the messages and the console shows them. `quiet_functions` keeps the
    functions' JSON logs and metrics out of the output; the Lambdas' loggers and metrics are process-wide,
    so a caller that runs other handlers in the same process afterwards (a test) may keep them as they are.
    """
    from local_runtime.deploy import fire_schedule
    from local_runtime.runtime import LocalRuntime, SlackTarget, silence_jsii, synthesize

    started = time.monotonic()
    summary = DemoSummary(sagemaker="emulated" if emulate_sagemaker else "moto")
    phases = _Phases(summary.phases)
    end = today or today_utc()

    console.line(console.bold("SageMaker continuous training, on this machine"))
    with ExitStack() as cleanup:
        with phases("boot"):
            runtime = cleanup.enter_context(LocalRuntime(emulate_sagemaker=emulate_sagemaker))
        # Loading moto's services and boto3's models takes seconds: done while the CDK app synthesizes.
        warm_up = threading.Thread(target=_warm_up, args=(runtime,), name="demo-warm-up", daemon=True)
        warm_up.start()
        with phases("synth"):
            silence_jsii()
            templates = synthesize({"config_file": DEMO_CONFIG_FILE})
        stack_name, template = _single_stack(templates)
        console.line(f"  synthesized the CDK app: stack {stack_name}  ({summary.phases['synth']:.1f} s)")
        with phases("deploy"):
            warm_up.join()
            slack = _start_slack(console, template, token=slack_token, channel=slack_channel)
            cleanup.callback(slack.stop)
            environment = dict(QUIET_FUNCTIONS) if quiet_functions else {}
            if slack.channel_override:
                environment["SLACK_CHANNEL"] = slack.channel_override
            pipeline = runtime.deploy_template(
                template,
                stack_name=stack_name,
                slack=SlackTarget(api_url=slack.api_url, token=slack.token),
                function_environment=environment,
            )
        settings = _Settings.of(pipeline.stack.functions.values(), pipeline.stack.outputs)
        summary.slack = slack.description(settings.channel)
        console.line(f"  local AWS on {runtime.endpoint_url} ({summary.sagemaker} SageMaker); Slack: {summary.slack}")
        console.line(
            f"  deployed {len(pipeline.stack.functions)} functions and state machine "
            f"{pipeline.state_machine_arn.rsplit(':', 1)[-1]}, bucket {settings.bucket}  "
            f"({summary.phases['deploy']:.1f} s)"
        )
        data = demo_dataset(days=settings.window_days, end=end, prefix=settings.data_prefix)
        s3, sfn = runtime.client("s3"), runtime.client("stepfunctions")
        with phases("upload"):
            for daily in data.first_days:
                s3.put_object(Bucket=settings.bucket, Key=daily.key, Body=daily.body)
        first, last = data.first_days[0], data.first_days[-1]
        console.line(
            f"  uploaded {len(data.first_days)} days of scikit-learn's diabetes data ({first.day} to {last.day}, "
            f"{sum(f.rows for f in data.first_days)} rows) to s3://{settings.bucket}/{settings.data_prefix}/"
        )

        def scheduled_run(label: str, title: str, expected_end: str) -> list[StateRun]:
            console.line()
            console.line(console.bold(f"({label}) {title}"))
            with phases(f"run_{label}"):
                arn = fire_schedule(runtime.aws, pipeline, name=f"scheduled-{label}-{int(time.time())}")
                try:
                    record = follow_execution(
                        sfn, arn, console=console, timeout_seconds=RUN_TIMEOUT_SECONDS, after_state=slack.show_posted
                    )
                except TimeoutError as error:
                    raise DemoError(f"run ({label}): {error}") from None
            slack.show_posted(None)
            runs, _ = state_runs(record.history)
            result = RunResult(
                label=label,
                execution=arn.rsplit(":", 1)[-1],
                status=record.status,
                end_state=runs[-1].name if runs else "",
                seconds=summary.phases[f"run_{label}"],
                action=((record.output or {}).get("deployment") or {}).get("action"),
                error=record.error,
                cause=record.cause,
            )
            summary.runs.append(result)
            notifications = [run.result for run in runs if run.name.startswith("Notify")]
            summary.notifications += len(notifications)
            summary.notifications_posted += sum(
                1 for r in notifications if isinstance(r, Mapping) and r.get("delivered")
            )
            console.line(f"  → {result.status} at {result.end_state}: {states_summary(runs)}")
            if result.end_state != expected_end:
                # The rest of the story builds on this run: its failure, shown above, ends the demo.
                reason = f": {result.error}: {result.cause}" if result.error else ""
                raise DemoError(
                    f"run ({label}) ended {result.status} at {result.end_state}, not {expected_end}{reason}"
                )
            return runs

        scheduled_run(
            "a",
            f"The daily schedule fires: {len(data.first_days)} days of data, no model yet: train and deploy",
            expected_end="Deployed",
        )
        old_prediction = _predict(runtime, settings.endpoint, data.held_out[:1])
        scheduled_run("b", "The schedule fires again: no data newer than the watermark", expected_end="NoNewData")

        newest = data.one_more_day
        s3.put_object(Bucket=settings.bucket, Key=newest.key, Body=newest.body)
        invoker = _Invoker(_runtime_client(runtime), settings.endpoint, data.held_out[0].csv())
        invoker.start()
        try:
            update_run = scheduled_run(
                "c",
                f"A new day of data lands ({newest.day}, {newest.rows} rows), the schedule fires: retrain, "
                "update the endpoint while it serves",
                expected_end="Deployed",
            )
        finally:
            invoker.stop()
        _count_update_invocations(summary, invoker, update_run)
        console.line(f"  {_downtime_line(summary)}")

        with phases("summary"):
            _describe(runtime, settings, summary)
            summary.predictions, summary.raw_answer = _predictions(runtime, settings.endpoint, data)
        summary.slack_messages = [render_message(message)[0] for message in slack.messages()]
        summary.total_seconds = time.monotonic() - started
        _print_summary(console, summary, old_prediction)
        return summary


@dataclass(frozen=True)
class _Settings:
    """What the demo needs to know about the deployed pipeline, read from the synthesized template."""

    bucket: str
    data_prefix: str
    window_days: int
    endpoint: str
    watermark_parameter: str
    channel: str | None

    @classmethod
    def of(cls, functions: Any, outputs: Mapping[str, str]) -> _Settings:
        environment: dict[str, str] = {}
        for function in functions:
            environment.update(function.environment)
        return cls(
            bucket=outputs["DataBucketName"],
            data_prefix=environment["DATA_PREFIX"],
            window_days=int(environment["WINDOW_DAYS"]),
            endpoint=outputs["EndpointName"],
            watermark_parameter=outputs["WatermarkParameterName"],
            channel=environment.get("SLACK_CHANNEL"),
        )


class _Phases:
    """Times named phases into a dict of seconds."""

    def __init__(self, into: dict[str, float]) -> None:
        self._into = into

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self._into[name] = round(time.monotonic() - start, 3)


class _Slack:
    """Where NotifySlack posts. Messages received locally are shown under the line of the state that posted them."""

    def __init__(self, console: Console, *, token: str | None, channel: str | None, channels: set[str]) -> None:
        self.channel_override = channel
        self._console = console
        self._received: queue.SimpleQueue[ReceivedMessage] = queue.SimpleQueue()
        self.server: LocalSlackApi | None = None
        if token:
            self.api_url, self.token = None, token
            return
        self.server = LocalSlackApi(
            valid_token=LOCAL_SLACK_TOKEN, channels={channel} if channel else channels, on_message=self._received.put
        ).start()
        self.api_url, self.token = self.server.base_url, LOCAL_SLACK_TOKEN

    def show_posted(self, state: StateRun | None) -> None:
        """Under a Notify state's line, print the message it posted; at the end of a run (None), any left.

        A message reaches the server before its state ends, so it is waiting here when the line is printed.
        """
        if state is None:
            while not self._received.empty():
                self._show(self._received.get())
        elif isinstance(state.result, Mapping) and state.result.get("delivered") is True:
            with contextlib.suppress(queue.Empty):
                self._show(self._received.get_nowait())

    def messages(self) -> list[ReceivedMessage]:
        return list(self.server.messages) if self.server else []

    def _show(self, message: ReceivedMessage) -> None:
        show_message(self._console, indent="      ")(message)

    def description(self, channel: str | None) -> str:
        target = self.channel_override or channel or "no channel configured"
        where = f"local server {self.api_url}" if self.server else "slack.com"
        return f"{target} on {where}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def _start_slack(console: Console, template: Mapping[str, Any], *, token: str | None, channel: str | None) -> _Slack:
    return _Slack(console, token=token, channel=channel, channels=slack_channels({"stack": template}))


def _warm_up(runtime: Any) -> None:
    """Load what the first deploy and run would otherwise load on the clock: moto's services, boto3's models,
    the functions' libraries (not their handlers: a handler's logger reads its level when imported) and the
    dataset's reader."""
    import importlib

    calls = {
        "s3": "list_buckets",
        "ssm": "describe_parameters",
        "secretsmanager": "list_secrets",
        "stepfunctions": "list_state_machines",
        "sagemaker": "list_endpoints",
    }
    for service, call in calls.items():
        getattr(runtime.client(service), call)()
    runtime.client("sagemaker-runtime")
    for module in ("aws_lambda_powertools", "aws_lambda_powertools.metrics", "slack_sdk", "sklearn.datasets"):
        importlib.import_module(module)


def _single_stack(templates: Mapping[str, Any]) -> tuple[str, Any]:
    if len(templates) != 1:
        raise DemoError(f"{DEMO_CONFIG_FILE} should configure one pipeline, the app synthesized {len(templates)}")
    ((name, template),) = templates.items()
    return name, template


def _runtime_client(runtime: Any) -> Any:
    # No retries: an invocation that fails during the update must count as downtime, not be retried away.
    return boto3.client(  # type: ignore[call-overload]
        "sagemaker-runtime",
        endpoint_url=runtime.endpoint_url,
        region_name=runtime.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def _predict(runtime: Any, endpoint: str, rows: tuple[LabeledRow, ...]) -> float | None:
    scores, _ = _invoke(runtime, endpoint, rows)
    return scores[0] if scores else None


def _predictions(runtime: Any, endpoint: str, data: DemoDataset) -> tuple[list[Prediction], str | None]:
    scores, raw = _invoke(runtime, endpoint, data.held_out)
    if scores is None:
        return [Prediction(features=row.csv(), label=row.label, score=None) for row in data.held_out], raw
    return [
        Prediction(features=r.csv(), label=r.label, score=s) for r, s in zip(data.held_out, scores, strict=True)
    ], None


def _invoke(runtime: Any, endpoint: str, rows: tuple[LabeledRow, ...]) -> tuple[list[float] | None, str]:
    """Linear Learner's JSON scores for the rows, or None with the raw answer when it is not that JSON."""
    body = "\n".join(row.csv() for row in rows)
    answer = _runtime_client(runtime).invoke_endpoint(
        EndpointName=endpoint, Body=body.encode(), ContentType="text/csv", Accept="application/json"
    )
    raw = answer["Body"].read().decode(errors="replace")
    try:
        scores = [float(p["score"]) for p in json.loads(raw)["predictions"]]
    except (ValueError, KeyError, TypeError):
        return None, raw
    return (scores if len(scores) == len(rows) else None), raw


def _first_score(answer: bytes) -> float | None:
    try:
        return float(json.loads(answer)["predictions"][0]["score"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _count_update_invocations(summary: DemoSummary, invoker: _Invoker, runs: list[StateRun]) -> None:
    """Count the invocations made while the endpoint was updating, and which model answered them.

    The update runs from DeployModel's UpdateEndpoint call to the last GetEndpointStatus, which saw the
    endpoint InService on the new model.
    """
    summary.invocations_during_run = len(invoker.calls)
    summary.errors_during_run = sum(1 for call in invoker.calls if call.error)
    summary.first_update_error = next((call.error for call in invoker.calls if call.error), None)
    deploy = [run for run in runs if run.name == "DeployModel"]
    polls = [run for run in runs if run.name == "GetEndpointStatus" and run.exited]
    if not deploy or not polls or polls[-1].exited is None:
        return
    during = invoker.between(deploy[0].entered.timestamp(), polls[-1].exited.timestamp())
    summary.invocations_during_update = len(during)
    summary.errors_during_update = sum(1 for call in during if call.error)
    scores = [call.score for call in invoker.calls if call.score is not None]
    if scores:
        old, new = scores[0], scores[-1]
        summary.old_model_answers = sum(1 for call in during if call.score == old != new)
        summary.new_model_answers = sum(1 for call in during if call.score == new != old)


def _downtime_line(summary: DemoSummary) -> str:
    text = f"{summary.invocations_during_update} invocations during the update, {summary.errors_during_update} errors"
    if summary.old_model_answers or summary.new_model_answers:
        text += f" ({summary.old_model_answers} answered by the old model, {summary.new_model_answers} by the new)"
    text += f"; {summary.invocations_during_run} during the whole run, {summary.errors_during_run} errors"
    if summary.first_update_error:
        text += f" (first: {summary.first_update_error})"
    return text


def _describe(runtime: Any, settings: _Settings, summary: DemoSummary) -> None:
    sagemaker, ssm = runtime.client("sagemaker"), runtime.client("ssm")
    watermark = json.loads(ssm.get_parameter(Name=settings.watermark_parameter)["Parameter"]["Value"])
    summary.watermark_parameter = settings.watermark_parameter
    summary.watermark = watermark if isinstance(watermark, dict) else {"value": watermark}
    endpoint = sagemaker.describe_endpoint(EndpointName=settings.endpoint)
    summary.endpoint = settings.endpoint
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


def _print_summary(console: Console, summary: DemoSummary, old_prediction: float | None) -> None:
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
    rows.append(("zero downtime", _downtime_line(summary)))
    rows.append(
        ("slack", f"{summary.notifications_posted} of {summary.notifications} notifications posted to {summary.slack}")
    )
    phases = ", ".join(f"{name} {seconds:.1f}" for name, seconds in summary.phases.items())
    rows.append(("wall time", f"{summary.total_seconds:.1f} s ({phases})"))
    for label, value in rows:
        console.line(f"  {label:<14} {value}")
