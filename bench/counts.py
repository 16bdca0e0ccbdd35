"""Request counts as the bench's request counter reports them; light enough to import in a measured step."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

# Answered by the counter itself, never counted and never forwarded to moto.
CONTROL_PATH = "/__bench__/requests"


@dataclass(frozen=True)
class Counts:
    """Requests by "service:Operation", and the seconds the server spent answering each service."""

    requests: dict[str, int]
    server_seconds: dict[str, float]

    def service(self, name: str) -> int:
        """How many requests went to one service (`s3`, `ssm`, ...)."""
        return sum(count for key, count in self.requests.items() if key.split(":", 1)[0] == name)

    def minus(self, earlier: Counts) -> Counts:
        """The requests made since `earlier`."""
        requests = {key: count - earlier.requests.get(key, 0) for key, count in self.requests.items()}
        seconds = {key: value - earlier.server_seconds.get(key, 0.0) for key, value in self.server_seconds.items()}
        return Counts(
            requests={key: count for key, count in requests.items() if count},
            server_seconds={key: value for key, value in seconds.items() if value > 0},
        )

    def to_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "server_seconds": self.server_seconds}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Counts:
        return cls(
            requests={str(k): int(v) for k, v in raw["requests"].items()},
            server_seconds={str(k): float(v) for k, v in raw["server_seconds"].items()},
        )


def fetch_counts(url: str) -> Counts:
    """Read a RequestCounter's counts over HTTP (from any process)."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return Counts.from_json(json.loads(answer.read()))
