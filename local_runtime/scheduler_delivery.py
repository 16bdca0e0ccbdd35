"""How EventBridge Scheduler delivers a tick: the context attributes in its input, its retries, its dead letters.

As AWS documents it (read 2026-12):
- https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html: in a target's
  Input, `<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>` (the time the tick was due, UTC, ISO
  8601 to the second with Z), `<aws.scheduler.execution-id>` (an id per invocation) and
  `<aws.scheduler.attempt-number>` (1 on the first attempt) are replaced by their values.
- https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html: MaximumRetryAttempts and
  MaximumEventAgeInSeconds (default 185 and 86400); Scheduler retries with a backoff and then, with a
  DeadLetterConfig, sends the tick to that SQS queue.
- https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html: the dead-letter event
  carries the invocation's details and the target's response. The message attribute names used here (ERROR_CODE,
  ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, SCHEDULE_ARN, TARGET_ARN) are how we recall Scheduler's
  dead letters; the page read here shows no example, so they are unverified.
Which errors Scheduler retries is not spelled out either: here throttling, server errors and an unreachable service
are retried (what could succeed later), and everything else (AccessDenied, a deleted state machine, a bad input) goes
to the dead-letter queue at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
SCHEDULE_ARN = "<aws.scheduler.schedule-arn>"
EXECUTION_ID = "<aws.scheduler.execution-id>"
ATTEMPT_NUMBER = "<aws.scheduler.attempt-number>"
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400
# Local backoff: base * 2^(retry - 1), at most a minute of the scheduler's clock.
_MAX_RETRY_DELAY = timedelta(minutes=1)
_RETRIED_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "ServiceUnavailable", "InternalServerError"}
)


def substitute_context(
    payload: str, *, schedule_arn: str, scheduled_time: datetime, execution_id: str, attempt: int
) -> str:
    """The target's Input with Scheduler's context attributes replaced by this attempt's values."""
    values = {
        SCHEDULED_TIME: scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        SCHEDULE_ARN: schedule_arn,
        EXECUTION_ID: execution_id,
        ATTEMPT_NUMBER: str(attempt),
    }
    for placeholder, value in values.items():
        payload = payload.replace(placeholder, value)
    return payload


def retryable(problem: Exception) -> bool:
    """Whether a failed StartExecution could succeed if tried again."""
    if isinstance(problem, ClientError):
        error = problem.response.get("Error", {})
        status = int(problem.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        return error.get("Code") in _RETRIED_CODES or status >= 500
    return isinstance(problem, BotoCoreError | ConnectionError)


def give_up_reason(problem: Exception, policy: Mapping[str, Any], attempt: int, age: timedelta) -> str | None:
    """Why the tick goes to the dead-letter queue after failed attempt `attempt`; None when it is retried."""
    if not retryable(problem):
        return "NonRetryableError"
    if attempt > int(policy.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS)):
        return "MaximumRetryAttempts"
    if age >= timedelta(seconds=int(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS))):
        return "MaximumEventAgeInSeconds"
    return None


def retry_delay(retry: int, base_seconds: float) -> timedelta:
    return min(timedelta(seconds=base_seconds * 2 ** (retry - 1)), _MAX_RETRY_DELAY)


@dataclass(frozen=True)
class DeadLetter:
    """A tick Scheduler gave up on, for the schedule's dead-letter queue."""

    queue_arn: str
    role_arn: str | None
    body: str  # the input the target would have received
    problem: Exception
    exhausted: str  # MaximumRetryAttempts, MaximumEventAgeInSeconds or NonRetryableError
    retry_attempts: int
    schedule_arn: str
    target_arn: str
    scheduled_time: datetime

    def attributes(self) -> dict[str, dict[str, str]]:
        code = type(self.problem).__name__
        if isinstance(self.problem, ClientError):
            code = str(self.problem.response.get("Error", {}).get("Code") or code)
        text = {
            "ERROR_CODE": code,
            "ERROR_MESSAGE": str(self.problem)[:1000] or code,
            "EXHAUSTED_RETRY_CONDITION": self.exhausted,
            "RETRY_ATTEMPTS": str(self.retry_attempts),
            "SCHEDULE_ARN": self.schedule_arn,
            "TARGET_ARN": self.target_arn,
        }
        return {name: {"DataType": "String", "StringValue": value} for name, value in text.items()}


def send_dead_letter(sqs: Any, letter: DeadLetter) -> None:
    """Send the dead letter to its queue (SQS, named by its ARN), as the schedule's role."""
    _, _, _, _, account, name = letter.queue_arn.split(":", 5)
    url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=letter.body, MessageAttributes=letter.attributes())
