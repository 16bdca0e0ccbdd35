"""NotifySlack's logic: build the message, read the token, post; Slack failures are reported, not raised."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common import env as names
from lambdas.common.errors import InvalidStepEventError, RetrainingError
from lambdas.common.events import StepEvent
from lambdas.notify_slack.messages import FailureReport, NotificationEvent, build_message, failure_report
from lambdas.notify_slack.slack import SlackDeliveryError, SlackNotifier

SENT = "sent"
NOT_CONFIGURED = "slack not configured"
# Slack answers chat.postMessage in well under a second; two attempts must fit in the function's timeout.
DEFAULT_TIMEOUT_SECONDS = 5
# Each rate-limit retry sleeps for Slack's Retry-After (about a second for chat.postMessage).
DEFAULT_RATE_LIMIT_RETRIES = 2
DEFAULT_CONNECTION_RETRIES = 1
_TOKEN_KEYS = ("bot_token", "token")


class SlackTokenError(RetrainingError):
    """The token secret holds no usable bot token."""


class SecretsManagerClient(Protocol):
    """The one Secrets Manager call this step makes; boto3's client provides it."""

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...  # noqa: N803 (boto3's name)


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class SlackSettings:
    """Where to post and how hard to try. Names the token's secret; the token itself is read per call."""

    channel: str | None
    token_secret_name: str | None
    pipeline: str | None = None
    api_url: str | None = None
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    rate_limit_retries: int = DEFAULT_RATE_LIMIT_RETRIES
    connection_retries: int = DEFAULT_CONNECTION_RETRIES

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackSettings:
        """Read the settings; an unset channel or secret name means Slack is not configured, not an error.

        Raises ConfigurationError when SLACK_TIMEOUT_SECONDS is set but not a positive integer.
        """
        timeout_seconds = DEFAULT_TIMEOUT_SECONDS
        if names.optional_str(env, names.SLACK_TIMEOUT_SECONDS):
            timeout_seconds = names.require_int(env, names.SLACK_TIMEOUT_SECONDS)
        return cls(
            channel=names.optional_str(env, names.SLACK_CHANNEL),
            token_secret_name=names.optional_str(env, names.SLACK_TOKEN_SECRET_NAME),
            pipeline=names.optional_str(env, names.PIPELINE_NAME),
            api_url=names.optional_str(env, names.SLACK_API_URL),
            timeout_seconds=timeout_seconds,
        )


@dataclass(frozen=True)
class NotifyResult:
    """What happened to one notification; `error` is kept for the handler's log and never returned."""

    event: NotificationEvent
    outcome: Outcome
    detail: str
    failure: FailureReport | None = None
    error: Exception | None = field(default=None, compare=False)

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.SENT

    def to_payload(self) -> dict[str, Any]:
        """The task's result; for `failed`, the ASL's Fail state takes `error` and `cause` from it."""
        payload: dict[str, Any] = {"delivered": self.delivered, "detail": self.detail}
        if self.failure is not None:
            payload.update(self.failure.to_payload())
        return payload


def parse_notification_event(params: Mapping[str, Any]) -> NotificationEvent:
    """Return the event named by the task's `event` parameter; raise InvalidStepEventError naming it."""
    raw = params.get("event")
    if raw is None:
        raise InvalidStepEventError("event field 'event' is missing")
    try:
        return NotificationEvent(raw)
    except ValueError:
        expected = ", ".join(event.value for event in NotificationEvent)
        raise InvalidStepEventError(f"unknown notification event {raw!r}; expected one of {expected}") from None


def read_bot_token(secretsmanager: SecretsManagerClient, secret_name: str) -> str:
    """Return the bot token held by the secret: the plain string, or a JSON object's `bot_token` or `token`.

    Raises botocore's ClientError when the secret cannot be read and SlackTokenError when it holds no token.
    Neither message contains the secret's value.
    """
    raw = secretsmanager.get_secret_value(SecretId=secret_name).get("SecretString")
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        raise SlackTokenError(f"secret {secret_name!r} holds no text")
    if not value.startswith("{"):
        return value
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise SlackTokenError(f"secret {secret_name!r} holds malformed JSON") from None
    for key in _TOKEN_KEYS:
        token = parsed.get(key) if isinstance(parsed, dict) else None
        if isinstance(token, str) and token.strip():
            return token.strip()
    raise SlackTokenError(f"secret {secret_name!r} holds JSON without a {' or '.join(_TOKEN_KEYS)} key")


def notify(step: StepEvent, *, secretsmanager: SecretsManagerClient, settings: SlackSettings) -> NotifyResult:
    """Post the step's event to Slack and report the outcome; Slack and token failures are not raised.

    Raises InvalidStepEventError only when the event name is missing or unknown: a contract violation.
    """
    event = parse_notification_event(step.params)
    failure = failure_report(step.state) if event is NotificationEvent.FAILED else None
    channel, secret_name = settings.channel, settings.token_secret_name
    if channel is None or secret_name is None:
        return NotifyResult(event, Outcome.SKIPPED, NOT_CONFIGURED, failure)
    token = ""
    try:
        message = build_message(
            event,
            state=step.state,
            execution=step.execution,
            pipeline=_pipeline(step.state, settings),
            failure=failure,
        )
        token = read_bot_token(secretsmanager, secret_name)
        SlackNotifier(
            token=token,
            channel=channel,
            base_url=settings.api_url,
            timeout_seconds=settings.timeout_seconds,
            rate_limit_retries=settings.rate_limit_retries,
            connection_retries=settings.connection_retries,
        ).post(message)
    # Deliberately broad: a run must never fail because of its notification, and the failure report must
    # still reach the execution's Fail state. The handler logs the error and counts it.
    except Exception as error:
        return NotifyResult(event, Outcome.FAILED, _redact(_describe(error, secret_name), token), failure, error)
    return NotifyResult(event, Outcome.SENT, SENT, failure)


def _pipeline(state: Mapping[str, Any], settings: SlackSettings) -> str:
    run = state.get("run")
    from_state = run.get("pipeline") if isinstance(run, Mapping) else None
    return settings.pipeline or (str(from_state) if from_state else "unknown pipeline")


def _describe(error: Exception, secret_name: str) -> str:
    if isinstance(error, SlackDeliveryError | SlackTokenError):
        return str(error)
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "ClientError")
        return f"could not read the Slack token secret {secret_name!r}: {code}"
    if isinstance(error, BotoCoreError):
        return f"could not read the Slack token secret {secret_name!r}: {error}"
    return f"unexpected {type(error).__name__}: {error}"


def _redact(text: str, token: str) -> str:
    # No message built here contains the token; this holds should a library ever echo it back.
    return text.replace(token, "[redacted]") if token else text
