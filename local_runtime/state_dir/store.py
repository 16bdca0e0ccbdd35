"""The state directory on disk: one manifest and the objects' bytes, each written so a crash never corrupts it.

    DIR/state.json        format version, moto's version, when it was saved, and every service's records
    DIR/blobs/<sha256>    an S3 object version's bytes, named by their hash: written once, shared by every save

A save writes the blobs it lacks (each to a temporary name, then renamed), then the manifest to a temporary
file that is flushed to disk and renamed over the old one: a rename within a directory is atomic on POSIX, so a
crash at any point leaves either the previous manifest or the new one, and every blob either names. Blobs no
manifest names any more are removed only after the new manifest is in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from local_runtime.state_dir.codec import StateFormatError

FORMAT_VERSION = 1
MANIFEST = "state.json"
BLOBS = "blobs"


class BlobWriter:
    """Writes object bytes under their hash, once; remembers which blobs this save uses."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / BLOBS
        self.directory.mkdir(parents=True, exist_ok=True)
        self._present = {path.name for path in self.directory.iterdir() if not path.name.startswith(".")}
        self.used: set[str] = set()
        self.written = 0

    def put(self, body: bytes) -> str:
        digest = hashlib.sha256(body).hexdigest()
        if digest not in self._present:
            write_atomically(self.directory / digest, body, durable=False)
            self._present.add(digest)
            self.written += 1
        self.used.add(digest)
        return digest

    def remove_unused(self) -> int:
        """Delete the blobs the manifest just written does not name; how many."""
        unused = self._present - self.used
        for digest in unused:
            (self.directory / digest).unlink(missing_ok=True)
        self._present -= unused
        return len(unused)


class BlobReader:
    def __init__(self, directory: Path) -> None:
        self.directory = directory / BLOBS

    def get(self, digest: str) -> bytes:
        try:
            return (self.directory / digest).read_bytes()
        except FileNotFoundError:
            raise StateFormatError(f"{self.directory / digest}: an object's bytes are missing") from None


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    body = json.dumps({"format": FORMAT_VERSION, **manifest}, separators=(",", ":")).encode()
    write_atomically(directory / MANIFEST, body, durable=True)


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The saved manifest, or None when the directory holds no state yet."""
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest: dict[str, Any] = json.loads(path.read_bytes())
    except json.JSONDecodeError as error:
        raise StateFormatError(f"{path}: not JSON ({error})") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise StateFormatError(
            f"{path}: state format {manifest.get('format')!r}, this runtime reads format {FORMAT_VERSION}"
        )
    return manifest


def write_atomically(path: Path, body: bytes, *, durable: bool) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`.

    `durable` flushes the file and its directory to disk first (the manifest); blobs skip the flush: a blob lost
    in a power cut is one the previous manifest did not name, or the new manifest was not renamed either.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(body)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
