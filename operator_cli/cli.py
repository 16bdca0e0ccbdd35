"""`sagemaker-retraining runs | models | approve | reject | rollback | lineage | predict | transform`: a deployed
pipeline from the command line, on AWS (`--profile/--region`) or in the local runtime (`--endpoint-url`)."""

from __future__ import annotations

from collections.abc import Sequence

from operator_cli.commands import lineage, predict, registry, rollback, runs, transform
from operator_cli.commands.common import PROGRAM, Parser, run

COMMANDS = ("runs", "models", "approve", "reject", "rollback", "lineage", "predict", "transform")


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; return the exit code (2 for usage errors, 1 when AWS or the run said no)."""
    return run(parser, argv, program=PROGRAM)


def parser() -> Parser:
    """The command line: one subcommand per question an operator asks of a deployed pipeline."""
    command_line = Parser(
        prog=PROGRAM,
        description="Operate a deployed retraining pipeline: on AWS (--profile/--region; the pipeline's stack is "
        "found by its name) or in the local runtime (--endpoint-url, e.g. http://127.0.0.1:4566 from `make serve`).",
    )
    commands = command_line.add_subparsers(
        dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}", parser_class=Parser
    )
    runs.add_parsers(commands)
    registry.add_parsers(commands)
    rollback.add_parsers(commands)
    lineage.add_parsers(commands)
    predict.add_parsers(commands)
    transform.add_parsers(commands)
    return command_line
