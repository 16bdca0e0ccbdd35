"""`runs start | list | show | follow`: a pipeline's executions, on AWS or in the local runtime."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from botocore.exceptions import BotoCoreError, ClientError

from contract.outputs import STATE_MACHINE_ARN, stack_name
from lambdas.check_data.core import MAX_WINDOW_DAYS
from lambdas.common.errors import InvalidRunInputError
from operator_cli import runs
from operator_cli.commands.common import EXIT_FAILED, Parser, UsageError, failed, now, print_json, target_of
from operator_cli.executions import ExecutionNotFoundError, describe_execution
from operator_cli.progress import Console, format_state
from operator_cli.states import StateRun
from operator_cli.target import Target, TargetError, add_target_flags, stack_outputs

if TYPE_CHECKING:
    from types_boto3_stepfunctions import SFNClient


def add_parsers(commands: Any) -> None:
    """Add `runs` and its four actions to the command line."""
    parser = commands.add_parser(
        "runs",
        help="start, list, show and follow a pipeline's runs (executions), on AWS or in the local runtime",
        description="A pipeline's runs from the command line: on AWS (--profile/--region, the stack found by the "
        "pipeline's name) or in the local runtime (--endpoint-url). Every command takes --json.",
    )
    actions = parser.add_subparsers(
        dest="action", required=True, metavar="{start,list,show,follow}", parser_class=Parser
    )
    start = actions.add_parser(
        "start",
        help="start a run with the input the console takes, checked as the workflow checks it",
        description="Start an execution with the input a person would type in the console; the input is checked "
        "by CheckData's own validation before anything starts. Prints the execution ARN (with --json, its name and "
        "input too).",
    )
    start.add_argument("--force", action="store_true", help="train even if no data is newer than the watermark")
    start.add_argument(
        "--window-days", type=int, help=f"days of data to train on, 1..{MAX_WINDOW_DAYS} (default: the pipeline's)"
    )
    start.add_argument("--end-date", help="YYYY-MM-DD: the window's last day (default: the day the run starts, UTC)")
    start.add_argument(
        "--deploy",
        action="store_true",
        help="deploy the model of a backfill (a window older than the watermark's day) when it passes; without it a "
        "backfill only registers its model (a run on new data deploys either way)",
    )
    start.add_argument("--name", help="the execution's name (default: cli-<UTC time>-<random>)")
    start.add_argument("--follow", action="store_true", help="then follow the run until it ends")
    listing = actions.add_parser(
        "list",
        help="recent runs with status, duration, data window, training job, metric and outcome",
        description="The newest runs, newest first. One ListExecutions call and one GetExecutionHistory call "
        "(the newest events only) per run.",
    )
    listing.add_argument("--limit", type=int, default=20, help=f"how many runs (1..{runs.MAX_LIST_LIMIT}, default 20)")
    listing.add_argument("--status", type=str.upper, choices=runs.STATUSES, help="only runs with this status")
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
    target = target_of(args)
    try:
        state_machine = _state_machine_arn(target, args.pipeline) if args.pipeline else None
        sfn = target.stepfunctions()
        if args.action == "start":
            return _start(args, sfn, str(state_machine), where=target.describe())
        if args.action == "list":
            return _list(args, sfn, str(state_machine))
        arn = runs.execution_arn(args.execution, state_machine)
        if args.action == "show":
            return _show(args, sfn, arn, where=target.describe())
        return _follow(args, sfn, arn, where=target.describe())
    except runs.RunsError as error:
        raise UsageError(str(error)) from None
    except (TargetError, ExecutionNotFoundError) as error:
        return failed("runs", str(error))
    except ClientError as error:
        message = error.response["Error"].get("Message") or error.response["Error"].get("Code")
        return failed("runs", f"{target.describe()}: {message}")
    except BotoCoreError as error:
        return failed("runs", f"{target.describe()}: {error}")


def _state_machine_arn(target: Target, pipeline: str) -> str:
    outputs = stack_outputs(target, pipeline)
    if STATE_MACHINE_ARN not in outputs:
        raise TargetError(f"stack {stack_name(pipeline)} has no output {STATE_MACHINE_ARN}")
    return outputs[STATE_MACHINE_ARN]


def _start(args: argparse.Namespace, sfn: SFNClient, state_machine: str, *, where: str) -> int:
    try:
        execution_input = runs.run_input(
            force=args.force, window_days=args.window_days, end_date=args.end_date, deploy=args.deploy
        )
    except InvalidRunInputError as error:
        raise UsageError(f"invalid run input: {error}") from None
    name = runs.check_execution_name(args.name) if args.name else runs.default_execution_name(now(), uuid4().hex[:6])
    arn = runs.start_run(sfn, state_machine, name=name, execution_input=execution_input)
    if args.json:
        started = {"event": "started", "execution_arn": arn, "name": name, "input": execution_input}
        sys.stdout.write(json.dumps(started) + "\n" if args.follow else json.dumps(started, indent=2) + "\n")
    else:
        sys.stdout.write(arn + "\n")
    sys.stdout.flush()
    return _follow(args, sfn, arn, where=where) if args.follow else 0


def _list(args: argparse.Namespace, sfn: SFNClient, state_machine: str) -> int:
    summaries = runs.list_runs(sfn, state_machine, limit=args.limit, status=args.status)
    if args.json:
        print_json([summary.to_json(now()) for summary in summaries])
    elif not summaries:
        sys.stdout.write(f"no runs of pipeline {args.pipeline}" + (f" {args.status}" if args.status else "") + "\n")
    else:
        sys.stdout.write(runs.render_list(summaries, now()) + "\n")
    return 0


def _show(args: argparse.Namespace, sfn: SFNClient, arn: str, *, where: str) -> int:
    summary, steps = runs.describe_run(sfn, arn, where=where)
    if args.json:
        print_json({**summary.to_json(now()), "input": summary.input, "steps": [runs.step_to_json(s) for s in steps]})
    else:
        sys.stdout.write(runs.render_show(summary, steps, now()) + "\n")
    return 0


def _follow(args: argparse.Namespace, sfn: SFNClient, arn: str, *, where: str) -> int:
    describe_execution(sfn, arn, where=where)  # before any output: a wrong name fails with nothing printed
    console = Console(sys.stdout)

    def on_state(step: StateRun) -> None:
        if args.json:
            console.line(json.dumps({"event": "state", **runs.step_to_json(step)}))
        else:
            console.line(format_state(step, color=console.color))

    if not args.json:
        console.line(f"Following {arn.split(':')[-1]} (Ctrl-C stops following, not the run)")
    summary, steps = runs.follow_run(sfn, arn, on_state=on_state)
    if args.json:
        console.line(json.dumps({"event": "ended", **summary.to_json(now())}))
    else:
        for line in runs.render_end(summary, steps, now()):
            console.line(line)
    return 0 if summary.status == "SUCCEEDED" else EXIT_FAILED
