"""A local Slack Web API: answers chat.postMessage as Slack does, over real HTTP on 127.0.0.1.

The local runtime points slack-sdk at it (`SLACK_API_URL`) so notifications are shown in the terminal and
kept for tests to inspect; `render_message` turns a received message into readable lines.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from local_runtime.fault_records import Fault

# Block Kit limits Slack enforces with `invalid_blocks`: a message Slack would refuse fails here too.
_MAX_BLOCKS = 50
_TEXT_LIMITS = {"header": 150, "section": 3000}
_MAX_FIELDS = 10
_FIELD_TEXT_MAX = 2000
_BUTTON_TEXT_MAX = 75
_URL_MAX = 3000
_BLOCK_TYPES = frozenset({"header", "section", "context", "actions", "divider", "image", "rich_text"})


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the server accepted, as Slack would have posted it."""

    channel: str
    text: str | None
    blocks: list[dict[str, Any]]

    @property
    def block_text(self) -> str:
        """Every text in the blocks, one per line, to assert on what a reader sees."""
        return "\n".join(block_texts(self.blocks))

    @property
    def button_urls(self) -> list[str]:
        return [
            element["url"]
            for block in self.blocks
            for element in block.get("elements", [])
            if element.get("type") == "button"
        ]


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]


class LocalSlackApi:
    """Slack's `chat.postMessage` on a loopback port; use as a context manager or start() and stop().

    Answers like Slack: HTTP 200 with `ok: false` and `not_authed`, `invalid_auth`, `channel_not_found`,
    `no_text` or `invalid_blocks`. Faults, scripted per request and counted (each method returns the `Fault`,
    whose `fired` says how often it happened; `clear_faults` disarms them all):
    `rate_limit` answers HTTP 429 with Retry-After, `reject_token` answers `invalid_auth` (or another auth
    error) as for a revoked token, `delay` holds answers longer than a client's timeout (the message is still
    posted once the delay ends, as Slack does with a request it received).
    `request_count` counts every chat.postMessage request, answered or not; `messages` holds the accepted ones,
    and `on_message` (e.g. printing `render_message`) is called with each as it is accepted. `port` 0 picks a
    free one.
    """

    def __init__(
        self,
        *,
        valid_token: str,
        channels: Iterable[str],
        on_message: Callable[[ReceivedMessage], None] | None = None,
        port: int = 0,
    ) -> None:
        self.valid_token = valid_token
        self.channels = frozenset(channels)
        self.on_message = on_message
        self.messages: list[ReceivedMessage] = []
        self.request_count = 0
        self._lock = threading.Lock()
        self._rate_limits: list[tuple[Fault, int]] = []
        self._delays: list[tuple[Fault, float]] = []
        self._token_rejections: list[tuple[Fault, str]] = []
        # Set on stop so a delayed answer ends at once instead of holding the server's shutdown.
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.api = self
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="local-slack-api", daemon=True
        )

    @property
    def base_url(self) -> str:
        """The URL to give WebClient as base_url (or set as SLACK_API_URL)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def rate_limit(self, times: int | None = 1, *, retry_after: int = 1) -> Fault:
        """Answer the next `times` requests (None: all, until cleared) with HTTP 429 and `Retry-After`."""
        fault = Fault(f"Slack rate limit (Retry-After {retry_after})", times)
        with self._lock:
            self._rate_limits.append((fault, retry_after))
        return fault

    def delay(self, seconds: float, *, times: int | None = 1) -> Fault:
        """Hold the answers to the next `times` requests (None: all, until cleared) for `seconds`."""
        fault = Fault(f"Slack answers after {seconds} s", times)
        with self._lock:
            self._delays.append((fault, seconds))
        return fault

    def reject_token(self, times: int | None = None, *, error: str = "invalid_auth") -> Fault:
        """Refuse the token of the next `times` requests (None: all, until cleared), as for a revoked token.

        Slack answers HTTP 200 with `ok: false` and `invalid_auth` (or `token_revoked`, `account_inactive`).
        """
        fault = Fault(f"Slack refuses the token ({error})", times)
        with self._lock:
            self._token_rejections.append((fault, error))
        return fault

    def clear_faults(self) -> None:
        """Disarm every scripted fault; the Fault objects keep their counts."""
        with self._lock:
            self._rate_limits.clear()
            self._delays.clear()
            self._token_rejections.clear()

    def start(self) -> LocalSlackApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> LocalSlackApi:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def answer(self, path: str, headers: Message, body: bytes) -> _Answer:
        """Answer one request the way Slack's Web API would."""
        method = path.split("?", 1)[0].removeprefix("/api/")
        if method != "chat.postMessage":
            return _Answer(200, {"ok": False, "error": "unknown_method"}, {})
        with self._lock:
            self.request_count += 1
            rate_limits, delays, rejections = list(self._rate_limits), list(self._delays), list(self._token_rejections)
        retry_after = next((after for fault, after in rate_limits if fault.take()), None)
        if retry_after is not None:
            return _Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
        delay = next((seconds for fault, seconds in delays if fault.take()), None)
        if delay is not None:
            self._stopping.wait(delay)
        rejection = next((error for fault, error in rejections if fault.take()), None)
        if rejection is not None:
            return _error(rejection)
        return self._post_message(headers, body)

    def _post_message(self, headers: Message, body: bytes) -> _Answer:
        params = _parse_body(headers.get_content_type(), body)
        if params is None:
            return _error("invalid_form_data")
        authorization = headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip() or str(params.get("token", ""))
        if not token:
            return _error("not_authed")
        if token != self.valid_token:
            return _error("invalid_auth")
        channel = str(params.get("channel", ""))
        if channel not in self.channels:
            return _error("channel_not_found")
        text = params.get("text")
        blocks = params.get("blocks") or []
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except json.JSONDecodeError:
                return _error("invalid_blocks_format")
        if not _valid_blocks(blocks):
            return _error("invalid_blocks")
        if not text and not blocks:
            return _error("no_text")
        message = ReceivedMessage(channel=channel, text=text, blocks=blocks)
        with self._lock:
            self.messages.append(message)
            ts = f"1700000000.{len(self.messages):06d}"
        if self.on_message is not None:
            # Showing a message (a closed terminal, a broken pipe) must never change what Slack answers.
            with contextlib.suppress(Exception):
                self.on_message(message)
        return _Answer(200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": text}}, {})


# The name the tests have always used.
FakeSlackApi = LocalSlackApi


class _Server(ThreadingHTTPServer):
    api: LocalSlackApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has closed its socket before the delayed answer: expected, not an error.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.server.api.answer(self.path, self.headers, body)
        data = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        # Keeps the request log out of the output tests capture.
        pass


def _error(code: str) -> _Answer:
    # Slack reports API errors with HTTP 200.
    return _Answer(200, {"ok": False, "error": code}, {})


def _parse_body(content_type: str, body: bytes) -> dict[str, Any] | None:
    if content_type == "application/json":
        try:
            parsed = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    if content_type == "application/x-www-form-urlencoded":
        return {key: values[-1] for key, values in parse_qs(body.decode()).items()}
    return None


def _valid_blocks(blocks: Any) -> bool:
    if not isinstance(blocks, list) or len(blocks) > _MAX_BLOCKS:
        return False
    return all(isinstance(block, dict) and _valid_block(block) for block in blocks)


def _valid_block(block: dict[str, Any]) -> bool:
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        return False
    text = block.get("text", {}).get("text", "") if isinstance(block.get("text"), dict) else ""
    if len(text) > _TEXT_LIMITS.get(str(kind), _TEXT_LIMITS["section"]):
        return False
    fields = block.get("fields", [])
    if len(fields) > _MAX_FIELDS or any(len(field.get("text", "")) > _FIELD_TEXT_MAX for field in fields):
        return False
    for element in block.get("elements", []):
        if element.get("type") == "button" and (
            len(element.get("text", {}).get("text", "")) > _BUTTON_TEXT_MAX or len(element.get("url", "")) > _URL_MAX
        ):
            return False
    return kind != "section" or bool(text or fields)


def block_texts(value: Any) -> list[str]:
    """Collect the `text` strings of Block Kit blocks, in order, however deeply nested."""
    if isinstance(value, list):
        return [text for item in value for text in block_texts(item)]
    if not isinstance(value, dict):
        return []
    texts: list[str] = []
    for key, item in value.items():
        if key == "text" and isinstance(item, str):
            texts.append(item)
        else:
            texts.extend(block_texts(item))
    return texts


# The emoji shortcodes the workflow's messages use, as a terminal shows them.
_EMOJI = {
    ":zzz:": "💤",
    ":hourglass_flowing_sand:": "⏳",
    ":white_check_mark:": "✅",
    ":rocket:": "🚀",
    ":tada:": "🎉",
    ":rotating_light:": "🚨",
}
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


def render_message(message: ReceivedMessage, *, width: int = 100) -> list[str]:
    """The message as a reader sees it in Slack, as plain lines: the header, then the facts and sections.

    Fields become `Label: value` pairs joined on wrapped lines; mrkdwn markup, links and entities are
    reduced to their text, and emoji shortcodes become emoji.
    """
    header = ""
    pairs: list[str] = []
    sections: list[str] = []
    for block in message.blocks:
        kind = block.get("type")
        text = block.get("text")
        if kind == "header" and isinstance(text, dict):
            header = _plain(str(text.get("text", "")))
        elif kind == "section":
            for field in block.get("fields", []):
                label, _, value = _plain(str(field.get("text", ""))).partition("\n")
                pairs.append(f"{label}: {value}" if value else label)
            if isinstance(text, dict):
                sections.append(_plain(str(text.get("text", ""))))
    if not header:
        header = _plain(message.text or "").split("\n", 1)[0]
    lines = [f"{message.channel}  {header}"]
    lines.extend(_wrap(pairs, width=width))
    for section in sections:
        title, _, body = section.partition("\n")
        items = [item.lstrip("• ").strip() for item in body.split("\n") if item.strip()]
        lines.extend(_wrap([f"{title}: {items[0]}", *items[1:]], width=width) if items else [title])
    return lines


def _plain(text: str) -> str:
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    text = _LINK.sub(r"\2", text).replace("*", "").replace("`", "")
    return html.unescape(text).strip()


def _wrap(parts: list[str], *, width: int) -> list[str]:
    """Join parts with ' · ' into lines of at most `width` characters (a longer part gets a line of its own)."""
    lines: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current} · {part}" if current else part
        if current and len(candidate) > width:
            lines.append(current)
            current = part
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines
