"""`predict`: CSV or JSON records through a pipeline's endpoint, one prediction per record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from contract.outputs import ENDPOINT_NAME, stack_name
from operator_cli import predict
from operator_cli.commands.common import UsageError, failed, print_json, target_of
from operator_cli.target import TargetError, add_target_flags, stack_outputs


def add_parsers(commands: Any) -> None:
    """Add `predict` to the command line."""
    parser = commands.add_parser(
        "predict",
        help="send CSV or JSON records to a pipeline's endpoint and print one prediction per record",
        description="Read records (CSV rows; or JSON: a list of objects or arrays, or JSON Lines), send them to the "
        "pipeline's endpoint with InvokeEndpoint in batches (at most --batch-size records and "
        f"{predict.MAX_PAYLOAD_BYTES} bytes each) and print each record's prediction, in the input's order.",
    )
    add_target_flags(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", metavar="FILE", help="CSV rows, no header (- reads stdin); sent as text/csv")
    source.add_argument(
        "--json-records",
        metavar="FILE",
        help='a JSON list of objects or arrays, or JSON Lines (- reads stdin); sent as {"instances": [...]}',
    )
    parser.add_argument(
        "--content-type",
        help="the request's content type: text/csv, application/json or application/jsonlines "
        "(default: text/csv for --csv, application/json for --json-records)",
    )
    parser.add_argument("--accept", help="the answer's content type to ask for (default: the endpoint's)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=predict.DEFAULT_BATCH_SIZE,
        help=f"records per request (default {predict.DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=_predict)


def _predict(args: argparse.Namespace) -> int:
    flag, path = ("--csv", args.csv) if args.csv is not None else ("--json-records", args.json_records)
    source = f"{flag} {'stdin' if path == '-' else path}"
    try:
        text = _read_input(path, source)
        records = (predict.read_csv_records if flag == "--csv" else predict.read_json_records)(text, source)
        content_type = args.content_type or (predict.CSV if flag == "--csv" else predict.JSON)
        encoding = predict.Encoding.for_content_type(content_type)
        predict.plan_batches([], encoding, batch_size=args.batch_size)
    except predict.PredictInputError as error:
        raise UsageError(str(error)) from None
    target = target_of(args)
    try:
        outputs = stack_outputs(target, args.pipeline)
        if ENDPOINT_NAME not in outputs:
            raise TargetError(f"stack {stack_name(args.pipeline)} has no output {ENDPOINT_NAME}")
        endpoint = outputs[ENDPOINT_NAME]
        predict.check_endpoint(target.sagemaker(), endpoint, target.describe())
        results = predict.invoke_batches(
            target.sagemaker_runtime(),
            endpoint,
            records,
            encoding,
            accept=args.accept,
            batch_size=args.batch_size,
        )
    except predict.PredictInputError as error:
        raise UsageError(f"{source}: {error}") from None
    except (TargetError, predict.PredictError) as error:
        return failed("predict", str(error))
    except (ClientError, BotoCoreError) as error:
        return failed("predict", f"{target.describe()}: {error}")
    if args.json:
        print_json(predict.results_to_json(endpoint, results))
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
