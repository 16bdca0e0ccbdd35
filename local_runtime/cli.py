"""`python -m local_runtime demo | serve | runs | predict | transform | ...`: the workflow here, and questions to it."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn
from uuid import uuid4

from botocore.exceptions import BotoCoreError, ClientError

from contract.outputs import stack_name
from local_runtime.demo import (
    LOCAL_SLACK_TOKEN,
    PROJECT_ROOT,
    QUIET_FUNCTIONS,
    SLACK_CHANNEL_VARIABLE,
    SLACK_TOKEN_VARIABLE,
    DemoError,
    run_demo,
    show_message,
)
from local_runtime.progress import Console, ExecutionWatcher
from local_runtime.runtime import silence_jsii
from local_runtime.target import TargetError, add_target_flags, resolve_target, stack_outputs

PROGRAM = "python -m local_runtime"
DEFAULT_PORT = 4566
EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """The command line or the configuration is wrong; the message is the one line to show."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the usage and exits; one line and an exit code from main() read better.
        raise UsageError(message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; return the exit code (2 for usage and configuration errors, 1 for a failed story)."""
    # Powertools warns on stderr when a failed invocation had no metric to flush: true, and not news here.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    try:
        args = _parser().parse_args(argv)
        return int(args.handler(args))
    except SystemExit as exit_request:  # --help
        return int(exit_request.code or 0)
    except UsageError as error:
        sys.stderr.write(f"{PROGRAM}: error: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROGRAM}: interrupted\n")
        return EXIT_INTERRUPTED


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROGRAM,
        description="Run the retraining workflow on this machine: moto as AWS, SageMaker emulated, a local Slack.",
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="{demo,serve,synth,runs,lineage,models,approve,reject,predict,transform}",
        parser_class=_Parser,
    )

    demo = commands.add_parser(
        "demo",
        help="synthesize, deploy and run the story: train and deploy, no new data, retrain with zero downtime",
        description="Deploy the demo pipeline (local_runtime/demo_pipelines.json) and run three scheduled runs "
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
        help='a JSON file {"pipelines": [...]} (default: the pipelines in cdk.json), '
        "e.g. local_runtime/demo_pipelines.json",
    )
    serve.add_argument("--lambda-logs", action="store_true", help="show the functions' JSON logs and metrics")
    _common_flags(serve)
    serve.set_defaults(handler=_serve)

    synth = commands.add_parser(
        "synth",
        help="print the templates the local runtime deploys, as JSON by stack name",
        description="Synthesize the CDK app in-process (no bundling, no CDK CLI) and print each stack's template.",
    )
    synth.add_argument("--config-file", help='a JSON file {"pipelines": [...]} (default: the pipelines in cdk.json)')
    synth.set_defaults(handler=_synth)

    models = commands.add_parser(
        "models",
        help="list a pipeline's model versions in the registry, newest first",
        description="The versions of <pipeline>-models with their approval status, training job and metrics.",
    )
    _target_flags(models)
    models.add_argument("--limit", type=int, default=20, help="how many versions (default 20)")
    models.set_defaults(handler=_models)
    for name, verb in (("approve", "approve"), ("reject", "reject")):
        decide = commands.add_parser(
            name,
            help=f"{verb} a model version a run waits for; the run resumes",
            description=f"{verb.capitalize()} a version in PendingManualApproval (the only one waiting, unless "
            "--version names it), as the SageMaker console does: the waiting run resumes and "
            + ("deploys it." if name == "approve" else "ends without deploying it."),
        )
        _target_flags(decide)
        decide.add_argument("--version", type=int, help="the version number (default: the one waiting)")
        decide.add_argument("--reason", help="why, recorded as the version's approval description")
        decide.set_defaults(handler=_decide, approve=name == "approve")
    _runs_parser(commands)
    _lineage_parser(commands)
    _predict_parser(commands)
    _transform_parser(commands)
    return parser


def _target_flags(parser: argparse.ArgumentParser) -> None:
    add_target_flags(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _sagemaker(args: argparse.Namespace) -> Any:
    try:
        return resolve_target(endpoint_url=args.endpoint_url, profile=args.profile, region=args.region).client(
            "sagemaker"
        )
    except TargetError as error:
        raise UsageError(str(error)) from None


def _models(args: argparse.Namespace) -> int:
    from local_runtime.approvals import list_versions

    sagemaker = _sagemaker(args)
    versions = _registry_call(lambda: list_versions(sagemaker, args.pipeline, limit=args.limit))
    if args.json:
        sys.stdout.write(json.dumps([v.to_json() for v in versions], indent=2) + "\n")
        return 0
    if not versions:
        sys.stdout.write(f"no model versions registered for pipeline {args.pipeline}\n")
    for version in versions:
        metrics = ", ".join(f"{name} {value:.6g}" for name, value in sorted(version.metrics.items())[:3])
        sys.stdout.write(
            f"{version.version:>4}  {version.status:<22} {version.created[:19]}  {version.training_job or '-'}"
            + (f"  {metrics}" if metrics else "")
            + "\n"
        )
    return 0


def _decide(args: argparse.Namespace) -> int:
    from local_runtime.approvals import decide

    sagemaker = _sagemaker(args)
    decided = _registry_call(
        lambda: decide(sagemaker, args.pipeline, approve=args.approve, version=args.version, reason=args.reason)
    )
    if args.json:
        sys.stdout.write(json.dumps(decided.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(f"version {decided.version} of {args.pipeline}-models is now {decided.status}\n")
    return 0


def _registry_call(call: Any) -> Any:
    from local_runtime.approvals import ApprovalError

    try:
        return call()
    except ApprovalError as error:
        raise UsageError(str(error)) from None
    except ClientError as error:
        raise UsageError(f"AWS answered {error.response['Error'].get('Code')}: {error}") from None
    except BotoCoreError as error:
        raise UsageError(str(error)) from None


def _runs_parser(commands: Any) -> None:
    from local_runtime.runs import MAX_LIST_LIMIT, STATUSES

    runs = commands.add_parser(
        "runs",
        help="start, list, show and follow a pipeline's runs (executions), on AWS or in the local runtime",
        description="A pipeline's runs from the command line: on AWS (--profile/--region, the stack found by the "
        "pipeline's name) or in the local runtime (--endpoint-url). Every command takes --json.",
    )
    actions = runs.add_subparsers(
        dest="action", required=True, metavar="{start,list,show,follow}", parser_class=_Parser
    )
    start = actions.add_parser(
        "start",
        help="start a run with the input the console takes, checked as the workflow checks it",
        description="Start an execution with the input a person would type in the console; the input is checked "
        "by CheckData's own validation before anything starts. Prints the execution ARN.",
    )
    start.add_argument("--force", action="store_true", help="train even if no data is newer than the watermark")
    start.add_argument("--window-days", type=int, help="days of data to train on (default: the pipeline's)")
    start.add_argument("--end-date", help="YYYY-MM-DD: the window's last day (default: the newest data)")
    start.add_argument("--name", help="the execution's name (default: cli-<UTC time>-<random>)")
    start.add_argument("--follow", action="store_true", help="then follow the run until it ends")
    listing = actions.add_parser(
        "list",
        help="recent runs with status, duration, data window, training job, metric and outcome",
        description="The newest runs, newest first. One ListExecutions call and one GetExecutionHistory call "
        "(the newest events only) per run.",
    )
    listing.add_argument("--limit", type=int, default=20, help=f"how many runs (1..{MAX_LIST_LIMIT}, default 20)")
    listing.add_argument("--status", type=str.upper, choices=STATUSES, help="only runs with this status")
    show = actions.add_parser(
        "show",
        help="one run step by step, with the failing state, error and cause of a failed run",
        description="Each state the run went through, with its start, duration and result or error.",
    )
    follow = actions.add_parser(
        "follow",
        help="follow a run live until it ends (exit code 1 when it did not succeed)",
        description="Print each state as it ends, polling with backoff, until the run ends; exit 0 when it "
        "succeeded, 1 when it failed, timed out or was aborted. With --json, one JSON object per line.",
    )
    for command in (show, follow):
        command.add_argument("execution", help="the execution's ARN, or its name with --pipeline")
    for command, required in ((start, True), (listing, True), (show, False), (follow, False)):
        add_target_flags(command, pipeline_required=required)
        command.add_argument("--json", action="store_true", help="print JSON instead of text")
        command.set_defaults(handler=_runs)


def _runs(args: argparse.Namespace) -> int:
    from local_runtime import runs

    try:
        target = resolve_target(endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
    except TargetError as error:
        raise UsageError(str(error)) from None
    try:
        state_machine = _state_machine_arn(target, args.pipeline) if args.pipeline else None
        sfn = target.client("stepfunctions")
        if args.action == "start":
            return _runs_start(args, sfn, str(state_machine))
        if args.action == "list":
            summaries = runs.list_runs(sfn, str(state_machine), limit=args.limit, status=args.status)
            now = _now()
            if args.json:
                _print_json([summary.to_json(now) for summary in summaries])
            elif not summaries:
                sys.stdout.write(
                    f"no runs of pipeline {args.pipeline}" + (f" {args.status}" if args.status else "") + "\n"
                )
            else:
                sys.stdout.write(runs.render_list(summaries, now) + "\n")
            return 0
        arn = runs.execution_arn(args.execution, state_machine)
        if args.action == "show":
            summary, steps = runs.describe_run(sfn, arn)
            now = _now()
            if args.json:
                _print_json(
                    {**summary.to_json(now), "input": summary.input, "steps": [runs.step_to_json(s) for s in steps]}
                )
            else:
                sys.stdout.write(runs.render_show(summary, steps, now) + "\n")
            return 0
        return _runs_follow(args, sfn, arn)
    except runs.RunsError as error:
        raise UsageError(str(error)) from None
    except TargetError as error:
        sys.stderr.write(f"{PROGRAM}: runs: {error}\n")
        return EXIT_FAILED
    except ClientError as error:
        message = error.response["Error"].get("Message") or error.response["Error"].get("Code")
        sys.stderr.write(f"{PROGRAM}: runs: {target.describe()}: {message}\n")
        return EXIT_FAILED
    except BotoCoreError as error:
        sys.stderr.write(f"{PROGRAM}: runs: {target.describe()}: {error}\n")
        return EXIT_FAILED


def _state_machine_arn(target: Any, pipeline: str) -> str:
    from contract.outputs import STATE_MACHINE_ARN

    outputs = stack_outputs(target, pipeline)
    if STATE_MACHINE_ARN not in outputs:
        raise TargetError(f"stack {stack_name(pipeline)} has no output {STATE_MACHINE_ARN}")
    return outputs[STATE_MACHINE_ARN]


def _runs_start(args: argparse.Namespace, sfn: Any, state_machine: str) -> int:
    from lambdas.common.errors import InvalidRunInputError
    from local_runtime import runs

    try:
        execution_input = runs.run_input(force=args.force, window_days=args.window_days, end_date=args.end_date)
    except InvalidRunInputError as error:
        raise UsageError(f"invalid run input: {error}") from None
    name = runs.check_execution_name(args.name) if args.name else runs.default_execution_name(_now(), uuid4().hex[:6])
    arn = runs.start_run(sfn, state_machine, name=name, execution_input=execution_input)
    if args.json:
        started = {"event": "started", "execution_arn": arn, "name": name, "input": execution_input}
        sys.stdout.write(json.dumps(started) + "\n" if args.follow else json.dumps(started, indent=2) + "\n")
    else:
        sys.stdout.write(arn + "\n")
    sys.stdout.flush()
    return _runs_follow(args, sfn, arn) if args.follow else 0


def _runs_follow(args: argparse.Namespace, sfn: Any, arn: str) -> int:
    from local_runtime import runs
    from local_runtime.progress import StateRun, format_state

    console = Console(sys.stdout)

    def on_state(step: StateRun) -> None:
        if args.json:
            console.line(json.dumps({"event": "state", **runs.step_to_json(step)}))
        else:
            console.line(format_state(step, color=console.color))

    if not args.json:
        console.line(f"Following {arn.split(':')[-1]} (Ctrl-C stops following, not the run)")
    summary, steps = runs.follow_run(sfn, arn, on_state=on_state)
    now = _now()
    if args.json:
        console.line(json.dumps({"event": "ended", **summary.to_json(now)}))
    else:
        for line in runs.render_end(summary, steps, now):
            console.line(line)
    return 0 if summary.status == "SUCCEEDED" else EXIT_FAILED


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def _now() -> datetime:
    return datetime.now(UTC)


def _lineage_parser(commands: Any) -> None:
    lineage = commands.add_parser(
        "lineage",
        help="which data trained the model an endpoint serves, which endpoints used a file, deployment history",
        description="Answer lineage questions from the run records a deployed pipeline writes, in the local "
        "runtime (--endpoint-url) or on AWS (--profile/--region).",
    )
    questions = lineage.add_subparsers(
        dest="question", required=True, metavar="{files,endpoints,history}", parser_class=_Parser
    )
    files = questions.add_parser(
        "files", help="the data files that trained the model the endpoint serves now", allow_abbrev=False
    )
    files.add_argument("--endpoint", help="the endpoint (default: the pipeline's)")
    endpoints = questions.add_parser(
        "endpoints", help="the endpoints that serve, or served, a model trained on a data file", allow_abbrev=False
    )
    endpoints.add_argument("file", help="the data file: s3://bucket/key, or a key in the pipeline's data bucket")
    history = questions.add_parser(
        "history", help="the endpoint's deployments, newest first, with models and metrics", allow_abbrev=False
    )
    history.add_argument("--endpoint", help="the endpoint (default: the pipeline's)")
    for question in (files, endpoints, history):
        add_target_flags(question)
        question.add_argument("--json", action="store_true", help="print the answer as JSON")
        question.set_defaults(handler=_lineage)


def _predict_parser(commands: Any) -> None:
    from local_runtime.predict import DEFAULT_BATCH_SIZE, MAX_PAYLOAD_BYTES

    predict = commands.add_parser(
        "predict",
        help="send CSV or JSON records to a pipeline's endpoint and print one prediction per record",
        description="Read records (CSV rows; or JSON: a list of objects or arrays, or JSON Lines), send them to the "
        "pipeline's endpoint with InvokeEndpoint in batches (at most --batch-size records and "
        f"{MAX_PAYLOAD_BYTES} bytes each) and print each record's prediction, in the input's order.",
    )
    add_target_flags(predict)
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", metavar="FILE", help="CSV rows, no header (- reads stdin); sent as text/csv")
    source.add_argument(
        "--json-records",
        metavar="FILE",
        help='a JSON list of objects or arrays, or JSON Lines (- reads stdin); sent as {"instances": [...]}',
    )
    predict.add_argument(
        "--content-type",
        help="the request's content type: text/csv, application/json or application/jsonlines "
        "(default: text/csv for --csv, application/json for --json-records)",
    )
    predict.add_argument("--accept", help="the answer's content type to ask for (default: the endpoint's)")
    predict.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"records per request (default {DEFAULT_BATCH_SIZE})"
    )
    predict.add_argument("--json", action="store_true", help="print JSON instead of a table")
    predict.set_defaults(handler=_predict)


def _predict(args: argparse.Namespace) -> int:
    from contract.outputs import ENDPOINT_NAME
    from local_runtime import predict

    flag, path = ("--csv", args.csv) if args.csv is not None else ("--json-records", args.json_records)
    source = f"{flag} {'stdin' if path == '-' else path}"
    try:
        text = _read_input(path, source)
        records = (predict.read_csv_records if flag == "--csv" else predict.read_json_records)(text, source)
        content_type = args.content_type or (predict.CSV if flag == "--csv" else predict.JSON)
        encoding = predict.Encoding.for_content_type(content_type)
        predict.plan_batches([], encoding, batch_size=args.batch_size)
        target = resolve_target(endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
    except (predict.PredictInputError, TargetError) as error:
        raise UsageError(str(error)) from None
    try:
        outputs = stack_outputs(target, args.pipeline)
        if ENDPOINT_NAME not in outputs:
            raise TargetError(f"stack {stack_name(args.pipeline)} has no output {ENDPOINT_NAME}")
        endpoint = outputs[ENDPOINT_NAME]
        predict.check_endpoint(target.client("sagemaker"), endpoint, target.describe())
        results = predict.invoke_batches(
            target.client("sagemaker-runtime"),
            endpoint,
            records,
            encoding,
            accept=args.accept,
            batch_size=args.batch_size,
        )
    except predict.PredictInputError as error:
        raise UsageError(f"{source}: {error}") from None
    except (TargetError, predict.PredictError) as error:
        sys.stderr.write(f"{PROGRAM}: predict: {error}\n")
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as error:
        sys.stderr.write(f"{PROGRAM}: predict: {target.describe()}: {error}\n")
        return EXIT_FAILED
    if args.json:
        _print_json(predict.results_to_json(endpoint, results))
    else:
        sys.stdout.write(predict.render_table(results) + "\n")
    return 0


def _read_input(path: str, source: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{source}: cannot read it: {error}") from None


def _common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--moto-sagemaker",
        action="store_true",
        help="let moto answer SageMaker (everything completes at once, canned predictions) instead of the emulator",
    )
    parser.add_argument("--no-color", action="store_true", help="plain output even on a terminal")


def _demo(args: argparse.Namespace) -> int:
    console = Console(sys.stderr if args.json else sys.stdout, color=False if args.no_color else None)
    try:
        summary = run_demo(
            console,
            emulate_sagemaker=not args.moto_sagemaker,
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


def _lineage(args: argparse.Namespace) -> int:
    from local_runtime import lineage

    try:
        target = resolve_target(endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
        location = lineage.PipelineLocation.from_outputs(args.pipeline, stack_outputs(target, args.pipeline))
        records = lineage.RunRecords(target.client("s3"), location)
        sagemaker = target.client("sagemaker")
        endpoint = getattr(args, "endpoint", None) or location.endpoint_name
        answer: Any
        if args.question == "files":
            served = lineage.files_behind_endpoint(sagemaker, records, endpoint)
            answer, text = served.to_json(), lineage.render_files(served)
        elif args.question == "endpoints":
            trained_on = lineage.endpoints_trained_on(sagemaker, records, args.file)
            answer = {"file": args.file, "deployments": [t.to_json() for t in trained_on]}
            text = lineage.render_trained_on(args.file, trained_on)
        else:
            deployments = lineage.deployment_history(records, endpoint)
            answer = {"endpoint": endpoint, "deployments": lineage.history_to_json(deployments)}
            text = lineage.render_history(endpoint, deployments)
    except (TargetError, lineage.LineageError) as error:
        sys.stderr.write(f"{PROGRAM}: lineage: {error}\n")
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as error:
        sys.stderr.write(f"{PROGRAM}: lineage: {target.describe()}: {error}\n")
        return EXIT_FAILED
    sys.stdout.write((json.dumps(answer, indent=2) if args.json else text) + "\n")
    return 0


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
                valid_token=LOCAL_SLACK_TOKEN, channels=_channels(templates), on_message=show_message(console)
            ).start()
            cleanup.callback(slack_server.stop)
        slack = SlackTarget(
            api_url=slack_server.base_url if slack_server else None, token=real_token or LOCAL_SLACK_TOKEN
        )
        try:
            runtime = cleanup.enter_context(LocalRuntime(port=args.port, emulate_sagemaker=not args.moto_sagemaker))
        except OSError as error:  # the port was taken while the app synthesized
            raise UsageError(f"cannot listen on port {args.port}: {error.strerror}") from None
        environment = {} if args.lambda_logs else dict(QUIET_FUNCTIONS)
        if real_token and os.environ.get(SLACK_CHANNEL_VARIABLE):
            environment["SLACK_CHANNEL"] = os.environ[SLACK_CHANNEL_VARIABLE]
        pipelines = [
            runtime.deploy_template(template, stack_name=name, slack=slack, function_environment=environment)
            for name, template in templates.items()
        ]
        watcher = ExecutionWatcher(
            runtime.client("stepfunctions"), [p.state_machine_arn for p in pipelines], console=console
        ).start()
        cleanup.callback(watcher.stop)
        _print_serving(console, runtime.endpoint_url, pipelines, slack_server.base_url if slack_server else None)
        console.line(f"Ready: local AWS on {runtime.endpoint_url}. Ctrl-C to stop.")
        while not stop.wait(0.5):
            pass
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


def _print_serving(console: Console, url: str, pipelines: Sequence[Any], slack_url: str | None) -> None:
    console.line(f"Local AWS: {url}  (region us-east-1, any credentials)")
    console.line(f"Slack: {'local server ' + slack_url if slack_url else 'slack.com'}")
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
        f"  {PROGRAM} lineage files --pipeline {pipeline_name} --endpoint-url {url}   "
        "(the data behind the served model)"
    )
    console.line("Inject a fault (see local_runtime/faults.py), list them with GET, clear them with DELETE:")
    console.line(
        f"  curl -X POST {url}/_local/faults "
        """-d '{"fault": "throttle_lambda", "function": "StartTrainingJob", "times": 2}'"""
    )


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


def _channels(templates: dict[str, Any]) -> set[str]:
    channels: set[str] = set()
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            value = resource.get("Properties", {}).get("Environment", {}).get("Variables", {}).get("SLACK_CHANNEL")
            if isinstance(value, str):
                channels.add(value)
    return channels


def _config_file(value: str) -> str:
    """The app reads the file relative to the project root; accept a path relative to where we run, too."""
    path = Path(value)
    if not path.is_absolute() and not (PROJECT_ROOT / path).exists() and path.exists():
        path = path.resolve()
    if not (PROJECT_ROOT / path).exists():
        raise UsageError(f"--config-file {value}: no such file")
    return str(path)


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


def _transform_parser(commands: Any) -> None:
    from lambdas.common.transform import (
        DEFAULT_INSTANCE_TYPE,
        DEFAULT_PREDICTIONS_PREFIX,
        DROP_LABEL_FILTER,
        JSONLINES,
    )

    transform = commands.add_parser(
        "transform",
        help="run a batch transform job with a pipeline's model over a day's data (or any S3 prefix)",
        description="Create a SageMaker batch transform job: every object of the input, one CSV record a line, "
        "through the model the pipeline's endpoint serves (or --model); each object's predictions are written "
        "as <output>/<name>.out, one line per record. The default output mirrors the input's folder under the "
        f"predictions prefix ({DEFAULT_PREDICTIONS_PREFIX}/), never inside the pipeline's data prefix.",
    )
    add_target_flags(transform)
    source = transform.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="S3_URI", help="an S3 object or prefix (s3://bucket/key)")
    source.add_argument(
        "--day", metavar="YYYY-MM-DD", help="the day's data under the pipeline's data prefix (either layout)"
    )
    transform.add_argument("--output", metavar="S3_URI", help="the job's S3OutputPath (default: see above)")
    transform.add_argument("--model", help="the SageMaker model (default: the one the pipeline's endpoint serves)")
    transform.add_argument(
        "--data-prefix",
        help="the pipeline's data prefix, for --day (default: the stack's DataPrefix output, when it has one)",
    )
    transform.add_argument(
        "--predictions-prefix",
        default=DEFAULT_PREDICTIONS_PREFIX,
        help=f"where default outputs go (default {DEFAULT_PREDICTIONS_PREFIX})",
    )
    transform.add_argument(
        "--input-filter",
        help=f"DataProcessing InputFilter (default: {DROP_LABEL_FILTER} for --day, whose files are label first; "
        "none for --input)",
    )
    transform.add_argument("--content-type", default="text/csv", help="the records' content type (default text/csv)")
    transform.add_argument(
        "--accept",
        default=JSONLINES,
        help=f"the predictions' content type (default {JSONLINES}: a JSON answer per record, as Linear Learner "
        "writes it; text/csv for a pipeline whose last container answers CSV)",
    )
    transform.add_argument("--instance-type", default=DEFAULT_INSTANCE_TYPE, help=f"default {DEFAULT_INSTANCE_TYPE}")
    transform.add_argument("--instance-count", type=int, default=1, help="default 1")
    transform.add_argument("--kms-key-id", help="encrypt the predictions with this KMS key (SSE-KMS)")
    transform.add_argument("--wait", action="store_true", help="wait for the job to end; exit 1 unless Completed")
    transform.add_argument("--json", action="store_true", help="print JSON instead of text")
    transform.set_defaults(handler=_transform)


def _transform(args: argparse.Namespace) -> int:
    from contract.outputs import DATA_BUCKET_NAME, ENDPOINT_NAME
    from lambdas.common.transform import (
        DROP_LABEL_FILTER,
        TransformRequestError,
        predictions_uri,
        split_s3_uri,
        transform_job_request,
    )
    from local_runtime import batch_transform as bt

    try:
        day = bt.parse_day(args.day) if args.day else None
        if args.input:
            split_s3_uri(args.input)
        if args.output:
            split_s3_uri(args.output)
        target = resolve_target(endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
    except (bt.TransformInputError, TransformRequestError, TargetError) as error:
        raise UsageError(str(error)) from None
    try:
        outputs = stack_outputs(target, args.pipeline)
    except TargetError as error:
        sys.stderr.write(f"{PROGRAM}: transform: {error}\n")
        return EXIT_FAILED
    data_prefix = args.data_prefix or outputs.get(bt.DATA_PREFIX_OUTPUT)
    s3, sagemaker = target.client("s3"), target.client("sagemaker")
    try:
        if day is not None:
            if not data_prefix:
                raise bt.TransformInputError(
                    f"--day needs the pipeline's data prefix: stack {stack_name(args.pipeline)} has no output "
                    f"{bt.DATA_PREFIX_OUTPUT}, pass --data-prefix"
                )
            bucket = outputs[DATA_BUCKET_NAME]
            input_key = bt.find_day_input(s3, bucket, data_prefix, day)
        else:
            bucket, input_key = split_s3_uri(args.input)
        input_uri = f"s3://{bucket}/{input_key}"
        output_uri = args.output or predictions_uri(bucket, args.predictions_prefix, input_key, data_prefix=data_prefix)
        input_filter = args.input_filter if args.input_filter is not None else (DROP_LABEL_FILTER if day else None)
        model = args.model or bt.serving_model(sagemaker, outputs.get(ENDPOINT_NAME, ""), target.describe())
        name = bt.transform_job_name(args.pipeline, _now())
        request = transform_job_request(
            name,
            model,
            input_uri,
            output_uri,
            instance_type=args.instance_type,
            instance_count=args.instance_count,
            content_type=args.content_type,
            accept=args.accept,
            input_filter=input_filter or None,
            kms_key_id=args.kms_key_id,
        )
    except (bt.TransformInputError, TransformRequestError) as error:
        raise UsageError(str(error)) from None
    except bt.TransformError as error:
        sys.stderr.write(f"{PROGRAM}: transform: {error}\n")
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as error:
        sys.stderr.write(f"{PROGRAM}: transform: {target.describe()}: {error}\n")
        return EXIT_FAILED
    job = bt.TransformJob(name=name, model=model, input_uri=input_uri, output_uri=output_uri)
    try:
        sagemaker.create_transform_job(**request)
        if args.wait:
            described = bt.wait_for_job(sagemaker, name, poll_seconds=1.0 if target.is_local else 10.0)
            job = bt.TransformJob(
                name=name,
                model=model,
                input_uri=input_uri,
                output_uri=output_uri,
                status=described["TransformJobStatus"],
                failure_reason=described.get("FailureReason") or None,
                outputs=bt.output_objects(s3, output_uri),
            )
    except bt.TransformError as error:
        sys.stderr.write(f"{PROGRAM}: transform: {error}\n")
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as error:
        sys.stderr.write(f"{PROGRAM}: transform: {target.describe()}: {error}\n")
        return EXIT_FAILED
    if args.json:
        _print_json(job.to_json())
    else:
        sys.stdout.write(bt.render(job) + "\n")
    return 0 if job.status in ("Completed", "InProgress") else EXIT_FAILED
