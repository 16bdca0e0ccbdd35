"""The Slack token never leaves Secrets Manager but for Slack's Authorization header.

Whole workflows run in the local runtime with a recognisable token in the Slack secret, every logger of the
process at DEBUG (Lambda's log level set to DEBUG does the same: botocore's debug logs included). Everything
a run leaves behind is then searched for the token: stdout and stderr, every log record, the execution's
full history and description, the events the functions received, their environment, and the template. The
canary tests show that the same capture and search do find a token that is logged.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from aws_lambda_powertools import Logger

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, deploy, run_execution
from local_runtime.server import LocalAws
from local_runtime.template import read_stack
from tests.e2e.conftest import REGION, SLACK_CHANNEL, SLACK_SECRET, STACK, put_days
from tests.fakes.slack_api import FakeSlackApi

# Recognisable, and unique to this session so that nothing else can contain it by chance.
TOKEN = f"xoxb-hygiene-canary-{uuid.uuid4().hex}"
ANOTHER_TOKEN = "xoxb-the-only-token-slack-accepts"
# The handlers' Powertools loggers (Logger(service=...) in lambdas/<step>/handler.py).
STEP_LOGGERS = ("check_data", "start_training_job", "get_status", "deploy_model", "update_parameters", "notify_slack")
# What Lambda's log level DEBUG (Advanced Logging Controls) and Powertools' level variable set in a function.
DEBUG_ENVIRONMENT = {"AWS_LAMBDA_LOG_LEVEL": "DEBUG", "POWERTOOLS_LOG_LEVEL": "DEBUG"}
_runs = count(1)


# The scanner


def secret_forms(secret: str) -> set[str]:
    """The forms in which `secret` would show up in text: as is, JSON-escaped, URL-encoded, and base64.

    Base64 of a buffer holding the secret contains, for one of three alignments, the encoding of the secret
    from that alignment on, less its last group (which mixes in the bytes that follow).
    """
    forms = {secret, json.dumps(secret)[1:-1], quote(secret, safe="")}
    raw = secret.encode()
    for offset in range(3):
        forms.add(base64.b64encode(raw[offset:]).decode()[:-4])
    return forms


def find_leaks(sources: Mapping[str, str], secret: str) -> list[str]:
    """Where the secret (in any of its forms) appears: `source: …context…` for each occurrence."""
    leaks = []
    for source, text in sources.items():
        for form in secret_forms(secret):
            start = text.find(form)
            while start >= 0:
                leaks.append(f"{source}: …{text[max(0, start - 80) : start + len(form) + 80]}…")
                start = text.find(form, start + 1)
    return leaks


def render(record: logging.LogRecord) -> str:
    """All a log record holds: its formatted message and traceback, and every attribute (`extra` fields too)."""
    return "\n".join([logging.Formatter().format(record), json.dumps(vars(record), default=repr)])


# The capture


class RecordTap(logging.Handler):
    """Keeps every record of the loggers that do not pass theirs on to the root logger (where caplog listens)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Capture:
    """What a run printed and logged; `text()` once the run is over."""

    capfd: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    tap: RecordTap = field(default_factory=RecordTap)
    stdout: str = ""
    stderr: str = ""

    def records(self) -> list[logging.LogRecord]:
        return [*self.caplog.records, *self.tap.records]

    def finish(self) -> None:
        captured = self.capfd.readouterr()
        self.stdout, self.stderr = captured.out, captured.err

    def sources(self) -> dict[str, str]:
        return {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "log records": "\n".join(render(record) for record in self.records()),
        }


@contextmanager
def everything_logged_at_debug(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> Iterator[Capture]:
    """Capture stdout, stderr and every log record, with the root logger and the steps' loggers at DEBUG.

    Loggers given a level of their own keep it, as they would in Lambda: the handlers' own guards (botocore's
    response parser held at INFO by NotifySlack) and the local AWS's quieted moto and werkzeug loggers.
    """
    capture = Capture(capfd=capfd, caplog=caplog)
    capfd.readouterr()  # what came before the run is not the run's
    caplog.set_level(logging.DEBUG)  # the root logger, restored by caplog
    step_loggers = [logging.getLogger(name) for name in STEP_LOGGERS]
    saved = [(logger, logger.level, logger.propagate) for logger in step_loggers]
    # A Powertools handler keeps the stdout of the moment its logger was made (perhaps an earlier test's
    # capture): point it at this run's stdout, where Lambda would read the function's log lines.
    # (Assigned, not setStream: that flushes the old stream, which may be closed.)
    streams = [
        (handler, handler.stream)
        for logger in step_loggers
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
    ]
    for handler, _ in streams:
        handler.stream = sys.stdout
    non_propagating = [
        logger
        for logger in [logging.getLogger(name) for name in logging.root.manager.loggerDict]
        if not logger.propagate
    ]
    for logger in step_loggers:
        logger.setLevel(logging.DEBUG)
    for logger in non_propagating:
        logger.addHandler(capture.tap)
    try:
        yield capture
    finally:
        for logger in non_propagating:
            logger.removeHandler(capture.tap)
        for logger, level, propagate in saved:
            logger.setLevel(level)
            logger.propagate = propagate
        for handler, stream in streams:
            handler.stream = stream
        capture.finish()


# The workflow


@dataclass(frozen=True)
class Deployment:
    aws: LocalAws
    pipeline: DeployedPipeline
    slack: FakeSlackApi
    template: dict[str, Any]

    def function_environments(self) -> dict[str, Mapping[str, str]]:
        """Each function's environment as the local Lambda runs it: the template's plus the local values."""
        registered = {name: self.aws.functions.find(name) for name in self.pipeline.stack.functions}
        return {name: function.environment for name, function in registered.items() if function is not None}


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest,
    local_aws: LocalAws,
    template: dict[str, Any],
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Deployment]:
    """The e2e pipeline with TOKEN in its Slack secret; Slack accepts TOKEN unless the test says otherwise."""
    accepted = getattr(request, "param", TOKEN)
    requests.post(f"{local_aws.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)
    with FakeSlackApi(valid_token=accepted, channels=(SLACK_CHANNEL,)) as slack:
        stack = read_stack(template, stack_name=STACK, region=REGION)
        pipeline = deploy(local_aws, stack, function_environment={"SLACK_API_URL": slack.base_url, **DEBUG_ENVIRONMENT})
        # Stored before the capture starts: the test's own CreateSecret call is not the workflow's doing.
        boto3.client("secretsmanager").create_secret(Name=SLACK_SECRET, SecretString=TOKEN)
        yield Deployment(aws=local_aws, pipeline=pipeline, slack=slack, template=template)


def today(offset: int = 0) -> str:
    return (datetime.now(UTC).date() - timedelta(days=offset)).isoformat()


def run(deployment: Deployment, execution_input: dict[str, Any]) -> tuple[ExecutionRecord, dict[str, Any]]:
    """Run the workflow to its end; return its record (history included) and DescribeExecution's answer."""
    record = run_execution(
        deployment.aws,
        deployment.pipeline,
        name=f"hygiene-{next(_runs)}",
        execution_input=execution_input,
        timeout_seconds=90,
    )
    described: dict[str, Any] = boto3.client("stepfunctions").describe_execution(executionArn=record.arn)
    return record, described


def run_leaves_behind(
    deployment: Deployment, capture: Capture, record: ExecutionRecord, described: Mapping[str, Any]
) -> dict[str, str]:
    """Every place the run could have written the token to, as text."""
    return {
        **capture.sources(),
        "execution history": json.dumps(record.history, default=str),
        "execution description": json.dumps(described, default=str),
        "final output": json.dumps(record.output),
        "events the functions received": json.dumps(deployment.aws.functions.invocations, default=str),
        "function environments": json.dumps(deployment.function_environments()),
        "template": json.dumps(deployment.template),
    }


def assert_debug_logs_were_captured(capture: Capture) -> None:
    """The scan means something only if the run's logs were there to scan: botocore's debug records and the
    NotifySlack function's Powertools lines on stdout."""
    assert any(r.name.startswith("botocore") and r.levelno == logging.DEBUG for r in capture.records())
    lines = [json.loads(line) for line in capture.stdout.splitlines() if line.startswith("{")]
    assert any(line.get("service") == "notify_slack" for line in lines), capture.stdout[-2000:]


@pytest.mark.reliability(
    "scan",
    "Slack token hygiene: a run that trains, deploys and posts",
    "The token appears in no log line (DEBUG included), execution history, output, event, environment or template",
)
@pytest.mark.e2e
def test_a_run_that_trains_deploys_and_posts_four_messages_leaves_the_token_nowhere(
    deployment: Deployment, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN new data, and Slack accepting the token
    put_days(deployment.pipeline, [today(2), today(1), today(0)])

    # WHEN a whole run trains, deploys and notifies with every logger at DEBUG
    with everything_logged_at_debug(capfd, caplog) as capture:
        record, described = run(deployment, {"trigger": "schedule"})

    # THEN the token reached Slack four times and nothing else
    assert record.status == "SUCCEEDED", record.cause
    assert len(deployment.slack.messages) == 4
    assert_debug_logs_were_captured(capture)
    assert find_leaks(run_leaves_behind(deployment, capture, record, described), TOKEN) == []


@pytest.mark.reliability(
    "scan",
    "Slack token hygiene: Slack refuses the token",
    "The refusal is logged and counted, without the token",
)
@pytest.mark.e2e
@pytest.mark.parametrize("deployment", [ANOTHER_TOKEN], indirect=True, ids=["slack-refuses-the-token"])
def test_a_run_whose_notifications_slack_refuses_logs_the_failure_without_the_token(
    deployment: Deployment, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN no new data, and Slack refusing the token (a revoked token: invalid_auth)
    # WHEN the run ends as NoNewData and its notification fails, logged as a warning with its traceback
    with everything_logged_at_debug(capfd, caplog) as capture:
        record, described = run(deployment, {})

    # THEN the failure is logged, and the token is in none of it
    assert record.status == "SUCCEEDED"
    assert deployment.slack.request_count >= 1
    assert deployment.slack.messages == []
    warnings = [r for r in capture.records() if r.levelno == logging.WARNING and r.name == "notify_slack"]
    assert warnings
    assert all(r.exc_info for r in warnings)
    assert "invalid_auth" in capture.stdout
    assert_debug_logs_were_captured(capture)
    assert find_leaks(run_leaves_behind(deployment, capture, record, described), TOKEN) == []


@pytest.mark.reliability(
    "scan",
    "Slack token hygiene: a failed run and its alert",
    "The token appears nowhere in the logs or the history",
)
@pytest.mark.e2e
def test_a_failed_run_and_its_alert_leave_the_token_nowhere(
    deployment: Deployment, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a manual run with invalid input
    # WHEN CheckData fails it, NotifyFailure alerts and the run ends in RunFailed with the error and cause
    with everything_logged_at_debug(capfd, caplog) as capture:
        record, described = run(deployment, {"force": "yes"})

    # THEN the error is everywhere it should be, and the token nowhere
    assert (record.status, record.error) == ("FAILED", "InvalidRunInputError")
    assert len(deployment.slack.messages) == 1
    assert_debug_logs_were_captured(capture)
    assert find_leaks(run_leaves_behind(deployment, capture, record, described), TOKEN) == []


# Canaries: the same capture and scanner find a token that does leak.


@pytest.mark.e2e
def test_canary_the_scan_finds_the_token_when_botocore_may_log_the_secrets_response(
    deployment: Deployment, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN NotifySlack's guard lifted: botocore's response parser logging response bodies at DEBUG
    parser = logging.getLogger("botocore.parsers")
    guarded_level = parser.level

    # WHEN a short run reads the secret and notifies
    parser.setLevel(logging.DEBUG)
    try:
        with everything_logged_at_debug(capfd, caplog) as capture:
            record, described = run(deployment, {})
    finally:
        parser.setLevel(guarded_level)

    # THEN the GetSecretValue response body, token inside, is found in the log records
    assert record.status == "SUCCEEDED"
    assert len(deployment.slack.messages) == 1
    leaks = find_leaks(run_leaves_behind(deployment, capture, record, described), TOKEN)
    assert leaks
    assert all(leak.startswith("log records: ") for leak in leaks), leaks


def test_canary_the_scan_finds_a_token_a_powertools_logger_prints(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a step's logger
    logger = Logger(service="notify_slack")

    # WHEN it logs the token by mistake, in the message and in an extra field
    with everything_logged_at_debug(capfd, caplog) as capture:
        logger.debug("posting with token %s", TOKEN)
        logger.info("posted", extra={"headers": {"Authorization": f"Bearer {TOKEN}"}})

    # THEN both lines are found, on stdout and in the records
    leaks = find_leaks(capture.sources(), TOKEN)
    assert len([leak for leak in leaks if leak.startswith("stdout: ")]) == 2
    assert len([leak for leak in leaks if leak.startswith("log records: ")]) >= 2


@pytest.mark.parametrize(
    "text",
    [
        f"plain {TOKEN} text",
        json.dumps({"event": {"secret": TOKEN}}),
        f"https://slack.com/api/auth.test?token={quote(TOKEN, safe='')}",
        base64.b64encode(f"{{'SecretString': '{TOKEN}'}}".encode()).decode(),
        base64.b64encode(f"x{TOKEN}".encode()).decode(),
        base64.b64encode(f"xy{TOKEN}".encode()).decode(),
    ],
    ids=["plain", "json", "url-encoded", "base64", "base64-offset-1", "base64-offset-2"],
)
def test_the_scanner_finds_the_token_in_any_form(text: str) -> None:
    assert find_leaks({"somewhere": text}, TOKEN)


def test_the_scanner_reports_nothing_without_the_token() -> None:
    text = json.dumps({"secret_name": SLACK_SECRET, "token": "xoxb-hygiene-canary-0000", "prefix": TOKEN[:24]})

    assert find_leaks({"somewhere": text}, TOKEN) == []
