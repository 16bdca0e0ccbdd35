"""Gzip read as a stream: the run's `.csv.gz` files are checked and scored as they download, never held whole."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

# Every gzip member starts with these two bytes (RFC 1952: ID1, ID2).
GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WINDOW_BITS = 16 + zlib.MAX_WBITS  # zlib then reads a gzip header and trailer


class Gunzip:
    """Decompresses a gzip stream fed in chunks, at most `max_piece` bytes out at a time, so memory stays bounded
    however well the data compresses; members written one after another are read in turn, as gzip reads them."""

    def __init__(self, max_piece: int) -> None:
        self._max_piece = max_piece
        self._inflate = zlib.decompressobj(_GZIP_WINDOW_BITS)
        self._in_member = False

    @property
    def complete(self) -> bool:
        """Whether the data fed so far ends where a member ends (or was empty): False for a truncated file."""
        return not self._in_member

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decompressed bytes of `data`, in pieces; raise zlib.error when it is not gzip."""
        while True:
            if data:
                self._in_member = True
            piece = self._inflate.decompress(data, self._max_piece)
            if piece:
                yield piece
            if self._inflate.eof:
                data = self._inflate.unused_data
                self._inflate = zlib.decompressobj(_GZIP_WINDOW_BITS)
                self._in_member = False
                if not data:
                    return
            else:
                data = self._inflate.unconsumed_tail
                if not data and not piece:
                    return


def gunzip_lines(chunks: Iterator[bytes], *, max_piece: int = 1 << 20) -> Iterator[bytes]:
    """The lines (without their line break) of a gzip stream given in chunks; raise zlib.error when it is not gzip,
    EOFError when it ends inside a member."""
    gunzip = Gunzip(max_piece)
    pending = b""
    for chunk in chunks:
        for piece in gunzip.feed(chunk):
            lines = (pending + piece).split(b"\n")
            pending = lines.pop()
            yield from lines
    if not gunzip.complete:
        raise EOFError("the gzip data ends early: the file is truncated")
    if pending:
        yield pending
