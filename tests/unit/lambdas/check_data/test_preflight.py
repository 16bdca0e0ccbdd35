"""CheckData's preflight against moto's Secrets Manager: a run whose alerts could not go out does not start."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.check_data.preflight import SlackSecretMissingError, require_slack_secret


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager")


def test_an_existing_secret_passes_without_its_value_being_read(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="slack/bot", SecretString="xoxb-1")

    class MetadataOnly:
        def describe_secret(self, **kwargs: Any) -> Any:
            return secretsmanager.describe_secret(**kwargs)

    require_slack_secret(MetadataOnly(), "slack/bot")  # GetSecretValue would raise AttributeError


def test_no_secret_configured_means_slack_is_off(secretsmanager: Any) -> None:
    require_slack_secret(secretsmanager, None)


def test_a_missing_secret_fails_naming_it_and_the_field(secretsmanager: Any) -> None:
    with pytest.raises(SlackSecretMissingError) as raised:
        require_slack_secret(secretsmanager, "slack/bot")

    assert "'slack/bot'" in str(raised.value)
    assert "slack.token_secret_name" in str(raised.value)


def test_a_secret_scheduled_for_deletion_counts_as_missing(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="slack/bot", SecretString="xoxb-1")
    secretsmanager.delete_secret(SecretId="slack/bot", RecoveryWindowInDays=7)

    with pytest.raises(SlackSecretMissingError, match="scheduled for deletion"):
        require_slack_secret(secretsmanager, "slack/bot")
