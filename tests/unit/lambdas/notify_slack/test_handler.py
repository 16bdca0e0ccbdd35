"""The NotifySlack Lambda end to end: environment, moto's Secrets Manager, the local Slack API, logs, metrics."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from contract.metrics import METRICS_NAMESPACE, SLACK_NOTIFICATION_FAILED, metric_dimensions
from lambdas.common import env as names
from lambdas.common.errors import InvalidStepEventError
from lambdas.notify_slack import handler as handler_module
from tests.fakes.slack_api import FakeSlackApi

SampleEvent = Callable[[str], dict[str, Any]]


class CurrentStdout:
    """A stream that writes to sys.stdout as it is when a record is logged, so capsys captures it."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def handler(
    aws: None,
    fake_slack: FakeSlackApi,
    token_secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> ModuleType:
    """The handler module with the environment the stack sets, Slack pointed at the local server."""
    monkeypatch.setenv(names.PIPELINE_NAME, "churn")
    monkeypatch.setenv(names.SLACK_CHANNEL, next(iter(fake_slack.channels)))
    monkeypatch.setenv(names.SLACK_TOKEN_SECRET_NAME, token_secret)
    monkeypatch.setenv(names.SLACK_API_URL, fake_slack.base_url)
    # Powertools binds its log stream to sys.stdout on import, which capsys replaces in each test.
    monkeypatch.setattr(handler_module.logger.registered_handler, "stream", CurrentStdout())
    return handler_module


def _emitted_metrics(output: str) -> dict[str, float]:
    """The metrics of the EMF documents the handler printed, by name."""
    emitted: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                # EMF writes a metric's values as a list when the invocation added it more than once.
                value = document[metric["Name"]]
                emitted[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return emitted


def _dimensions(output: str, metric_name: str) -> list[dict[str, str]]:
    """The dimensions of each EMF document that carries the metric."""
    found = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                if any(metric["Name"] == metric_name for metric in directive["Metrics"]):
                    found.extend({name: document[name] for name in names} for names in directive["Dimensions"])
    return found


def _logs(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"level"' in line]


def test_handler_posts_the_message_and_counts_it(
    handler: ModuleType,
    lambda_context: Any,
    fake_slack: FakeSlackApi,
    sample_event: SampleEvent,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a deployed run
    event = sample_event("deployed")

    # WHEN the Lambda is invoked
    result = handler.lambda_handler(event, lambda_context)

    # THEN the message reached Slack, the sent metric is counted and the log carries the execution's id
    assert result == {"delivered": True, "detail": "sent"}
    assert len(fake_slack.messages) == 1
    output = capsys.readouterr().out
    assert _emitted_metrics(output) == {"SlackNotificationSent": 1.0}
    assert f'"Namespace":"{METRICS_NAMESPACE}"' in output
    [log] = [log for log in _logs(output) if log["message"] == "Slack notification sent"]
    assert log["correlation_id"] == event["execution"]["id"]


def test_handler_reports_a_slack_refusal_without_raising_and_counts_it(
    handler: ModuleType,
    lambda_context: Any,
    fake_slack: FakeSlackApi,
    secretsmanager: Any,
    token_secret: str,
    sample_event: SampleEvent,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a revoked token in the secret
    secretsmanager.put_secret_value(SecretId=token_secret, SecretString="xoxb-revoked-token")

    # WHEN the failure notification is sent
    result = handler.lambda_handler(sample_event("failed_plain_cause"), lambda_context)

    # THEN the run's failure report is returned, the delivery failure is logged as a warning and counted
    assert result == {
        "delivered": False,
        "detail": "slack error: invalid_auth",
        "stage": "GetTrainingStatus",
        "error": "TrainingJobFailed",
        "cause": "AlgorithmError: ClientError: Data contains NaN in column 'tenure'",
    }
    output = capsys.readouterr().out
    assert _emitted_metrics(output) == {"SlackNotificationFailed": 1.0}
    [warning] = [log for log in _logs(output) if log["level"] == "WARNING"]
    assert warning["detail"] == "slack error: invalid_auth"
    assert "SlackDeliveryError" in warning["exception"]


def test_the_failure_metric_carries_the_dimensions_the_stacks_alarm_watches(
    handler: ModuleType,
    lambda_context: Any,
    secretsmanager: Any,
    token_secret: str,
    sample_event: SampleEvent,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a token Slack refuses, in pipeline churn
    secretsmanager.put_secret_value(SecretId=token_secret, SecretString="xoxb-revoked-token")

    # WHEN a notification fails
    handler.lambda_handler(sample_event("failed_plain_cause"), lambda_context)

    # THEN the metric is counted under the step and the pipeline: another pipeline's failures stay apart
    assert _dimensions(capsys.readouterr().out, SLACK_NOTIFICATION_FAILED) == [
        metric_dimensions("notify_slack", "churn")
    ]


@pytest.mark.parametrize("secret_holds_valid_token", [True, False])
def test_token_appears_in_no_log_and_no_result(
    handler: ModuleType,
    lambda_context: Any,
    fake_slack: FakeSlackApi,
    secretsmanager: Any,
    token_secret: str,
    sample_event: SampleEvent,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    secret_holds_valid_token: bool,
) -> None:
    # GIVEN a token Slack accepts, or one it refuses (whose error path logs the most), and every logger,
    # slack-sdk's and botocore's included, at DEBUG
    token = fake_slack.valid_token if secret_holds_valid_token else "xoxb-9999-refused-but-still-secret"
    secretsmanager.put_secret_value(SecretId=token_secret, SecretString=token)
    for name in (None, handler.logger.name, "slack_sdk", "botocore"):
        caplog.set_level(logging.DEBUG, logger=name)

    # WHEN the Lambda runs
    result = handler.lambda_handler(sample_event("failed_lambda_cause"), lambda_context)

    # THEN the token is nowhere in what it logged, printed or returned
    captured = capsys.readouterr()
    assert "Slack notification" in captured.out
    assert token not in captured.out + captured.err
    assert token not in caplog.text
    assert token not in json.dumps(result)


def test_handler_skips_when_slack_is_not_configured(
    handler: ModuleType,
    lambda_context: Any,
    fake_slack: FakeSlackApi,
    secret_reads: list[str],
    sample_event: SampleEvent,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a stack deployed without a Slack channel
    monkeypatch.delenv(names.SLACK_CHANNEL)

    # WHEN the Lambda runs
    result = handler.lambda_handler(sample_event("training_started"), lambda_context)

    # THEN it returns at once, counted as skipped
    assert result == {"delivered": False, "detail": "slack not configured"}
    assert fake_slack.request_count == 0
    assert _emitted_metrics(capsys.readouterr().out) == {"SlackNotificationSkipped": 1.0}


# The handler raises before it records a metric; Powertools warns that it has none to publish.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_handler_rejects_an_unknown_event_name(
    handler: ModuleType, lambda_context: Any, fake_slack: FakeSlackApi, sample_event: SampleEvent
) -> None:
    # GIVEN an event name the state machine never sends
    event = {**sample_event("deployed"), "event": "model_retired"}

    # WHEN / THEN the Lambda raises the error the ASL's Catch sees
    with pytest.raises(InvalidStepEventError, match="model_retired"):
        handler.lambda_handler(event, lambda_context)
    assert fake_slack.request_count == 0
