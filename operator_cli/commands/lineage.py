"""`lineage files | endpoints | history`: which data trained a served model, and where a data file went."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from operator_cli import lineage
from operator_cli.commands.common import Parser, failed, target_of
from operator_cli.target import TargetError, add_target_flags, stack_outputs


def add_parsers(commands: Any) -> None:
    """Add `lineage` and its three questions to the command line."""
    parser = commands.add_parser(
        "lineage",
        help="which data trained the model an endpoint serves, which endpoints used a file, deployment history",
        description="Answer lineage questions from the run records a deployed pipeline writes, in the local "
        "runtime (--endpoint-url) or on AWS (--profile/--region).",
    )
    questions = parser.add_subparsers(
        dest="question", required=True, metavar="{files,endpoints,history}", parser_class=Parser
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


def _lineage(args: argparse.Namespace) -> int:
    target = target_of(args)
    try:
        location = lineage.PipelineLocation.from_outputs(args.pipeline, stack_outputs(target, args.pipeline))
        records = lineage.RunRecords(target.s3(), location)
        sagemaker = target.sagemaker()
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
            deployments = lineage.endpoint_history(sagemaker, records, endpoint)
            answer = {"endpoint": endpoint, "deployments": lineage.history_to_json(deployments)}
            text = lineage.render_history(endpoint, deployments)
    except lineage.LineageNotFoundError as error:
        return failed("lineage", f"{error} in {target.describe()}")
    except (TargetError, lineage.LineageError) as error:
        return failed("lineage", str(error))
    except (ClientError, BotoCoreError) as error:
        return failed("lineage", f"{target.describe()}: {error}")
    sys.stdout.write((json.dumps(answer, indent=2) if args.json else text) + "\n")
    return 0
