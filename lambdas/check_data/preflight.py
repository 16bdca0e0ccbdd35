"""Checks CheckData makes before a run may start: what the run will need later and cannot get once it spends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lambdas.common.errors import RetrainingError

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient


class SlackSecretMissingError(RetrainingError):
    """The pipeline names a Slack token secret that does not exist (or is being deleted): alerts could not go out."""


def require_slack_secret(secretsmanager: SecretsManagerClient, secret_name: str | None) -> None:
    """Fail the run before it trains when the configured Slack token secret is missing.

    A run that trains and deploys while no alert can reach the team is what this workflow must not do. Only the
    secret's metadata is read (DescribeSecret), never its value. No secret configured means Slack is off: fine.
    Raises SlackSecretMissingError naming the secret and the configuration field.
    """
    if secret_name is None:
        return
    try:
        description = secretsmanager.describe_secret(SecretId=secret_name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        raise SlackSecretMissingError(
            f"the Slack token secret {secret_name!r} (configuration field slack.token_secret_name) does not exist; "
            "create it with the bot token, or remove `slack` from the pipeline's configuration"
        ) from None
    if description.get("DeletedDate"):
        raise SlackSecretMissingError(
            f"the Slack token secret {secret_name!r} (configuration field slack.token_secret_name) is scheduled for "
            "deletion; restore it (aws secretsmanager restore-secret) or name another secret"
        )
