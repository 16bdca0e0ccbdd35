"""What every command shares: the program's name, exit codes, the usage error, and the target it talks to."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from operator_cli.target import Target, TargetError, resolve_target

PROGRAM = "sagemaker-retraining"
EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """The command line is wrong; the message is the one line to show."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the usage and exits; one line and an exit code from main() read better.
        raise UsageError(message)


def run(parser: Callable[[], Parser], argv: Sequence[str] | None, *, program: str) -> int:
    """Parse the arguments and run the chosen command's handler; its exit code, 2 for a usage error (said in one
    line on stderr), 130 for Ctrl-C."""
    try:
        args = parser().parse_args(argv)
        return int(args.handler(args))
    except SystemExit as exit_request:  # --help
        return int(exit_request.code or 0)
    except UsageError as error:
        sys.stderr.write(f"{program}: error: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write(f"{program}: interrupted\n")
        return EXIT_INTERRUPTED


def target_of(args: argparse.Namespace) -> Target:
    """The AWS (or local runtime) the command's --endpoint-url/--profile/--region name; UsageError when they clash."""
    try:
        return resolve_target(endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
    except TargetError as error:
        raise UsageError(str(error)) from None


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def failed(command: str, message: str) -> int:
    """Say on stderr why the command failed after it reached AWS; the exit code to return."""
    sys.stderr.write(f"{PROGRAM}: {command}: {message}\n")
    return EXIT_FAILED


def now() -> datetime:
    return datetime.now(UTC)
