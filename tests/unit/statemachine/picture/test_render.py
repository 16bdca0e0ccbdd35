"""The command: rendering with Graphviz where it is installed, and where the README says how to run it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from statemachine.picture import render, stamp
from statemachine.picture.dot import to_dot
from tests.unit.statemachine.picture.small_asl import SMALL_ASL


def test_readme_shows_the_picture_and_the_command_that_redraws_it() -> None:
    readme = (render.PROJECT_ROOT / "README.md").read_text()

    assert "](docs/workflow.svg)" in readme
    assert stamp.REGENERATE_COMMAND in readme


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed (apt-get install graphviz)")
def test_the_command_renders_a_stamped_svg_and_png(tmp_path: Path) -> None:
    # GIVEN the small ASL in a file
    asl = tmp_path / "small.asl.json"
    asl.write_text(json.dumps(SMALL_ASL))
    svg, png = tmp_path / "out" / "w.svg", tmp_path / "out" / "w.png"

    # WHEN the command draws it
    status = render.main(["--asl", str(asl), "--svg", str(svg), "--png", str(png)])

    # THEN both pictures carry the DOT's hash, and the SVG shows every state
    digest = stamp.dot_sha256(to_dot(SMALL_ASL))
    assert status == 0
    assert stamp.svg_stamp(svg.read_bytes()) == digest
    assert stamp.png_stamp(png.read_bytes()) == digest
    assert all(f">{name}<" in svg.read_text() for name in SMALL_ASL["States"])


def test_without_graphviz_the_command_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    asl = tmp_path / "small.asl.json"
    asl.write_text(json.dumps(SMALL_ASL))

    status = render.main(["--asl", str(asl), "--svg", str(tmp_path / "w.svg"), "--png", str(tmp_path / "w.png")])

    assert status == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not (tmp_path / "w.svg").exists()
