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
        code = error.response["Error"]["Code"]
        if code == "ResourceNotFoundException":
            raise SlackSecretMissingError(
                f"the Slack token secret {secret_name!r} (configuration field slack.token_secret_name) does not "
                "exist; create it with the bot token, or remove `slack` from the pipeline's configuration"
            ) from None
        if code == "AccessDeniedException":
            # The stack grants DescribeSecret on `<name>-??????`, the ARN an existing secret has. A secret that does
            # not exist has no such ARN, so IAM denies before Secrets Manager could answer ResourceNotFound: on AWS
            # a missing secret reads as this denial (what the local runtime's IAM enforcement showed).
            raise SlackSecretMissingError(
                f"the Slack token secret {secret_name!r} (configuration field slack.token_secret_name) cannot be "
                "read: it most likely does not exist (IAM denies DescribeSecret on a missing secret, whose ARN "
                "cannot match the grant); create it with the bot token, or remove `slack` from the pipeline's "
                f"configuration. Secrets Manager said: {error.response['Error'].get('Message', code)}"
            ) from None
        raise
    if description.get("DeletedDate"):
        raise SlackSecretMissingError(
            f"the Slack token secret {secret_name!r} (configuration field slack.token_secret_name) is scheduled for "
            "deletion; restore it (aws secretsmanager restore-secret) or name another secret"
        )
