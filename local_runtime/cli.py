"""`python -m local_runtime demo | serve | synth`: the workflow on this machine, offline.

The operator's commands (runs, models, lineage, predict, transform, ...) are `sagemaker-retraining`'s
(operator_cli); given here, they are passed on to it with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from contract.outputs import stack_name
from local_runtime.clock import LocalClock
from local_runtime.deploy import DeployedPipeline
from local_runtime.runtime import (
    LOCAL_SLACK_TOKEN,
    QUIET_FUNCTIONS,
    SLACK_CHANNEL_VARIABLE,
    SLACK_TOKEN_VARIABLE,
    iam_enforced_by_default,
    silence_jsii,
)
from local_runtime.serve_state import ServedState, add_serve_state_flags
from local_runtime.sts_proxy import StsProxy
from local_runtime.terminal import show_message, slack_channels
from operator_cli import cli as operator
from operator_cli.commands.common import EXIT_FAILED, Parser, UsageError, run
from operator_cli.commands.common import PROGRAM as OPERATOR_PROGRAM
from operator_cli.progress import Console, ExecutionWatcher
from stacks.paths import PROJECT_ROOT

PROGRAM = "python -m local_runtime"
DEFAULT_PORT = 4566


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; return the exit code (2 for usage and configuration errors, 1 for a failed story)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in operator.COMMANDS:
        sys.stderr.write(
            f"{PROGRAM} {arguments[0]}: the operator's commands are `{OPERATOR_PROGRAM}`'s now "
            f"(python -m operator_cli without the console script); running `{OPERATOR_PROGRAM} {arguments[0]}`\n"
        )
        return operator.main(arguments)
    # Powertools warns on stderr when a failed invocation had no metric to flush: true, and not news here.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    return run(_parser, arguments, program=PROGRAM)


def _parser() -> Parser:
    parser = Parser(
        prog=PROGRAM,
        description="Run the retraining workflow on this machine: moto as AWS, SageMaker emulated, a local Slack.",
        epilog=f"To start, read and follow runs, decide on models and predict, against `serve` or AWS: "
        f"{OPERATOR_PROGRAM} --help.",
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="{demo,serve,synth}",
        parser_class=Parser,
    )

    demo = commands.add_parser(
        "demo",
        help="synthesize, deploy and run the story: train and deploy, no new data, retrain with zero downtime",
        description="Deploy the demo pipeline (demo/pipelines.json) and run three scheduled runs "
        f"with a live view. Set {SLACK_TOKEN_VARIABLE} (and optionally {SLACK_CHANNEL_VARIABLE}) to post to "
        "real Slack instead of the local server.",
    )
    demo.add_argument(
        "--json", action="store_true", help="print the final summary as JSON on stdout (the live view goes to stderr)"
    )
    _common_flags(demo)
    demo.set_defaults(handler=_demo)

    serve = commands.add_parser(
        "serve",
        help="deploy the configured pipelines and keep the local AWS running for the AWS CLI or boto3",
        description="Synthesize the app, deploy every configured pipeline and serve the AWS APIs on a loopback "
        "port until Ctrl-C (SIGINT) or SIGTERM.",
    )
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"loopback port (default {DEFAULT_PORT})")
    serve.add_argument(
        "--config-file",
        help='a JSON file {"pipelines": [...]} (default: the pipelines in cdk.json), e.g. demo/pipelines.json',
    )
    serve.add_argument(
        "--lambda-logs",
        action="store_true",
        help="show the functions' JSON logs (their EMF metrics go to the local CloudWatch, as on AWS)",
    )
    serve.add_argument(
        "--clock",
        type=_clock_start,
        metavar="TIME",
        help="start the scheduler's clock at this ISO 8601 time with its offset (e.g. 2026-12-05T04:59:50+01:00) "
        "to see a schedule fire; default: now",
    )
    serve.add_argument(
        "--clock-speed",
        type=_clock_speed,
        default=1.0,
        metavar="FACTOR",
        help="seconds of the scheduler's clock per real second (e.g. 60: a minute a second); default 1",
    )
    add_serve_state_flags(serve)
    _common_flags(serve)
    serve.set_defaults(handler=_serve)

    synth = commands.add_parser(
        "synth",
        help="print the templates the local runtime deploys, as JSON by stack name",
        description="Synthesize the CDK app in-process (no bundling, no CDK CLI) and print each stack's template.",
    )
    synth.add_argument("--config-file", help='a JSON file {"pipelines": [...]} (default: the pipelines in cdk.json)')
    synth.set_defaults(handler=_synth)

    return parser


def _common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--moto-sagemaker",
        action="store_true",
        help="let moto answer SageMaker (everything completes at once, canned predictions) instead of the emulator",
    )
    parser.add_argument(
        "--no-iam",
        action="store_true",
        help="let every call through instead of authorizing the deployed roles' calls against their policies",
    )
    parser.add_argument("--no-color", action="store_true", help="plain output even on a terminal")


def _demo(args: argparse.Namespace) -> int:
    from demo.story import DemoError, run_demo

    console = Console(sys.stderr if args.json else sys.stdout, color=False if args.no_color else None)
    try:
        summary = run_demo(
            console,
            emulate_sagemaker=not args.moto_sagemaker,
            enforce_iam=False if args.no_iam else iam_enforced_by_default(),
            slack_token=os.environ.get(SLACK_TOKEN_VARIABLE) or None,
            slack_channel=os.environ.get(SLACK_CHANNEL_VARIABLE) or None,
        )
    except DemoError as error:
        sys.stderr.write(f"{PROGRAM}: demo failed: {error}\n")
        return EXIT_FAILED
    if args.json:
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    problems = summary.problems()
    for problem in problems:
        sys.stderr.write(f"{PROGRAM}: demo: {problem}\n")
    return EXIT_FAILED if problems else 0


def _synth(args: argparse.Namespace) -> int:
    from local_runtime.runtime import synthesize
    from stacks.config import ConfigError

    silence_jsii()
    context = {"config_file": _config_file(args.config_file)} if args.config_file else None
    try:
        templates = synthesize(context)
    except ConfigError as error:
        raise UsageError(f"config error: {error}") from None
    sys.stdout.write(json.dumps(templates) + "\n")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from local_runtime.runtime import LocalRuntime, SlackTarget

    _check_port_free(args.port)
    console = Console(sys.stdout, color=False if args.no_color else None)
    console.line("Synthesizing the CDK app...")
    templates = _synthesize_in_child(args.config_file)
    if isinstance(templates, int):
        return templates
    stop = threading.Event()
    with _stop_on_signals(stop), ExitStack() as cleanup:
        real_token = os.environ.get(SLACK_TOKEN_VARIABLE) or None
        slack_server = None
        if real_token is None:
            from local_runtime.slack_api import LocalSlackApi

            slack_server = LocalSlackApi(
                valid_token=LOCAL_SLACK_TOKEN, channels=slack_channels(templates), on_message=show_message(console)
            ).start()
            cleanup.callback(slack_server.stop)
        slack = SlackTarget(
            api_url=slack_server.base_url if slack_server else None,
            token=real_token or LOCAL_SLACK_TOKEN,
            local_server=slack_server,
        )
        try:
            runtime = cleanup.enter_context(
                LocalRuntime(
                    port=args.port,
                    emulate_sagemaker=not args.moto_sagemaker,
                    enforce_iam=False if args.no_iam else iam_enforced_by_default(),
                )
            )
        except OSError as error:  # the port was taken while the app synthesized
            raise UsageError(f"cannot listen on port {args.port}: {error.strerror}") from None
        # The SageMaker SDK's own STS calls name AWS's endpoint: the proxy answers them here (see its module).
        sts_directory = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="local-aws-sts-")))
        sts_proxy = StsProxy(sts_directory, upstream_port=runtime.aws.port).start()
        cleanup.callback(sts_proxy.stop)
        # Under serve, the pipelines' rate and cron schedules fire, on the clock given or the real one.
        clock = LocalClock(args.clock or datetime.now(UTC), args.clock_speed)
        runtime.aws.scheduler.clock, runtime.aws.scheduler.recurring = clock, True
        kept = ServedState.restored(runtime, args, console)  # before deploying: a deploy then keeps what was there
        cleanup.callback(kept.stop)
        environment = {} if args.lambda_logs else dict(QUIET_FUNCTIONS)
        if real_token and os.environ.get(SLACK_CHANNEL_VARIABLE):
            environment["SLACK_CHANNEL"] = os.environ[SLACK_CHANNEL_VARIABLE]

        def deploy_all(templates: Mapping[str, Any]) -> list[DeployedPipeline]:
            return [
                runtime.deploy_template(template, stack_name=name, slack=slack, function_environment=environment)
                for name, template in templates.items()
            ]

        pipelines = deploy_all(templates)
        kept.deployed(deploy_all, pipelines)
        watcher = ExecutionWatcher(
            runtime.client("stepfunctions"), [p.state_machine_arn for p in pipelines], console=console
        ).start()
        cleanup.callback(watcher.stop)
        _print_serving(
            console,
            runtime.endpoint_url,
            pipelines,
            slack_server.base_url if slack_server else None,
            enforce_iam=runtime.aws.enforce_iam,
            sdk_exports=sts_proxy.exports(),
        )
        if args.clock is not None or args.clock_speed != 1:
            console.line(f"Scheduler clock: {clock().isoformat(timespec='seconds')}, x{args.clock_speed:g}")
        console.line(f"Ready: local AWS on {runtime.endpoint_url}. Ctrl-C to stop.")
        while not stop.wait(0.5):
            kept.tick(lambda: _synthesize_in_child(args.config_file))
        if runtime.aws.enforce_iam:
            console.line(f"IAM: {runtime.aws.iam.describe()}")
        console.line("Stopping: workers, endpoints and the server...")
    console.line("Stopped.")
    return 0


def _synthesize_in_child(config_file: str | None) -> dict[str, Any] | int:
    """The templates, synthesized by `synth` in a child process; its exit code when it fails (it said why).

    The CDK's Node process ends with the child: a Ctrl-C on the terminal, which signals the whole process
    group, finds no Node process to break while serving.
    """
    command = [sys.executable, "-m", "local_runtime", "synth"]
    if config_file:
        command += ["--config-file", _config_file(config_file)]
    child = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)
    if child.returncode != 0:
        sys.stderr.write(child.stderr)
        return child.returncode
    templates: dict[str, Any] = json.loads(child.stdout)
    return templates


def _print_serving(
    console: Console,
    url: str,
    pipelines: Sequence[Any],
    slack_url: str | None,
    *,
    enforce_iam: bool,
    sdk_exports: Mapping[str, str],
) -> None:
    console.line(f"Local AWS: {url}  (region us-east-1, any credentials)")
    exports = " ".join(f"{name}={value}" for name, value in sdk_exports.items())
    console.line(f"SageMaker SDK (its own STS calls: get_execution_role, an unnamed default bucket): export {exports}")
    console.line(f"Slack: {'local server ' + slack_url if slack_url else 'slack.com'}")
    console.line(
        "IAM: the deployed roles' calls are checked against their policies; your own credentials are unrestricted"
        if enforce_iam
        else "IAM: not enforced (--no-iam): every call is let through"
    )
    for pipeline in pipelines:
        outputs = pipeline.stack.outputs
        prefix = next(
            (f.environment["DATA_PREFIX"] for f in pipeline.stack.functions.values() if "DATA_PREFIX" in f.environment),
            "<data_prefix>",
        )
        console.line()
        console.line(f"Pipeline stack {pipeline.stack.name}")
        console.line(f"  state machine  {pipeline.state_machine_arn}")
        console.line(f"  data bucket    {outputs.get('DataBucketName')}  (daily files under {prefix}/)")
        console.line(f"  watermark      {outputs.get('WatermarkParameterName')}")
        console.line(f"  endpoint       {outputs.get('EndpointName')}")
    if not pipelines:
        return
    first = pipelines[0]
    outputs = first.stack.outputs
    aws = f"aws --endpoint-url {url}"
    console.line()
    console.line("Try it:")
    console.line("  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1")
    console.line(f"  {aws} s3 cp day.csv s3://{outputs.get('DataBucketName')}/{prefix}/$(date -u +%F).csv")
    console.line(
        f"  {aws} stepfunctions start-execution --state-machine-arn {first.state_machine_arn} "
        """--name manual-$(date +%s) --input '{"trigger": "schedule"}'"""
    )
    console.line(f"  {aws} stepfunctions list-executions --state-machine-arn {first.state_machine_arn}")
    console.line(f"  {aws} ssm get-parameter --name {outputs.get('WatermarkParameterName')}")
    console.line(
        f"  {aws} sagemaker-runtime invoke-endpoint --endpoint-name {outputs.get('EndpointName')} "
        "--content-type text/csv --body fileb://row.csv answer.json"
    )
    pipeline_name = first.stack.name.removeprefix(stack_name(""))
    console.line(
        f"  {OPERATOR_PROGRAM} lineage files --pipeline {pipeline_name} --endpoint-url {url}   "
        "(the data behind the served model)"
    )
    console.line("Inject a fault (see local_runtime/faults.py), list them with GET, clear them with DELETE:")
    console.line(
        f"  curl -X POST {url}/_local/faults "
        """-d '{"fault": "throttle_lambda", "function": "StartTrainingJob", "times": 2}'"""
    )
    slack_alarm = next(
        (a["AlarmName"] for a in first.stack.alarms.values() if a["AlarmName"].endswith("-slack-delivery-failed")), None
    )
    if slack_url and slack_alarm:
        console.line(f"""  curl -X POST {url}/_local/faults -d '{{"fault": "reject_token", "times": null}}'""")
        console.line(f"  {aws} cloudwatch describe-alarms --alarm-names {slack_alarm}  (ALARM after a refused message)")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Make SIGINT (Ctrl-C) and SIGTERM set `stop` instead of raising; restore the previous handlers after."""

    def handle(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _config_file(value: str) -> str:
    """The app reads the file relative to the project root; accept a path relative to where we run, too."""
    path = Path(value)
    if not path.is_absolute() and not (PROJECT_ROOT / path).exists() and path.exists():
        path = path.resolve()
    if not (PROJECT_ROOT / path).exists():
        raise UsageError(f"--config-file {value}: no such file")
    return str(path)


def _clock_start(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} needs its UTC offset, e.g. 2026-12-05T04:59:50+01:00")
    return moment


def _clock_speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        speed = 0.0
    if not 0 < speed <= 86_400:
        raise argparse.ArgumentTypeError(f"must be a number above 0 and at most 86400, got {value!r}")
    return speed


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {value!r}") from None
    if not 1 <= port <= 65_535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {port}")
    return port


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds: a port left in TIME_WAIT by a previous run is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise UsageError(f"port {port} is in use: stop what listens there or pick another with --port") from None
