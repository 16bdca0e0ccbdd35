"""The local Slack Web API's scripted faults: rate limits, refused tokens, slow answers, each counted."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from local_runtime.slack_api import LocalSlackApi

TOKEN, CHANNEL = "xoxb-local", "#alerts"


@pytest.fixture
def slack() -> Iterator[LocalSlackApi]:
    with LocalSlackApi(valid_token=TOKEN, channels=[CHANNEL]) as api:
        yield api


def post(slack: LocalSlackApi, timeout: float = 5) -> requests.Response:
    return requests.post(
        f"{slack.base_url}chat.postMessage",
        json={"channel": CHANNEL, "text": "hello"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=timeout,
    )


def test_a_rate_limit_answers_429_with_retry_after_then_posts(slack: LocalSlackApi) -> None:
    fault = slack.rate_limit(1, retry_after=3)

    limited, accepted = post(slack), post(slack)

    assert (limited.status_code, limited.headers["Retry-After"], limited.json()["error"]) == (429, "3", "ratelimited")
    assert accepted.json()["ok"] is True
    assert fault.fired == 1
    assert len(slack.messages) == 1


def test_a_rejected_token_answers_invalid_auth_until_cleared(slack: LocalSlackApi) -> None:
    # GIVEN Slack refuses the token from now on
    fault = slack.reject_token()

    # WHEN two messages are posted, then the fault is cleared and one more is posted
    refused = [post(slack).json() for _ in range(2)]
    slack.clear_faults()
    accepted = post(slack).json()

    # THEN Slack's answer was HTTP 200 with ok false and invalid_auth, until cleared
    assert refused == [{"ok": False, "error": "invalid_auth"}] * 2
    assert accepted["ok"] is True
    assert fault.fired == 2
    assert len(slack.messages) == 1


def test_a_rejected_token_can_name_another_auth_error(slack: LocalSlackApi) -> None:
    slack.reject_token(1, error="token_revoked")

    assert post(slack).json() == {"ok": False, "error": "token_revoked"}
    assert post(slack).json()["ok"] is True


def test_a_delay_longer_than_the_clients_timeout_times_it_out_and_still_posts(slack: LocalSlackApi) -> None:
    # GIVEN Slack answers the next request after half a second
    fault = slack.delay(0.5, times=1)

    # WHEN a client that waits 0.1 s posts
    with pytest.raises(requests.Timeout):
        post(slack, timeout=0.1)

    # THEN the client timed out, and Slack still posted the message it received, as Slack does
    deadline = time.monotonic() + 5
    while not slack.messages:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert fault.fired == 1
    assert slack.request_count == 1
