"""`models`, `approve` and `reject`: a pipeline's model versions, and deciding on the one a run waits for."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from operator_cli.approvals import ApprovalError, decide, list_versions
from operator_cli.commands.common import UsageError, target_of
from operator_cli.target import add_target_flags

_Answer = TypeVar("_Answer")


def add_parsers(commands: Any) -> None:
    """Add `models`, `approve` and `reject` to the command line."""
    models = commands.add_parser(
        "models",
        help="list a pipeline's model versions in the registry, newest first",
        description="The versions of <pipeline>-models with their approval status, training job and metrics.",
    )
    _target_flags(models)
    models.add_argument("--limit", type=int, default=20, help="how many versions (default 20)")
    models.set_defaults(handler=_models)
    for name in ("approve", "reject"):
        decision = commands.add_parser(
            name,
            help=f"{name} a model version a run waits for; the run resumes",
            description=f"{name.capitalize()} a version in PendingManualApproval (the only one waiting, unless "
            "--version names it), as the SageMaker console does: the waiting run resumes and "
            + ("deploys it." if name == "approve" else "ends without deploying it."),
        )
        _target_flags(decision)
        decision.add_argument("--version", type=int, help="the version number (default: the one waiting)")
        decision.add_argument("--reason", help="why, recorded as the version's approval description")
        decision.set_defaults(handler=_decide, approve=name == "approve")


def _target_flags(parser: argparse.ArgumentParser) -> None:
    add_target_flags(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _models(args: argparse.Namespace) -> int:
    sagemaker = target_of(args).sagemaker()
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
    sagemaker = target_of(args).sagemaker()
    decided = _registry_call(
        lambda: decide(sagemaker, args.pipeline, approve=args.approve, version=args.version, reason=args.reason)
    )
    if args.json:
        sys.stdout.write(json.dumps(decided.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(f"version {decided.version} of {args.pipeline}-models is now {decided.status}\n")
    return 0


def _registry_call(call: Callable[[], _Answer]) -> _Answer:
    try:
        return call()
    except ApprovalError as error:
        raise UsageError(str(error)) from None
    except ClientError as error:
        raise UsageError(f"AWS answered {error.response['Error'].get('Code')}: {error}") from None
    except BotoCoreError as error:
        raise UsageError(str(error)) from None
