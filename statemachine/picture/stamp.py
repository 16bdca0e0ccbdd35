"""The staleness stamp: the DOT's sha256, carried in the SVG and the PNG and read back without Graphviz."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib

REGENERATE_COMMAND = "make picture"
HASH_KEY = "dot-sha256"


def dot_sha256(dot: str) -> str:
    """The hash a picture is stamped with: the sha256 of the DOT it was drawn from, in hex."""
    return hashlib.sha256(dot.encode()).hexdigest()


def stamp_svg(svg: bytes, digest: str) -> bytes:
    """The SVG with a comment naming the DOT's hash, right after the XML declaration."""
    comment = f"<!-- {HASH_KEY}: {digest} (regenerate with: {REGENERATE_COMMAND}) -->\n".encode()
    if svg.startswith(b"<?xml"):
        end = svg.index(b"?>") + 2
        newline = 1 if svg[end : end + 1] == b"\n" else 0
        return svg[: end + newline] + comment + svg[end + newline :]
    return comment + svg


def svg_stamp(svg: bytes) -> str | None:
    """The DOT hash an SVG carries, or None."""
    found = re.search(rb"<!-- " + HASH_KEY.encode() + rb": ([0-9a-f]{64})", svg)
    return found.group(1).decode() if found else None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    chunks, offset = [], len(_PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        chunks.append((kind, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def stamp_png(png: bytes, digest: str) -> bytes:
    """The PNG with a tEXt chunk naming the DOT's hash, right after the header chunk (IHDR).

    Raises ValueError when the bytes are not a PNG.
    """
    chunks = [(kind, data) for kind, data in _png_chunks(png) if not _is_stamp(kind, data)]
    stamp = (b"tEXt", HASH_KEY.encode() + b"\x00" + digest.encode())
    chunks.insert(1, stamp)
    return _PNG_SIGNATURE + b"".join(_png_chunk(kind, data) for kind, data in chunks)


def _is_stamp(kind: bytes, data: bytes) -> bool:
    return kind == b"tEXt" and data.startswith(HASH_KEY.encode() + b"\x00")


def png_stamp(png: bytes) -> str | None:
    """The DOT hash a PNG carries, or None. Raises ValueError when the bytes are not a PNG."""
    for kind, data in _png_chunks(png):
        if _is_stamp(kind, data):
            return data.split(b"\x00", 1)[1].decode()
    return None
