"""The `slack` section: where notifications go, and the name (never the value) of the bot token's secret."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from stacks.config.fields import Rule, Section

_SLACK_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9_-]{0,79}|[CDG][A-Z0-9]{8,})$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# A key ARN, not an alias: IAM authorizes kms:Decrypt on the key's own ARN.
_KMS_KEY_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key/"
    r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)


class SlackConfig(Section):
    """Where alerts go. Only the name of the secret holding the bot token is configuration.

    `token_kms_key_arn` names the customer managed key the secret is encrypted with, if it is not Secrets
    Manager's default key (aws/secretsmanager, which needs no grant).
    """

    channel: Annotated[
        str,
        Field(pattern=_SLACK_CHANNEL.pattern),
        Rule("a channel name like #ml-alerts or a channel id like C0123ABCD"),
    ]
    token_secret_name: Annotated[
        str,
        Field(pattern=_SECRET_NAME.pattern),
        Rule("the name of a Secrets Manager secret (letters, digits and /_+=.@-), not the token"),
    ]
    token_kms_key_arn: (
        Annotated[
            str,
            Field(pattern=_KMS_KEY_ARN.pattern),
            Rule("the ARN of the KMS key that encrypts the secret (arn:<partition>:kms:<region>:<account>:key/<id>)"),
        ]
        | None
    ) = None
