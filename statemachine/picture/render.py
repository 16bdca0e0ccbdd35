"""Drawing with Graphviz, and the `python -m statemachine.picture` command that rewrites docs/workflow.*."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import statemachine.picture
from statemachine.picture.dot import to_dot
from statemachine.picture.stamp import dot_sha256, stamp_png, stamp_svg

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = PROJECT_ROOT / "statemachine" / "retraining.asl.json"
SVG_PATH = PROJECT_ROOT / "docs" / "workflow.svg"
PNG_PATH = PROJECT_ROOT / "docs" / "workflow.png"
# Crisp on a high-density screen, still a few hundred KB.
PNG_DPI = 110


class GraphvizMissingError(RuntimeError):
    """The `dot` program is not installed."""


def render(dot: str, output_format: Literal["svg", "png"], *, dot_program: str = "dot") -> bytes:
    """The picture Graphviz draws from DOT source, stamped with the DOT's hash.

    Raises GraphvizMissingError when `dot` is not installed, subprocess.CalledProcessError when it fails.
    """
    program = shutil.which(dot_program)
    if program is None:
        raise GraphvizMissingError(f"Graphviz's `{dot_program}` is not installed: apt-get install graphviz")
    arguments = [program, f"-T{output_format}"] + ([f"-Gdpi={PNG_DPI}"] if output_format == "png" else [])
    drawn = subprocess.run(arguments, input=dot.encode(), capture_output=True, check=True).stdout
    digest = dot_sha256(dot)
    return stamp_svg(drawn, digest) if output_format == "svg" else stamp_png(drawn, digest)


def main(argv: Sequence[str] | None = None) -> int:
    """Draw the ASL to the SVG and PNG (or print its DOT with --dot); 1 when Graphviz is not installed."""
    description = (statemachine.picture.__doc__ or "").splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m statemachine.picture", description=description)
    parser.add_argument("--asl", type=Path, default=ASL_PATH, help="the ASL file (default: %(default)s)")
    parser.add_argument("--svg", type=Path, default=SVG_PATH, help="where to write the SVG (default: %(default)s)")
    parser.add_argument("--png", type=Path, default=PNG_PATH, help="where to write the PNG (default: %(default)s)")
    parser.add_argument("--dot", action="store_true", help="print the DOT source instead of rendering it")
    arguments = parser.parse_args(argv)
    dot = to_dot(json.loads(arguments.asl.read_text()))
    if arguments.dot:
        sys.stdout.write(dot)
        return 0
    try:
        for path, picture in ((arguments.svg, render(dot, "svg")), (arguments.png, render(dot, "png"))):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(picture)
            sys.stdout.write(f"wrote {path}\n")
    except GraphvizMissingError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    return 0
