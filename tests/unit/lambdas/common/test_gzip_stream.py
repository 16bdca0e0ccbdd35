"""Gzip decompressed as a stream: bounded pieces, several members, truncation and bytes that are not gzip."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest

from lambdas.common.gzip_stream import GZIP_MAGIC, Gunzip, gunzip_lines


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_pieces_never_exceed_the_bound_however_well_the_data_compresses() -> None:
    # GIVEN 1 MiB of zeros: about 1 KiB compressed, fed in one chunk
    gunzip = Gunzip(max_piece=4096)

    pieces = list(gunzip.feed(gzip.compress(bytes(1 << 20))))

    assert max(len(piece) for piece in pieces) <= 4096
    assert b"".join(pieces) == bytes(1 << 20)
    assert gunzip.complete


@pytest.mark.parametrize("size", [1, 7, 1 << 16])
def test_members_one_after_another_decompress_in_order_whatever_the_chunks(size: int) -> None:
    data = os.urandom(3000)
    stream = gzip.compress(data[:1000]) + gzip.compress(data[1000:]) + gzip.compress(b"")
    gunzip = Gunzip(max_piece=512)

    out = b"".join(piece for chunk in chunks(stream, size) for piece in gunzip.feed(chunk))

    assert out == data
    assert gunzip.complete


def test_a_stream_cut_inside_a_member_is_not_complete() -> None:
    gunzip = Gunzip(max_piece=512)

    list(gunzip.feed(gzip.compress(b"1,2,3\n" * 100)[:-4]))

    assert not gunzip.complete


def test_bytes_that_are_not_gzip_raise_zlib_error() -> None:
    with pytest.raises(zlib.error):
        list(Gunzip(max_piece=512).feed(b"1,2,3\n"))


def test_every_member_starts_with_the_magic_bytes() -> None:
    assert gzip.compress(b"x").startswith(GZIP_MAGIC)


def test_lines_split_across_pieces_and_chunks_are_whole() -> None:
    text = b"".join(b"%d,1.0\n" % n for n in range(2000)) + b"last,line"

    lines = list(gunzip_lines(iter(chunks(gzip.compress(text), 5)), max_piece=64))

    assert lines == text.split(b"\n")


def test_lines_of_a_truncated_stream_end_in_an_error() -> None:
    with pytest.raises(EOFError, match="truncated"):
        list(gunzip_lines(iter([gzip.compress(b"1\n2\n" * 50)[:-6]])))
