"""Count every AWS request the local runtime answers, by service and operation, at the server.

Counting at the server sees what a step really sends, whatever client or library sends it (retries included),
not what the step believes it sent. Any process reads the counts over HTTP (`bench.counts.fetch_counts`), so a step
running in a process of its own can take the difference around each call.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from bench.counts import CONTROL_PATH, Counts
from local_runtime.server import LocalAws

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_SERVICE_IN_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")


class RequestCounter:
    """WSGI middleware: counts each request by service and operation and times the server's answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._seconds: defaultdict[str, float] = defaultdict(float)

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def counted(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == CONTROL_PATH:
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps(self.counts().to_json()).encode()]
            service, operation = classify(environ)
            started = time.perf_counter()
            body = list(app(environ, start_response))  # the whole answer, so its time is the server's time
            elapsed = time.perf_counter() - started
            with self._lock:
                self._requests[f"{service}:{operation}"] += 1
                self._seconds[service] += elapsed
            return body

        return counted

    def counts(self) -> Counts:
        with self._lock:
            return Counts(requests=dict(self._requests), server_seconds=dict(self._seconds))


class CountingLocalAws(LocalAws):
    """The local runtime's AWS with a RequestCounter in front of everything it answers."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self.counter = RequestCounter()

    @property
    def counts_url(self) -> str:
        return f"{self.endpoint_url}{CONTROL_PATH}"

    def _wsgi(self, moto_app: Any) -> WsgiApp:
        return self.counter.wrap(super()._wsgi(moto_app))


def classify(environ: Environ) -> tuple[str, str]:
    """(service, operation) of a signed AWS request: the service from the SigV4 credential scope, the operation
    from X-Amz-Target (JSON protocols), from the method and path (S3's REST API) or from `Action` (query)."""
    match = _SERVICE_IN_CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = match["service"] if match else "unsigned"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if service == "s3":
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        return service, s3_operation(method, path, query, copy=bool(environ.get("HTTP_X_AMZ_COPY_SOURCE")))
    if "Action" in query:
        return service, query["Action"][0]
    return service, f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"


def s3_operation(method: str, path: str, query: dict[str, list[str]], *, copy: bool = False) -> str:
    """The S3 operation of a path-style request (`/<bucket>` or `/<bucket>/<key>`), as boto3 sends to an IP."""
    _bucket, _, key = path.lstrip("/").partition("/")
    if key:
        if method == "PUT":
            if "partNumber" in query:
                return "UploadPart"
            return "CopyObject" if copy else "PutObject"
        if method == "POST":
            return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, f"{method} object")
    if method == "GET" and query.get("list-type") == ["2"]:
        return "ListObjectsV2"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if not query:
        return {"GET": "ListObjects", "PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(
            method, f"{method} bucket"
        )
    return f"{method} bucket?{','.join(sorted(query))}"
