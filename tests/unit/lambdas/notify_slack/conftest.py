"""NotifySlack's fixtures: the local Slack API, the token secret in moto, settings and sample events."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas.notify_slack.core import SlackSettings
from tests.fakes.slack_api import FakeSlackApi

EVENTS = Path(__file__).parent / "events"
TOKEN = "xoxb-1111-2222-notarealtokenbutsecretanyway"
CHANNEL = "#ml-retraining"
SECRET_NAME = "sagemaker-retraining/churn/slack-bot-token"
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@pytest.fixture(autouse=True)
def local_network_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may reach slack.com: a name lookup other than the local host fails the request."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        # slack-sdk sends every request through a proxy set in the environment, the local one included.
        monkeypatch.delenv(name, raising=False)
    resolve = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOCAL_HOSTS:
            raise OSError(f"tests must not reach {host}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(valid_token=TOKEN, channels=[CHANNEL]) as api:
        yield api


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager")


@pytest.fixture
def secret_reads(secretsmanager: Any) -> list[str]:
    """The secret ids the step reads, recorded by a botocore hook on the moto-backed client."""
    reads: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        reads.append(params["SecretId"])

    secretsmanager.meta.events.register("provide-client-params.secrets-manager.GetSecretValue", record)
    return reads


@pytest.fixture
def token_secret(secretsmanager: Any) -> str:
    """The bot token's secret as the stack creates it: the token as a plain string."""
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=TOKEN)
    return SECRET_NAME


@pytest.fixture
def settings(fake_slack: FakeSlackApi, token_secret: str) -> SlackSettings:
    # A 1 s timeout keeps the timeout tests short; the fake answers in milliseconds otherwise.
    return SlackSettings(
        channel=CHANNEL,
        token_secret_name=token_secret,
        pipeline="churn",
        api_url=fake_slack.base_url,
        timeout_seconds=1,
    )


@pytest.fixture
def sample_event() -> Callable[[str], dict[str, Any]]:
    """Load a sample event from events/<name>.json: what the ASL's NotifySlack tasks send."""

    def load(name: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
        return event

    return load
