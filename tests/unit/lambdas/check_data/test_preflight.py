"""CheckData's preflight against moto's Secrets Manager: a run whose alerts could not go out does not start."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.check_data.preflight import SlackSecretMissingError, require_slack_secret
from local_runtime.iam.roles import PolicyDocument, TemplateRole
from local_runtime.server import LocalAws


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


def test_a_missing_secret_denied_as_iam_denies_it_under_the_stacks_grant_still_names_it(aws_env: None) -> None:
    # GIVEN CheckData's grant as the stack writes it (DescribeSecret on the name and Secrets Manager's random suffix),
    # enforced by the local AWS, and no such secret
    account, region = "123456789012", "us-east-1"
    role_arn = f"arn:aws:iam::{account}:role/CheckDataRole"
    grant = {
        "Effect": "Allow",
        "Action": "secretsmanager:DescribeSecret",
        "Resource": f"arn:aws:secretsmanager:{region}:{account}:secret:slack/bot-??????",
    }
    document = {"Version": "2012-10-17", "Statement": [grant]}
    role = TemplateRole("CheckDataRole", "CheckDataRole", role_arn, {}, (PolicyDocument("p", "inline", "r", document),))
    with LocalAws(enforce_iam=True) as local:
        local.iam.add_roles([role])
        issued = local.principals.issue(role_arn, "check-data")
        secrets = boto3.client(
            "secretsmanager",
            endpoint_url=local.endpoint_url,
            region_name=region,
            aws_access_key_id=issued.access_key_id,
            aws_secret_access_key=issued.secret_access_key,
            aws_session_token=issued.session_token,
        )

        # WHEN the preflight looks for it
        with pytest.raises(SlackSecretMissingError) as raised:
            require_slack_secret(secrets, "slack/bot")

    # THEN IAM's denial (no ARN of a missing secret matches the grant) reads as the secret most likely missing
    message = str(raised.value)
    assert "'slack/bot'" in message
    assert "slack.token_secret_name" in message
    assert "most likely does not exist" in message
    assert "is not authorized to perform: secretsmanager:DescribeSecret" in message
