"""`transform`: a batch transform job with a pipeline's model over a day's data (or any S3 prefix)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from contract.outputs import DATA_BUCKET_NAME, ENDPOINT_NAME, stack_name
from lambdas.common.transform import (
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_PREDICTIONS_PREFIX,
    DROP_LABEL_FILTER,
    JSONLINES,
    TransformRequestError,
    predictions_uri,
    split_s3_uri,
    transform_job_request,
)
from operator_cli import batch_transform as bt
from operator_cli.commands.common import EXIT_FAILED, UsageError, failed, now, print_json, target_of
from operator_cli.target import Target, TargetError, add_target_flags, stack_outputs


def add_parsers(commands: Any) -> None:
    """Add `transform` to the command line."""
    parser = commands.add_parser(
        "transform",
        help="run a batch transform job with a pipeline's model over a day's data (or any S3 prefix)",
        description="Create a SageMaker batch transform job: every object of the input, one CSV record a line, "
        "through the model the pipeline's endpoint serves (or --model); each object's predictions are written "
        "as <output>/<name>.out, one line per record. The default output mirrors the input's folder under the "
        f"predictions prefix ({DEFAULT_PREDICTIONS_PREFIX}/), never inside the pipeline's data prefix.",
    )
    add_target_flags(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="S3_URI", help="an S3 object or prefix (s3://bucket/key)")
    source.add_argument(
        "--day", metavar="YYYY-MM-DD", help="the day's data under the pipeline's data prefix (either layout)"
    )
    parser.add_argument("--output", metavar="S3_URI", help="the job's S3OutputPath (default: see above)")
    parser.add_argument("--model", help="the SageMaker model (default: the one the pipeline's endpoint serves)")
    parser.add_argument(
        "--data-prefix",
        help="the pipeline's data prefix, for --day (default: the stack's DataPrefix output, when it has one)",
    )
    parser.add_argument(
        "--predictions-prefix",
        default=DEFAULT_PREDICTIONS_PREFIX,
        help=f"where default outputs go (default {DEFAULT_PREDICTIONS_PREFIX})",
    )
    parser.add_argument(
        "--input-filter",
        help=f"DataProcessing InputFilter (default: {DROP_LABEL_FILTER} for --day, whose files are label first; "
        "none for --input)",
    )
    parser.add_argument("--content-type", default="text/csv", help="the records' content type (default text/csv)")
    parser.add_argument(
        "--accept",
        default=JSONLINES,
        help=f"the predictions' content type (default {JSONLINES}: a JSON answer per record, as Linear Learner "
        "writes it; text/csv for a pipeline whose last container answers CSV)",
    )
    parser.add_argument("--instance-type", default=DEFAULT_INSTANCE_TYPE, help=f"default {DEFAULT_INSTANCE_TYPE}")
    parser.add_argument("--instance-count", type=int, default=1, help="default 1")
    parser.add_argument("--kms-key-id", help="encrypt the predictions with this KMS key (SSE-KMS)")
    parser.add_argument("--wait", action="store_true", help="wait for the job to end; exit 1 unless Completed")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=_transform)


def _transform(args: argparse.Namespace) -> int:
    try:
        day = bt.parse_day(args.day) if args.day else None
        if args.input:
            split_s3_uri(args.input)
        if args.output:
            split_s3_uri(args.output)
    except (bt.TransformInputError, TransformRequestError) as error:
        raise UsageError(str(error)) from None
    target = target_of(args)
    try:
        outputs = stack_outputs(target, args.pipeline)
    except TargetError as error:
        return failed("transform", str(error))
    try:
        job, request = _job_request(args, target, outputs, day)
    except (bt.TransformInputError, TransformRequestError) as error:
        raise UsageError(str(error)) from None
    except bt.TransformError as error:
        return failed("transform", str(error))
    except (ClientError, BotoCoreError) as error:
        return failed("transform", f"{target.describe()}: {error}")
    try:
        job = _run(args, target, job, request)
    except bt.TransformError as error:
        return failed("transform", str(error))
    except (ClientError, BotoCoreError) as error:
        return failed("transform", f"{target.describe()}: {error}")
    if args.json:
        print_json(job.to_json())
    else:
        sys.stdout.write(bt.render(job) + "\n")
    return 0 if job.status in ("Completed", "InProgress") else EXIT_FAILED


def _job_request(
    args: argparse.Namespace, target: Target, outputs: dict[str, str], day: date | None
) -> tuple[bt.TransformJob, dict[str, Any]]:
    """The job to create and its CreateTransformJob request, from the arguments and the stack's outputs."""
    data_prefix = args.data_prefix or outputs.get(bt.DATA_PREFIX_OUTPUT)
    if day is not None:
        if not data_prefix:
            raise bt.TransformInputError(
                f"--day needs the pipeline's data prefix: stack {stack_name(args.pipeline)} has no output "
                f"{bt.DATA_PREFIX_OUTPUT}, pass --data-prefix"
            )
        bucket = outputs[DATA_BUCKET_NAME]
        input_key = bt.find_day_input(target.s3(), bucket, data_prefix, day)
    else:
        bucket, input_key = split_s3_uri(args.input)
        bt.require_input(target.s3(), args.input, target.describe())
    input_uri = f"s3://{bucket}/{input_key}"
    output_uri = args.output or predictions_uri(bucket, args.predictions_prefix, input_key, data_prefix=data_prefix)
    input_filter = args.input_filter if args.input_filter is not None else (DROP_LABEL_FILTER if day else None)
    if args.model:
        bt.require_model(target.sagemaker(), args.model, target.describe())
    model = args.model or bt.serving_model(target.sagemaker(), outputs.get(ENDPOINT_NAME, ""), target.describe())
    name = bt.transform_job_name(args.pipeline, now())
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
    return bt.TransformJob(name=name, model=model, input_uri=input_uri, output_uri=output_uri), request


def _run(args: argparse.Namespace, target: Target, job: bt.TransformJob, request: dict[str, Any]) -> bt.TransformJob:
    """Create the job; with --wait, wait for its end and return it with its status and outputs."""
    sagemaker = target.sagemaker()
    sagemaker.create_transform_job(**request)
    if not args.wait:
        return job
    described = bt.wait_for_job(sagemaker, job.name, poll_seconds=1.0 if target.is_local else 10.0)
    return bt.TransformJob(
        name=job.name,
        model=job.model,
        input_uri=job.input_uri,
        output_uri=job.output_uri,
        status=described["TransformJobStatus"],
        failure_reason=described.get("FailureReason") or None,
        outputs=bt.output_objects(target.s3(), job.output_uri),
    )
