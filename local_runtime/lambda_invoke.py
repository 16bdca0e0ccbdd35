"""Lambda's Invoke API answered in-process: registered handlers run with their own environment."""

from __future__ import annotations

import importlib
import json
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Metrics

from local_runtime.emf import ExtractedMetric
from local_runtime.faults import Faults
from local_runtime.function_output import metrics_from_stdout
from local_runtime.iam.principals import Principals

Handler = Callable[[Any, Any], Any]
# Where the metrics of a function's EMF lines go: (account, region, metrics), see local_runtime.cloudwatch.
MetricsPublisher = Callable[[str, str, list[ExtractedMetric]], None]

DEFAULT_ACCOUNT, DEFAULT_REGION = "123456789012", "us-east-1"  # of a function registered with a bare name as ARN
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")


@dataclass(frozen=True)
class LocalFunction:
    """A function as its template defines it: a handler path (`package.module.function`) and environment."""

    name: str
    arn: str
    handler: str
    environment: Mapping[str, str] = field(default_factory=dict)
    memory_mb: int = 256
    timeout_seconds: int = 60
    role_arn: str | None = None  # the execution role: the function runs with credentials of a session of it

    def load(self) -> Handler:
        module_name, _, function_name = self.handler.rpartition(".")
        handler: Handler = getattr(importlib.import_module(module_name), function_name)
        return handler


@dataclass(frozen=True)
class InvocationReport:
    """What Lambda's REPORT log line says of an invocation that ran its handler: how long it took, at what memory
    size, and how many bytes it wrote to its log stream (what CloudWatch Logs ingests, EMF documents included)."""

    function: str
    duration_seconds: float
    memory_mb: int
    log_bytes: int

    @property
    def billed_gb_seconds(self) -> float:
        """Lambda bills duration rounded up to the millisecond, times the configured memory."""
        return -(-self.duration_seconds * 1000 // 1) / 1000 * self.memory_mb / 1024


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self._deadline_ms


@dataclass(frozen=True)
class InvocationResult:
    status: int
    body: bytes
    function_error: str | None
    error_type: str | None = None  # x-amzn-ErrorType of an Invoke that failed before the handler's result


# What Lambda answers when a function is throttled; Step Functions names it Lambda.TooManyRequestsException.
THROTTLED_STATUS = 429
THROTTLED_ERROR = "TooManyRequestsException"


class LocalLambda:
    """Registry of functions and the Invoke call Step Functions (and boto3) make against it."""

    def __init__(
        self,
        endpoint_url: str = "",
        *,
        faults: Faults | None = None,
        principals: Principals | None = None,
        metrics: MetricsPublisher | None = None,
    ) -> None:
        """With `metrics`, the EMF lines a handler prints become metrics there instead of terminal lines, as
        CloudWatch Logs extracts them on AWS (local_runtime.function_output); without, its output is left alone."""
        self.endpoint_url = endpoint_url
        self.faults = faults or Faults()
        self.principals = principals or Principals()
        self.metrics = metrics
        self._functions: dict[str, LocalFunction] = {}
        # One invocation at a time: handlers share module-level state (cached clients, Powertools' metric set).
        self._lock = threading.Lock()
        # The access keys of the invocations under way: the one holding the lock, and those it waits for. A function
        # that invokes another synchronously (RunEnded invokes CleanUp and NotifySlack) holds the lock while it
        # waits: the invocation it asked for runs in its stead, or both would wait for ever.
        self._under_way: list[str] = []
        self._under_way_lock = threading.Lock()
        self._count = 0
        self.invocations: list[tuple[str, Any]] = []
        self.reports: list[InvocationReport] = []  # one per invocation whose handler ran, oldest first

    def register(self, function: LocalFunction) -> None:
        self._functions[function.name] = function
        self._functions[function.arn] = function

    def registered(self) -> list[LocalFunction]:
        """Every registered function, once."""
        return list({function.arn: function for function in self._functions.values()}.values())

    def find(self, name_or_arn: str) -> LocalFunction | None:
        key = unquote(name_or_arn)
        if key in self._functions:
            return self._functions[key]
        # Qualified ARNs (…:function:name:$LATEST) and partial ARNs name the same function.
        base = re.sub(r":(\$LATEST|\d+)$", "", key)
        return self._functions.get(base) or self._functions.get(base.rsplit(":", 1)[-1])

    def _lambda_environment(self, function: LocalFunction) -> dict[str, str]:
        """What Lambda's runtime gives every function, pointed at the local AWS; the function's own env wins.

        A function with an execution role gets credentials of a session of it named after the function, as Lambda
        gives them; one without (registered by hand) the account's own, unrestricted.
        """
        region = function.arn.split(":")[3] if function.arn.count(":") >= 6 else DEFAULT_REGION
        credentials = (
            self.principals.issue(function.role_arn, function.name).environment()
            if function.role_arn
            else {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
        )
        environment = {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            **credentials,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "_HANDLER": function.handler,
        }
        if self.endpoint_url:
            environment["AWS_ENDPOINT_URL"] = self.endpoint_url
        return environment

    def invoke(self, function: LocalFunction, payload: bytes, *, caller: str | None = None) -> InvocationResult:
        """Run the handler; an exception comes back as Lambda returns it, with FunctionError set.

        `caller` is the access key the Invoke request was signed with: a function under way that invokes another
        (credentials of its own role's session) is waiting for it, so that one runs without waiting its turn.
        An armed fault (see local_runtime.faults) throttles the invocation or crashes it as Lambda reports both.
        """
        event = json.loads(payload) if payload else {}
        fault = self.faults.lambda_fault(function.name, function.arn)
        if fault is not None and fault.kind == "throttle":
            return _throttled()
        with self._under_way_lock:
            nested = caller is not None and caller in self._under_way
        with nullcontext() if nested else self._lock, self._running(function):
            self._count += 1
            context = LambdaContext(
                function_name=function.name,
                invoked_function_arn=function.arn,
                memory_limit_in_mb=function.memory_mb,
                aws_request_id=f"local-{self._count:08d}",
                log_group_name=f"/aws/lambda/{function.name}",
                _deadline_ms=function.timeout_seconds * 1000,
            )
            self.invocations.append((function.name, event))
            if fault is not None and not fault.after_side_effects:
                return _crashed(context.aws_request_id)
            written = [0]
            started = time.perf_counter()
            with (
                _environment({**self._lambda_environment(function), **function.environment}),
                _fresh_metrics(),
                self._metrics_of(function, written),
                self._reported(function, started, written),
            ):
                try:
                    result = function.load()(event, context)
                except Exception as error:  # Lambda reports every exception the same way
                    if fault is not None:  # the process died, whatever the handler was about to report
                        return _crashed(context.aws_request_id)
                    body = {
                        "errorMessage": str(error),
                        "errorType": type(error).__name__,
                        "requestId": context.aws_request_id,
                        "stackTrace": traceback.format_tb(error.__traceback__),
                    }
                    return InvocationResult(200, json.dumps(body).encode(), "Unhandled")
            if fault is not None:
                return _crashed(context.aws_request_id)
        return InvocationResult(200, json.dumps(result).encode(), None)

    @contextmanager
    def _running(self, function: LocalFunction) -> Iterator[None]:
        """Count the function's session among the invocations under way (one without a role signs as the account,
        as the tests' own clients do: never taken for a caller under way)."""
        key = self._lambda_environment(function)["AWS_ACCESS_KEY_ID"] if function.role_arn else None
        if key is not None:
            with self._under_way_lock:
                self._under_way.append(key)
        try:
            yield
        finally:
            if key is not None:
                with self._under_way_lock:
                    self._under_way.remove(key)

    def _metrics_of(self, function: LocalFunction, written: list[int]) -> AbstractContextManager[None]:
        """Route the EMF lines of this invocation to `metrics`, in the function's account and region, counting
        the bytes it writes in `written`."""
        if self.metrics is None:
            return nullcontext()
        publish = self.metrics
        parts = function.arn.split(":")
        account, region = (parts[4], parts[3]) if len(parts) >= 7 else (DEFAULT_ACCOUNT, DEFAULT_REGION)

        def count(size: int) -> None:
            written[0] += size

        return metrics_from_stdout(
            lambda metrics: publish(account, region, metrics), source=function.name, count_bytes=count
        )

    @contextmanager
    def _reported(self, function: LocalFunction, started: float, written: list[int]) -> Iterator[None]:
        try:
            yield
        finally:
            duration = time.perf_counter() - started
            self.reports.append(InvocationReport(function.name, duration, function.memory_mb, written[0]))


def _throttled() -> InvocationResult:
    """Lambda's answer when the function's concurrency is exhausted: the handler never ran."""
    body = {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}
    return InvocationResult(THROTTLED_STATUS, json.dumps(body).encode(), None, error_type=THROTTLED_ERROR)


def _crashed(request_id: str) -> InvocationResult:
    """Lambda's answer when the function's process dies (killed, out of memory) before it returns."""
    body = {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    return InvocationResult(200, json.dumps(body).encode(), "Unhandled")


class PerThreadEnviron(os._Environ):  # type: ignore[type-arg]
    """os.environ with a per-thread overlay: a local invocation sees its function's environment, every other thread
    the process's.

    Setting and then removing the function's variables in the shared os.environ raced with threads that copy it
    (botocore building a client, the hosting emulator starting a worker): a key removed between their listing and
    their reading raised KeyError ('AWS_LAMBDA_FUNCTION_NAME'). The overlay never touches the shared mapping. A value
    of None in it hides a variable from the invocation.
    """

    _local: threading.local

    @property
    def overlay(self) -> dict[str, str | None] | None:
        overlay: dict[str, str | None] | None = getattr(self._local, "overlay", None)
        return overlay

    @overlay.setter
    def overlay(self, values: dict[str, str | None] | None) -> None:
        self._local.overlay = values

    def __getitem__(self, key: str) -> str:
        overlay = self.overlay
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is None:
                raise KeyError(key)
            return value
        return str(super().__getitem__(key))

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self.overlay
        if overlay is not None:  # what a handler sets lives as long as its invocation, as on Lambda
            overlay[key] = str(value)
        else:
            super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        overlay = self.overlay
        if overlay is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        overlay[key] = None

    def __iter__(self) -> Iterator[str]:
        overlay = self.overlay
        if overlay is None:
            yield from super().__iter__()
            return
        shown = [key for key in super().__iter__() if key not in overlay]
        yield from shown
        yield from (key for key, value in overlay.items() if value is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)


def per_thread_environ() -> PerThreadEnviron:
    """Make os.environ a PerThreadEnviron (once; without an overlay it is the process's environment as before).

    The object itself changes class, not the name os.environ: sessions and providers that kept a reference to it
    (boto3's default session, botocore's environment provider) see each invocation's variables too.
    """
    environ = os.environ
    if not isinstance(environ, PerThreadEnviron):
        environ._local = threading.local()  # type: ignore[attr-defined]
        environ.__class__ = PerThreadEnviron
    assert isinstance(environ, PerThreadEnviron)
    return environ


@contextmanager
def _fresh_metrics() -> Iterator[None]:
    """Forget the Powertools metrics an invocation leaves behind. Its Metrics instances share one set per process,
    and with POWERTOOLS_METRICS_DISABLED (a function's environment may set it) a flush neither prints nor clears
    it: the set would grow with every invocation and end up in the next flush that does print."""
    try:
        yield
    finally:
        Metrics().clear_metrics()


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    environ = per_thread_environ()
    outer = environ.overlay
    environ.overlay = {**(outer or {}), **values}
    try:
        yield
    finally:
        environ.overlay = outer
