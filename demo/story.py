"""The demo: the synthesized stack in the local runtime, three scheduled runs, a live view and a summary.

(a) the schedule fires on six days of data: train and deploy; (b) it fires again: no new data; (c) a new day
arrives and it fires once more: retrain and update the endpoint while it keeps answering. Everything comes
from the CDK app's synthesized template; only local values (the poll interval, the AWS and Slack
endpoints) are substituted.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from demo.data import DemoDataset, demo_dataset, today_utc
from demo.summary import DemoSummary, RunResult, describe_pipeline, downtime_line, print_summary
from demo.traffic import Invoker, count_update_invocations, predict_one, predictions, runtime_client
from local_runtime.runtime import LOCAL_SLACK_TOKEN, QUIET_FUNCTIONS
from local_runtime.slack_api import LocalSlackApi, ReceivedMessage, render_message
from local_runtime.terminal import show_message, slack_channels
from operator_cli.progress import Console, follow_execution, states_summary
from operator_cli.states import StateRun, state_runs

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime


DEMO_CONFIG_FILE = "demo/pipelines.json"  # relative to the project root, as the app reads it
RUN_TIMEOUT_SECONDS = 180


class DemoError(Exception):
    """The demo could not run its story; the message says which step and why."""


def run_demo(
    console: Console,
    *,
    emulate_sagemaker: bool = True,
    enforce_iam: bool | None = None,
    slack_token: str | None = None,
    slack_channel: str | None = None,
    quiet_functions: bool = True,
    today: date | None = None,
) -> DemoSummary:
    """Run the story and return its summary; raise DemoError when a step cannot run at all.

    `slack_token` posts to real Slack (the channel from the configuration, or `slack_channel`); without it
    a local Slack server receives the messages and the console shows them. `enforce_iam` authorizes the deployed
    roles' calls against their policies (see local_runtime.iam); None leaves it to the local runtime's default.
    `quiet_functions` keeps the functions' JSON logs and metrics out of the output; the Lambdas' loggers and
    metrics are process-wide, so a caller that runs other handlers in the same process afterwards (a test) may keep
    them as they are.
    """
    from local_runtime.runtime import LocalRuntime, iam_enforced_by_default

    started = time.monotonic()
    summary = DemoSummary(sagemaker="emulated" if emulate_sagemaker else "moto")
    console.line(console.bold("SageMaker continuous training, on this machine"))
    with ExitStack() as cleanup:
        phases = _Phases(summary.phases)
        with phases("boot"):
            runtime = cleanup.enter_context(
                LocalRuntime(
                    emulate_sagemaker=emulate_sagemaker,
                    enforce_iam=iam_enforced_by_default() if enforce_iam is None else enforce_iam,
                )
            )
        deployed = _deploy(
            console,
            summary,
            phases,
            runtime,
            cleanup,
            slack_token=slack_token,
            slack_channel=slack_channel,
            quiet=quiet_functions,
        )
        slack = deployed.slack
        story = _Story(console, summary, phases, runtime, deployed)
        data = story.upload_first_days(today or today_utc())
        story.scheduled_run(
            "a",
            f"The daily schedule fires: {len(data.first_days)} days of data, no model yet: train and deploy",
            expected_end="Deployed",
        )
        old_prediction = predict_one(runtime, story.settings.endpoint, data.held_out[:1])
        story.scheduled_run("b", "The schedule fires again: no data newer than the watermark", expected_end="NoNewData")
        story.update_while_serving(data)
        with phases("summary"):
            settings = story.settings
            describe_pipeline(
                runtime, summary, endpoint_name=settings.endpoint, watermark_parameter=settings.watermark_parameter
            )
            summary.predictions, summary.raw_answer = predictions(runtime, settings.endpoint, data)
        summary.slack_messages = [render_message(message)[0] for message in slack.messages()]
        summary.permissions = (
            f"enforced: {runtime.aws.iam.describe()}" if runtime.aws.enforce_iam else "not enforced (--no-iam)"
        )
        summary.total_seconds = time.monotonic() - started
        print_summary(console, summary, old_prediction)
        return summary


@dataclass(frozen=True)
class _Deployment:
    """The demo's stack deployed into the local runtime, with the Slack its functions post to."""

    pipeline: Any
    slack: _Slack
    settings: _Settings


def _deploy(
    console: Console,
    summary: DemoSummary,
    phases: _Phases,
    runtime: LocalRuntime,
    cleanup: ExitStack,
    *,
    slack_token: str | None,
    slack_channel: str | None,
    quiet: bool,
) -> _Deployment:
    """Synthesize the demo's configuration, start Slack (local or real) and deploy the stack."""
    from local_runtime.runtime import SlackTarget, silence_jsii, synthesize

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
        environment = dict(QUIET_FUNCTIONS) if quiet else {}
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
    return _Deployment(pipeline=pipeline, slack=slack, settings=settings)


class _Story:
    """The demo's steps on the deployed pipeline: upload data, fire the schedule, follow each run."""

    def __init__(
        self, console: Console, summary: DemoSummary, phases: _Phases, runtime: LocalRuntime, deployed: _Deployment
    ) -> None:
        self._console, self._summary, self._phases, self._runtime = console, summary, phases, runtime
        self._sfn = runtime.client("stepfunctions")
        self._pipeline, self._slack = deployed.pipeline, deployed.slack
        self.settings = deployed.settings

    def upload_first_days(self, end: date) -> DemoDataset:
        """Upload the days before `end` (the window less its last day) and return the whole dataset."""
        settings = self.settings
        data = demo_dataset(days=settings.window_days, end=end, prefix=settings.data_prefix)
        s3 = self._runtime.client("s3")
        with self._phases("upload"):
            for daily in data.first_days:
                s3.put_object(Bucket=settings.bucket, Key=daily.key, Body=daily.body)
        first, last = data.first_days[0], data.first_days[-1]
        self._console.line(
            f"  uploaded {len(data.first_days)} days of scikit-learn's diabetes data ({first.day} to {last.day}, "
            f"{sum(f.rows for f in data.first_days)} rows) to s3://{settings.bucket}/{settings.data_prefix}/"
        )
        return data

    def update_while_serving(self, data: DemoDataset) -> None:
        """Run (c): the newest day lands and the schedule fires while a thread keeps invoking the endpoint."""
        settings, newest = self.settings, data.one_more_day
        self._runtime.client("s3").put_object(Bucket=settings.bucket, Key=newest.key, Body=newest.body)
        invoker = Invoker(runtime_client(self._runtime), settings.endpoint, data.held_out[0].csv())
        invoker.start()
        try:
            update_run = self.scheduled_run(
                "c",
                f"A new day of data lands ({newest.day}, {newest.rows} rows), the schedule fires: retrain, "
                "update the endpoint while it serves",
                expected_end="Deployed",
            )
        finally:
            invoker.stop()
        count_update_invocations(self._summary, invoker, update_run)
        self._console.line(f"  {downtime_line(self._summary)}")

    def scheduled_run(self, label: str, title: str, *, expected_end: str) -> list[StateRun]:
        """Fire the schedule and follow the run live; DemoError unless it ends in `expected_end`."""
        from local_runtime.deploy import fire_schedule

        console, summary, slack = self._console, self._summary, self._slack
        console.line()
        console.line(console.bold(f"({label}) {title}"))
        with self._phases(f"run_{label}"):
            arn = fire_schedule(self._runtime.aws, self._pipeline, name=f"scheduled-{label}-{int(time.time())}")
            try:
                record = follow_execution(
                    self._sfn, arn, console=console, timeout_seconds=RUN_TIMEOUT_SECONDS, after_state=slack.show_posted
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
        summary.notifications_posted += sum(1 for r in notifications if isinstance(r, Mapping) and r.get("delivered"))
        console.line(f"  → {result.status} at {result.end_state}: {states_summary(runs)}")
        if result.end_state != expected_end:
            # The rest of the story builds on this run: its failure, shown above, ends the demo.
            reason = f": {result.error}: {result.cause}" if result.error else ""
            raise DemoError(f"run ({label}) ended {result.status} at {result.end_state}, not {expected_end}{reason}")
        return runs


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


def _warm_up(runtime: LocalRuntime) -> None:
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
