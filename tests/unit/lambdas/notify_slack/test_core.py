"""NotifySlack's core over real HTTP: slack-sdk against the local Slack API, the token secret in moto."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from lambdas.common.errors import ConfigurationError, InvalidStepEventError
from lambdas.common.events import StepEvent
from lambdas.notify_slack.core import NOT_CONFIGURED, Outcome, SlackSettings, notify
from tests.fakes.slack_api import FakeSlackApi

SampleEvent = Callable[[str], dict[str, Any]]
CONSOLE_URL = (
    "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/"
    "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1"
)


def _step(sample_event: SampleEvent, name: str, **changes: Any) -> StepEvent:
    return StepEvent.parse({**sample_event(name), **changes})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("sample", "facts"),
    [
        ("no_new_data", ["churn", "no new data", "CheckData", "2026-11-14", "9 files"]),
        ("run_in_progress", ["churn", "another run is in progress", "CheckData", "manual-1", "Skipped"]),
        (
            "training_started",
            ["churn", "training started", "StartTrainingJob", "InProgress (Starting)",
             "churn-20261122060000-1a2b3c4d", "2026-11-15 to 2026-11-21 (7 days)",
             "12 files, 3.5 MiB; 2 held out (600.0 KiB), the newest 1 day with data"],
        ),
        (
            "training_completed",
            ["churn", "training completed", "GetTrainingStatus", "Completed", "churn-20261122060000-1a2b3c4d",
             "`validation:auc` 0.91234", "`train:logloss` 0.2871", "12 files"],
        ),
        (
            "deployment_started",
            ["churn", "deployment started", "DeployModel", "Updating", "`churn` (update)",
             "churn-20261122060000-1a2b3c4d", "validation:auc"],
        ),
        (
            "deployed",
            ["churn", "new model deployed", "UpdateParameters", "InService, serving the new model", "`churn`",
             "2026-11-14 to 2026-11-21", "validation:auc"],
        ),
        (
            "failed_plain_cause",
            ["churn", "run failed", "GetTrainingStatus", "TrainingJobFailed", "Data contains NaN",
             "churn-20261122060000-1a2b3c4d"],
        ),
    ],
)  # fmt: skip
def test_each_event_posts_a_block_kit_message_with_its_facts(
    fake_slack: FakeSlackApi, secretsmanager: Any, settings: SlackSettings, sample_event: SampleEvent,
    sample: str, facts: list[str],
) -> None:  # fmt: skip
    # GIVEN the event a NotifySlack task sends at that point of a run
    step = _step(sample_event, sample)

    # WHEN the step notifies
    result = notify(step, secretsmanager=secretsmanager, settings=settings)

    # THEN Slack received one Block Kit message in the channel, with the facts and a link to the execution
    assert result.delivered
    assert result.detail == "sent"
    [message] = fake_slack.messages
    assert message.channel == settings.channel
    kinds = [block["type"] for block in message.blocks]
    assert kinds[0] == "header"
    assert {"section", "context", "actions"} <= set(kinds)
    for fact in facts:
        assert fact in message.block_text
    assert message.button_urls == [CONSOLE_URL]
    assert message.text is not None
    assert CONSOLE_URL in message.text


@pytest.mark.parametrize(
    ("sample", "stage", "error", "cause"),
    [
        (
            "failed_lambda_cause",
            "CheckData",
            "InvalidWatermarkError",
            "watermark parameter /sagemaker-retraining/churn/watermark holds 'oops', not a JSON object",
        ),
        (
            "failed_plain_cause",
            "GetTrainingStatus",
            "TrainingJobFailed",
            "AlgorithmError: ClientError: Data contains NaN in column 'tenure'",
        ),
    ],
)
def test_failed_event_returns_the_failed_stage_error_and_readable_cause(
    fake_slack: FakeSlackApi,
    secretsmanager: Any,
    settings: SlackSettings,
    sample_event: SampleEvent,
    sample: str,
    stage: str,
    error: str,
    cause: str,
) -> None:
    # GIVEN a run that failed in `stage`, its cause either a Lambda error's JSON or plain text
    step = _step(sample_event, sample)

    # WHEN the step notifies the failure
    payload = notify(step, secretsmanager=secretsmanager, settings=settings).to_payload()

    # THEN the result carries what the Fail state reports, and the message shows it first
    assert payload == {"delivered": True, "detail": "sent", "stage": stage, "error": error, "cause": cause}
    failure_section = fake_slack.messages[0].blocks[1]["text"]["text"]
    assert f"*{stage}* failed with *{error}*" in failure_section
    assert "stackTrace" not in failure_section


def test_failed_event_without_a_failure_section_reports_an_unknown_error(
    fake_slack: FakeSlackApi, secretsmanager: Any, settings: SlackSettings, sample_event: SampleEvent
) -> None:
    # GIVEN a failed event whose state records no failure
    step = _step(sample_event, "failed_plain_cause", state={"run": {"pipeline": "churn"}})

    # WHEN the step notifies
    payload = notify(step, secretsmanager=secretsmanager, settings=settings).to_payload()

    # THEN the run still fails with a named error and a cause, never null
    assert payload["error"] == "UnknownError"
    assert isinstance(payload["cause"], str)
    assert payload["cause"]
    assert payload["delivered"] is True


def test_rate_limited_twice_then_the_message_is_delivered_once(
    fake_slack: FakeSlackApi, secretsmanager: Any, settings: SlackSettings, sample_event: SampleEvent
) -> None:
    # GIVEN Slack answers the next two requests with HTTP 429 and Retry-After: 1
    fake_slack.rate_limit(2, retry_after=1)

    # WHEN the step notifies
    result = notify(_step(sample_event, "deployed"), secretsmanager=secretsmanager, settings=settings)

    # THEN slack-sdk waited and retried, and the channel got the message once
    assert result.delivered
    assert fake_slack.request_count == 3
    assert len(fake_slack.messages) == 1


def test_rate_limited_beyond_the_retries_is_reported_not_raised(
    fake_slack: FakeSlackApi, secretsmanager: Any, settings: SlackSettings, sample_event: SampleEvent
) -> None:
    # GIVEN Slack keeps rate limiting longer than the step retries
    fake_slack.rate_limit(10, retry_after=0)
    limited = dataclasses.replace(settings, rate_limit_retries=1)

    # WHEN the step notifies
    result = notify(_step(sample_event, "deployed"), secretsmanager=secretsmanager, settings=limited)

    # THEN it gave up after the bounded retries and says why
    assert result.outcome is Outcome.FAILED
    assert result.detail == "slack error: ratelimited"
    assert fake_slack.request_count == 2
    assert fake_slack.messages == []


@pytest.mark.parametrize(
    ("secret_value", "channel", "slack_error"),
    [
        ("xoxb-revoked-token", None, "invalid_auth"),
        (None, "#no-such-channel", "channel_not_found"),
    ],
)
def test_slack_refusal_is_reported_not_raised(
    fake_slack: FakeSlackApi,
    secretsmanager: Any,
    settings: SlackSettings,
    sample_event: SampleEvent,
    secret_value: str | None,
    channel: str | None,
    slack_error: str,
) -> None:
    # GIVEN a token Slack does not accept, or a channel it does not know
    if secret_value is not None:
        secretsmanager.put_secret_value(SecretId=settings.token_secret_name, SecretString=secret_value)
    refused = dataclasses.replace(settings, channel=channel or settings.channel)

    # WHEN the step notifies (Slack answers HTTP 200 with ok false)
    result = notify(_step(sample_event, "training_started"), secretsmanager=secretsmanager, settings=refused)

    # THEN nothing is raised: the result says Slack's error and keeps the error for the handler's log
    assert result.outcome is Outcome.FAILED
    assert result.detail == f"slack error: {slack_error}"
    assert result.error is not None
    assert fake_slack.messages == []


def test_slack_slower_than_the_timeout_is_reported_not_raised(
    fake_slack: FakeSlackApi, secretsmanager: Any, settings: SlackSettings, sample_event: SampleEvent
) -> None:
    # GIVEN Slack holds every answer longer than the client's 1 s timeout
    fake_slack.delay(5, times=10)

    # WHEN the step notifies
    result = notify(_step(sample_event, "deployed"), secretsmanager=secretsmanager, settings=settings)

    # THEN the request was retried once, then reported as a timeout
    assert result.outcome is Outcome.FAILED
    assert result.detail == "slack did not answer within 1 s"
    assert fake_slack.request_count == 2


def test_unreachable_slack_is_reported_not_raised(
    secretsmanager: Any, settings: SlackSettings, sample_event: SampleEvent
) -> None:
    # GIVEN nothing listens where the step posts
    unreachable = dataclasses.replace(settings, api_url=f"http://127.0.0.1:{_free_port()}/api/")

    # WHEN the step notifies
    result = notify(_step(sample_event, "deployed"), secretsmanager=secretsmanager, settings=unreachable)

    # THEN the refused connection is reported
    assert result.outcome is Outcome.FAILED
    assert result.detail.startswith("could not reach slack:")
    assert "refused" in result.detail.lower()


def test_missing_token_secret_is_reported_without_calling_slack(
    fake_slack: FakeSlackApi, secretsmanager: Any, settings: SlackSettings, sample_event: SampleEvent
) -> None:
    # GIVEN the settings name a secret that does not exist
    missing = dataclasses.replace(settings, token_secret_name="sagemaker-retraining/churn/deleted")

    # WHEN the step notifies
    result = notify(_step(sample_event, "deployed"), secretsmanager=secretsmanager, settings=missing)

    # THEN Secrets Manager's error is reported and Slack is never called
    assert result.outcome is Outcome.FAILED
    assert result.detail == (
        "could not read the Slack token secret 'sagemaker-retraining/churn/deleted': ResourceNotFoundException"
    )
    assert fake_slack.request_count == 0


@pytest.mark.parametrize(
    "secret_format",
    [
        pytest.param(lambda token: token, id="plain"),
        pytest.param(lambda token: f"  {token}\n", id="plain-with-whitespace"),
        pytest.param(lambda token: json.dumps({"bot_token": token}), id="json-bot_token"),
        pytest.param(lambda token: json.dumps({"token": token, "signing_secret": "x"}), id="json-token"),
    ],
)
def test_token_is_read_from_a_plain_or_json_secret(
    fake_slack: FakeSlackApi,
    secretsmanager: Any,
    settings: SlackSettings,
    sample_event: SampleEvent,
    secret_format: Callable[[str], str],
) -> None:
    # GIVEN the secret holds the token in one of the accepted formats
    value = secret_format(fake_slack.valid_token)
    secretsmanager.put_secret_value(SecretId=settings.token_secret_name, SecretString=value)

    # WHEN the step notifies
    result = notify(_step(sample_event, "deployed"), secretsmanager=secretsmanager, settings=settings)

    # THEN Slack accepted the token
    assert result.delivered
    assert len(fake_slack.messages) == 1


@pytest.mark.parametrize(
    ("secret_value", "reason"),
    [
        (json.dumps({"client_secret": "abc"}), "holds JSON without a bot_token or token key"),
        ("{not json", "holds malformed JSON"),
        ("   ", "holds no text"),
    ],
)
def test_secret_without_a_token_is_reported_without_its_value(
    fake_slack: FakeSlackApi,
    secretsmanager: Any,
    settings: SlackSettings,
    sample_event: SampleEvent,
    secret_value: str,
    reason: str,
) -> None:
    # GIVEN the secret holds no usable token
    secretsmanager.put_secret_value(SecretId=settings.token_secret_name, SecretString=secret_value)

    # WHEN the step notifies
    result = notify(_step(sample_event, "deployed"), secretsmanager=secretsmanager, settings=settings)

    # THEN the reason names the secret, not what it holds
    assert result.outcome is Outcome.FAILED
    assert result.detail == f"secret {settings.token_secret_name!r} {reason}"
    assert fake_slack.request_count == 0


@pytest.mark.parametrize("unset", ["channel", "token_secret_name"])
@pytest.mark.parametrize("sample", ["training_started", "failed_plain_cause"])
def test_slack_not_configured_skips_without_reading_the_secret_or_calling_slack(
    fake_slack: FakeSlackApi,
    secretsmanager: Any,
    secret_reads: list[str],
    settings: SlackSettings,
    sample_event: SampleEvent,
    unset: str,
    sample: str,
) -> None:
    # GIVEN a pipeline deployed without a Slack channel or token secret
    if unset == "channel":
        unconfigured = dataclasses.replace(settings, channel=None)
    else:
        unconfigured = dataclasses.replace(settings, token_secret_name=None)

    # WHEN the step is invoked
    result = notify(_step(sample_event, sample), secretsmanager=secretsmanager, settings=unconfigured)

    # THEN it skips cleanly: no secret read, no request, and a failure is still reported for the Fail state
    assert result.outcome is Outcome.SKIPPED
    assert result.to_payload()["delivered"] is False
    assert result.detail == NOT_CONFIGURED
    assert secret_reads == []
    assert fake_slack.request_count == 0
    if sample.startswith("failed"):
        assert result.to_payload()["error"] == "TrainingJobFailed"


@pytest.mark.parametrize(
    ("event_name", "message"),
    [
        ("retrained", "unknown notification event 'retrained'"),
        (None, "event field 'event' is missing"),
    ],
)
def test_unknown_or_missing_event_name_is_rejected(
    fake_slack: FakeSlackApi,
    secretsmanager: Any,
    settings: SlackSettings,
    sample_event: SampleEvent,
    event_name: str | None,
    message: str,
) -> None:
    # GIVEN an event name the state machine never sends
    raw = sample_event("deployed")
    raw.pop("event")
    if event_name is not None:
        raw["event"] = event_name

    # WHEN / THEN the step refuses it, naming the event
    with pytest.raises(InvalidStepEventError, match=message):
        notify(StepEvent.parse(raw), secretsmanager=secretsmanager, settings=settings)
    assert fake_slack.request_count == 0


@pytest.mark.parametrize(("configured", "expected"), [(None, 5), ("", 5), ("2", 2)])
def test_slack_timeout_defaults_to_five_seconds_and_can_be_set(configured: str | None, expected: int) -> None:
    # GIVEN the function's environment, with or without SLACK_TIMEOUT_SECONDS
    env = {"SLACK_CHANNEL": "#ml-alerts", "SLACK_TOKEN_SECRET_NAME": "slack/bot"}
    if configured is not None:
        env["SLACK_TIMEOUT_SECONDS"] = configured

    # WHEN the settings are read
    settings = SlackSettings.from_env(env)

    # THEN the client's timeout is the default, or the configured one
    assert settings.timeout_seconds == expected


@pytest.mark.parametrize("configured", ["0", "soon"])
def test_slack_timeout_that_is_not_a_positive_integer_is_a_configuration_error(configured: str) -> None:
    # GIVEN a malformed SLACK_TIMEOUT_SECONDS
    env = {"SLACK_TIMEOUT_SECONDS": configured}

    # WHEN / THEN reading the settings names the variable
    with pytest.raises(ConfigurationError, match="SLACK_TIMEOUT_SECONDS"):
        SlackSettings.from_env(env)
