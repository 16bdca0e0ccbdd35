"""`rollback`: deploy the previously served (or a chosen Approved) model version again, as a run deploys."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from operator_cli import rollback
from operator_cli.commands.common import EXIT_FAILED, UsageError, failed, now, print_json, target_of
from operator_cli.rollback_endpoint import (
    PipelineResources,
    RollbackError,
    caller_identity,
    wait_for_endpoint,
)
from operator_cli.rollback_versions import parse_version
from operator_cli.target import TargetError, add_target_flags, stack_outputs


def add_parsers(commands: Any) -> None:
    """Add `rollback` to the command line."""
    parser = commands.add_parser(
        "rollback",
        help="deploy the previously served (or a chosen Approved) model version again, without downtime",
        description="Put back on the pipeline's endpoint the registry version it served before the current one "
        "(the newest older Approved version the run records show deployed there), or the Approved version "
        "--version names, as a run deploys: a new endpoint config and a blue/green UpdateEndpoint, with the "
        "guarded rollout of the endpoint's last deployment when it had one. Refused while a run of the pipeline "
        "is in progress. Recorded, with who asked and why, as runs/<pipeline>/rollback-<UTC time>.json under the "
        "run records. The watermark is left alone: the next run trains and is judged as usual, and its model "
        "replaces the rolled back one if it passes the quality gate.",
    )
    add_target_flags(parser)
    parser.add_argument(
        "--version",
        help="the version to deploy: its number in <pipeline>-models, or its ARN (default: the previously served)",
    )
    parser.add_argument("--reason", help="why, kept in the rollback's record")
    parser.add_argument(
        "--no-rollout",
        action="store_true",
        help="update without the guarded rollout's traffic shifting and alarms (still blue/green); for when the "
        "rollout's alarms are already in ALARM because of the serving model",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="return once SageMaker accepted the update, before InService"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=_rollback)


def _rollback(args: argparse.Namespace) -> int:
    try:
        selector = parse_version(args.version) if args.version is not None else None
    except ValueError as error:
        raise UsageError(str(error)) from None
    target = target_of(args)
    try:
        resources = PipelineResources.from_outputs(args.pipeline, stack_outputs(target, args.pipeline))
        caller = caller_identity(target.sts())
        plan = rollback.plan_rollback(
            sagemaker=target.sagemaker(),
            s3=target.s3(),
            sfn=target.stepfunctions(),
            cloudwatch=target.cloudwatch(),
            resources=resources,
            selector=selector,
            use_rollout=not args.no_rollout,
            now=now(),
            where=target.describe(),
        )
        if not args.json:
            how = rollback.describe_rollout(plan.deployment_config)
            sys.stderr.write(
                f"Rolling back endpoint {plan.serving.endpoint_name} from model {plan.serving.model_name} to "
                f"{plan.version.describe()} (model {plan.model_name}): {how}"
                + ("" if args.no_wait else "; waiting for InService")
                + "\n"
            )
        wait = functools.partial(
            wait_for_endpoint,
            target.sagemaker(),
            plan.serving.endpoint_name,
            poll_seconds=1.0 if target.is_local else 15.0,
        )
        result = rollback.roll_back(
            target.sagemaker(),
            target.s3(),
            plan,
            caller=caller,
            reason=args.reason,
            clock=now,
            wait=None if args.no_wait else wait,
            autoscaling=target.application_autoscaling(),
        )
    except (RollbackError, TargetError) as error:
        return failed("rollback", str(error))
    except (ClientError, BotoCoreError) as error:
        return failed("rollback", f"{target.describe()}: {error}")
    if args.json:
        print_json(rollback.to_json(result))
    else:
        sys.stdout.write(rollback.render(result) + "\n")
    # Not waited for, an accepted update is all the command promised.
    succeeded = result.outcome == rollback.DEPLOYED or (args.no_wait and result.outcome == rollback.REQUESTED)
    return 0 if succeeded else EXIT_FAILED
