"""The hash stamps, and the committed picture's freshness against the current ASL."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from statemachine.picture import render, stamp
from statemachine.picture.dot import to_dot

STALE_HINT = f"run `{stamp.REGENERATE_COMMAND}` (python -m statemachine.picture) and commit docs/workflow.*"


@pytest.mark.parametrize(
    ("path", "read_stamp"),
    [(render.SVG_PATH, stamp.svg_stamp), (render.PNG_PATH, stamp.png_stamp)],
    ids=["svg", "png"],
)
def test_committed_picture_was_drawn_from_the_current_asl(path: Path, read_stamp: Any) -> None:
    # GIVEN the DOT the current ASL gives (pure Python: no Graphviz needed)
    expected = stamp.dot_sha256(to_dot(json.loads(render.ASL_PATH.read_text())))

    # WHEN the committed picture's stamp is read
    assert path.exists(), f"{path.relative_to(render.PROJECT_ROOT)} is missing: {STALE_HINT}"
    found = read_stamp(path.read_bytes())

    # THEN it names that DOT
    assert found == expected, f"{path.relative_to(render.PROJECT_ROOT)} is stale against the ASL: {STALE_HINT}"


def test_a_changed_asl_gives_a_different_stamp() -> None:
    # GIVEN the real ASL with one more choice rule
    definition = json.loads(render.ASL_PATH.read_text())
    changed = json.loads(render.ASL_PATH.read_text())
    choice = next(state for state in changed["States"].values() if state["Type"] == "Choice")
    choice["Choices"].append({"Variable": "$.extra", "BooleanEquals": True, "Next": changed["StartAt"]})

    # THEN the staleness test would notice
    assert stamp.dot_sha256(to_dot(changed)) != stamp.dot_sha256(to_dot(definition))


def minimal_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )


def test_png_stamp_round_trips_and_replaces_an_older_stamp() -> None:
    once = stamp.stamp_png(minimal_png(), "a" * 64)
    twice = stamp.stamp_png(once, "b" * 64)

    assert stamp.png_stamp(minimal_png()) is None
    assert stamp.png_stamp(once) == "a" * 64
    assert stamp.png_stamp(twice) == "b" * 64
    assert twice.count(b"tEXt") == 1
    assert len(twice) == len(minimal_png()) + 12 + len(b"dot-sha256\x00") + 64


def test_png_stamp_keeps_every_chunk_valid() -> None:
    stamped = stamp.stamp_png(minimal_png(), "c" * 64)

    offset = 8
    while offset < len(stamped):
        (length,) = struct.unpack(">I", stamped[offset : offset + 4])
        kind_and_data = stamped[offset + 4 : offset + 8 + length]
        (crc,) = struct.unpack(">I", stamped[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind_and_data)
        offset += 12 + length
    assert offset == len(stamped)


def test_svg_stamp_round_trips_after_the_xml_declaration() -> None:
    svg = b'<?xml version="1.0"?>\n<svg></svg>\n'

    stamped = stamp.stamp_svg(svg, "d" * 64)

    assert stamped.startswith(b'<?xml version="1.0"?>\n<!-- dot-sha256: ' + b"d" * 64)
    assert stamp.svg_stamp(stamped) == "d" * 64
    assert stamp.svg_stamp(svg) is None
