"""The `alerts` section: who hears of the pipeline's CloudWatch alarms by email."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from stacks.config.errors import FieldError
from stacks.config.fields import Rule, Section

# An address SNS can deliver to: one @, no spaces, a dotted domain. SNS checks nothing more at deploy time; the
# subscription stays pending until its owner confirms it.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_EMAIL_MAX_LENGTH = 254
MAX_ALERT_EMAILS = 20

EmailAddress = Annotated[
    str, Field(pattern=_EMAIL.pattern, max_length=_EMAIL_MAX_LENGTH), Rule("an email address like ops@example.com")
]


def _once_each(addresses: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for position, address in enumerate(addresses):
        if address.lower() in seen:
            raise FieldError(f"[{position}]", f"repeats {address!r}: each address gets one subscription")
        seen.add(address.lower())
    return addresses


class AlertsConfig(Section):
    """Who hears of the pipeline's CloudWatch alarms outside Slack: email addresses, through an SNS topic."""

    email: Annotated[
        tuple[EmailAddress, ...],
        Field(min_length=1, max_length=MAX_ALERT_EMAILS),
        AfterValidator(_once_each),
        Rule("a non-empty list of email addresses", too_many="addresses"),
    ]
