"""S3's conditional writes made atomic in moto, as S3 makes them: the run lease (lambdas/common/lease.py) rests on it.

S3 evaluates a conditional PutObject (`If-None-Match: *`, `If-Match: <ETag>`) or DeleteObject (`If-Match`) and the
write it guards as one step: of two concurrent conditional writes to a key, one succeeds and the other fails with 412
PreconditionFailed (or 409 ConditionalRequestConflict), "Amazon S3 conditional writes" in the S3 user guide. moto
checks the condition, then writes, with nothing between them held: requests of a threaded server that race for one key
all pass the check and all write (measured: four racing `If-None-Match: *` puts all answered 200).

Here each PutObject and DeleteObject holds a lock of its key from the check to the write, so writes to one key are
serialized as S3 serializes them; writes to different keys still run side by side (locks are striped by key).
CompleteMultipartUpload and CopyObject with conditions are left as moto has them: nothing in the project sends them.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from typing import Any

from moto.s3.responses import S3Response

_STRIPES = 64
_locks = [threading.Lock() for _ in range(_STRIPES)]
_installed = False


def install() -> None:
    """Serialize moto's object writes per key; calling it again does nothing."""
    global _installed
    if _installed:
        return
    for name in ("put_object", "delete_object"):
        setattr(S3Response, name, _serialized(getattr(S3Response, name)))
    _installed = True


def key_lock(bucket: str, key: str) -> threading.Lock:
    """The lock every write of the object holds (shared with other keys of the same stripe)."""
    return _locks[zlib.crc32(f"{bucket}/{key}".encode()) % _STRIPES]


def _serialized(write: Callable[[S3Response], Any]) -> Callable[[S3Response], Any]:
    def serialized(self: S3Response) -> Any:
        with key_lock(self.bucket_name, self.parse_key_name()):
            return write(self)

    serialized.__name__ = serialized.__qualname__ = write.__name__
    serialized.__doc__ = write.__doc__
    return serialized
