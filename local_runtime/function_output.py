"""What a local invocation prints: its EMF documents become metrics, the rest goes on to the terminal.

On Lambda, a function's stdout is its log stream, and CloudWatch Logs turns every line that is an embedded metric
format document into metrics (local_runtime.emf). Here the handler runs in a thread of this process, whose stdout
the whole process shares: while an invocation runs, sys.stdout is a proxy that hands that thread's writes, a
line at a time, to the invocation and every other thread's straight to the terminal.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

from local_runtime.emf import EmfError, ExtractedMetric, extract_metrics

_log = logging.getLogger(__name__)

MetricsSink = Callable[[list[ExtractedMetric]], None]


class _Tap:
    """One thread's capture: complete lines go to `on_line`; a line's start waits for its end."""

    def __init__(self, on_line: Callable[[str, str], None]) -> None:
        self.on_line = on_line  # (line without its newline, the newline or "" at the end)
        self.pending = ""

    def write(self, text: str) -> None:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self.on_line(line, "\n")

    def close(self) -> None:
        if self.pending:
            line, self.pending = self.pending, ""
            self.on_line(line, "")


class _ThreadStdout:
    """sys.stdout while invocations run: a thread with a tap writes to it, every other one to `target`."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self.users = 0
        self._local = threading.local()

    @property
    def tap(self) -> _Tap | None:
        tap: _Tap | None = getattr(self._local, "tap", None)
        return tap

    @tap.setter
    def tap(self, tap: _Tap | None) -> None:
        self._local.tap = tap

    def write(self, text: str) -> int:
        tap = self.tap
        if tap is None:
            return self.target.write(text)
        tap.write(text)
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def __getattr__(self, name: str) -> Any:
        # isatty, encoding, fileno...: the terminal's
        return getattr(self.target, name)


_install_lock = threading.Lock()


@contextmanager
def metrics_from_stdout(
    publish: MetricsSink, *, source: str, count_bytes: Callable[[int], None] | None = None
) -> Iterator[None]:
    """While inside, this thread's EMF lines on sys.stdout go to `publish` (not to the terminal), as CloudWatch
    Logs extracts them; its other lines go to the terminal as before. `count_bytes` is told the size of every
    line, EMF or not: what the function's log stream would ingest.

    A line that claims to be EMF but breaks the specification is logged as a warning naming `source` (the
    function) and the rule, and shown as a plain line: CloudWatch keeps it as a log event and extracts nothing.
    """
    proxy = _install()

    def on_line(line: str, end: str) -> None:
        if count_bytes is not None:
            count_bytes(len((line + end).encode()))
        try:
            metrics = extract_metrics(line)
        except EmfError as error:
            _log.warning("%s printed an EMF document CloudWatch would extract nothing from: %s", source, error)
            metrics = None
        if metrics is None:
            proxy.target.write(line + end)
        elif metrics:
            try:
                publish(metrics)
            except Exception:  # extraction happens after the fact on AWS: it never fails the function's print
                _log.warning("%s: the local CloudWatch refused its metrics", source, exc_info=True)

    outer = proxy.tap
    tap = _Tap(on_line)
    proxy.tap = tap
    try:
        yield
    finally:
        tap.close()
        proxy.tap = outer
        _uninstall(proxy)


def _install() -> _ThreadStdout:
    with _install_lock:
        current = sys.stdout
        proxy = current if isinstance(current, _ThreadStdout) else _ThreadStdout(current)
        proxy.users += 1
        sys.stdout = cast(TextIO, proxy)
        return proxy


def _uninstall(proxy: _ThreadStdout) -> None:
    with _install_lock:
        proxy.users -= 1
        # Another owner of sys.stdout (pytest's capture between tests) may have replaced the proxy: leave theirs.
        if proxy.users == 0 and sys.stdout is cast(TextIO, proxy):
            sys.stdout = proxy.target
