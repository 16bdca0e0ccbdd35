"""`models`, `approve` and `reject`: a pipeline's model versions, and deciding on the one a run waits for."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from contract.outputs import model_package_group
from operator_cli.approvals import MAX_LISTED, ApprovalError, ModelVersion, decide, group_exists, list_versions
from operator_cli.commands.common import UsageError, failed, target_of
from operator_cli.target import PipelineNotFoundError, Target, TargetError, add_target_flags, stack_outputs


def add_parsers(commands: Any) -> None:
    """Add `models`, `approve` and `reject` to the command line."""
    models = commands.add_parser(
        "models",
        help="list a pipeline's model versions in the registry, newest first",
        description="The versions of <pipeline>-models with their approval status, training job and metrics.",
    )
    _target_flags(models)
    models.add_argument("--limit", type=int, default=20, help=f"how many versions (1..{MAX_LISTED}, default 20)")
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
    if not 1 <= args.limit <= MAX_LISTED:
        raise UsageError(f"--limit must be from 1 to {MAX_LISTED}, got {args.limit}")
    target = target_of(args)
    try:
        versions = _versions(target, args.pipeline, limit=args.limit)
    except _REGISTRY_ERRORS as error:
        return _failed(target, "models", error)
    if args.json:
        sys.stdout.write(json.dumps([v.to_json() for v in versions], indent=2) + "\n")
        return 0
    if not versions:
        sys.stdout.write(
            f"no model versions registered for pipeline {args.pipeline}: its model package group "
            f"{model_package_group(args.pipeline)} comes with the first version a run registers\n"
        )
    for version in versions:
        metrics = ", ".join(f"{name} {value:.6g}" for name, value in sorted(version.metrics.items())[:3])
        sys.stdout.write(
            f"{version.version:>4}  {version.status:<22} {version.created[:19]}  {version.training_job or '-'}"
            + (f"  {metrics}" if metrics else "")
            + "\n"
        )
    return 0


def _decide(args: argparse.Namespace) -> int:
    if args.version is not None and args.version < 1:
        raise UsageError(f"--version must be 1 or more, got {args.version}")
    target = target_of(args)
    try:
        decided = _decided(target, args)
    except _REGISTRY_ERRORS as error:
        return _failed(target, args.command, error)
    if args.json:
        sys.stdout.write(json.dumps(decided.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(f"version {decided.version} of {args.pipeline}-models is now {decided.status}\n")
    return 0


def _versions(target: Target, pipeline: str, *, limit: int) -> list[ModelVersion]:
    """The newest versions; none for a deployed pipeline that registered none yet (the first creates the group)."""
    if group_exists(target.sagemaker(), pipeline):
        return list_versions(target.sagemaker(), pipeline, limit=limit)
    _require_pipeline(target, pipeline)
    return []


def _decided(target: Target, args: argparse.Namespace) -> ModelVersion:
    """Approve or reject as the arguments say; raise ApprovalError or TargetError naming what is not there."""
    if not group_exists(target.sagemaker(), args.pipeline):
        _require_pipeline(target, args.pipeline)
        raise ApprovalError(
            f"model package group {model_package_group(args.pipeline)} not found in {target.describe()}: pipeline "
            f"{args.pipeline} has registered no version yet (a run creates the group with its first version)"
        )
    return decide(
        target.sagemaker(),
        args.pipeline,
        approve=args.approve,
        version=args.version,
        reason=args.reason,
        where=target.describe(),
    )


def _require_pipeline(target: Target, pipeline: str) -> None:
    """The pipeline's group does not exist: raise PipelineNotFoundError unless the pipeline's stack does."""
    try:
        stack_outputs(target, pipeline)
    except PipelineNotFoundError as error:
        raise PipelineNotFoundError(f"{error}; no model package group {model_package_group(pipeline)} either") from None


_REGISTRY_ERRORS = (ApprovalError, TargetError, ClientError, BotoCoreError)


def _failed(target: Target, command: str, error: Exception) -> int:
    """Say why the registry (or the target) said no; exit code 1."""
    if isinstance(error, ClientError):
        return failed(command, f"{target.describe()} answered {error.response['Error'].get('Code')}: {error}")
    if isinstance(error, BotoCoreError):
        return failed(command, f"{target.describe()}: {error}")
    return failed(command, str(error))
