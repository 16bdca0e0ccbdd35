"""Fixtures shared by all tests: fake AWS credentials, moto, and an execution to run steps in."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import botocore.session
import pytest
from aws_lambda_powertools import Metrics
from moto import mock_aws
from moto.core import config as moto_config

from lambdas.common.events import Execution
from local_runtime import moto_extensions
from tests import compatibility_report, iam_usage_report, reliability_report
from tests.local_aws import moto_aws  # noqa: F401 (a fixture: the local AWS for a module's tests)

REGION = "us-east-1"
ACCOUNT = "123456789012"

# moto starts every test with a new boto3 session, and each session's loader parsed the service models and endpoint
# files again (about 0.1 s per client): one loader per data path for the whole process, as in a long-lived session.
botocore.session.create_loader = functools.cache(botocore.session.create_loader)  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    """Python writes bytecode for the suite's processes, whatever the environment says.

    An environment with PYTHONDONTWRITEBYTECODE (container images often set it) made each of the suite's processes
    (the workers, and the hundred-odd training, serving and CLI processes they start) compile the project from
    source: about 20 s of CPU in a fresh clone. The .pyc files go to the ignored `__pycache__` folders; the code
    assets leave them out. Set here, before pytest-xdist starts its workers, so that they and what they start
    inherit it.

    The IAM grant usage directory is named here too, for the same reason (see tests/iam_usage_report.py).
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    iam_usage_report.start(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    iam_usage_report.finish()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    iam_usage_report.summarize(terminalreporter, config)


@pytest.fixture(autouse=True)
def _no_metrics_from_earlier_tests() -> None:
    """Powertools' Metrics instances share one metric set per process: what a test leaves unflushed (a handler
    that raised, metrics disabled) would otherwise be printed with the next test's EMF documents."""
    Metrics().clear_metrics()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region that can reach nothing real.

    The handlers' cached clients are kept between tests: they are cached by service, region and endpoint, and moto
    intercepts a client's calls whenever a test mocks AWS, whenever the client was built."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "SageMakerRetrainingTests",
        "POWERTOOLS_SERVICE_NAME": "tests",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in decorator mode, with the SageMaker operations the workflow needs and moto lacks.

    Executions stay RUNNING here, whatever a local runtime started earlier in the session configured.
    """
    monkeypatch.setitem(moto_config.default_user_config, "stepfunctions", {"execute_state_machine": False})
    moto_extensions.install()
    with mock_aws():
        yield


@pytest.fixture
def execution() -> Execution:
    return Execution(
        id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sagemaker-retraining-churn:run-1",
        name="run-1",
        start_time=datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC),
    )


class FakeLambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--write-reliability-report",
        action="store_true",
        help="write docs/reliability.md from the collected tests (use with --collect-only)",
    )
    parser.addoption(
        "--write-compatibility-report",
        action="store_true",
        help="write docs/compatibility.md from the collected tests (use with --collect-only)",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.getoption("--write-reliability-report"):
        text = reliability_report.render(reliability_report.rows_of(session.items))
        reliability_report.REPORT_PATH.write_text(text)
    if session.config.getoption("--write-compatibility-report"):
        text = compatibility_report.render(compatibility_report.proofs_of(session.items))
        compatibility_report.REPORT_PATH.write_text(text)


# The slowest files, slowest first (per-file time in a full run). With `--dist loadfile --no-loadscope-reorder` each
# worker takes the next file in collection order when it runs low: started first, none of them is left as the one
# file a worker still runs while the others are done. Files not listed keep their order after these.
SLOWEST_FILES_FIRST = (
    "tests/sdk/test_sdk_v2.py",  # mostly waiting: the SDK v2 checks an endpoint every 30 s
    "tests/e2e/test_faults.py",
    "tests/e2e/test_iam_enforcement.py",
    "tests/e2e/test_iam_enforcement_callers.py",
    "tests/sdk/test_sdk_v3.py",
    "tests/sdk/test_sdk_v2_registry.py",  # a fit, then a deploy the SDK v2 polls every 30 s
    "tests/sdk/test_sdk_v2_jobs.py",
    "tests/e2e/test_serve.py",
    "tests/sdk/test_sdk_account.py",
    "tests/sdk/test_sagemaker_core.py",
    "tests/e2e/test_local_runtime.py",
    "tests/e2e/test_aborts.py",
    "tests/e2e/test_rollback.py",
    "tests/e2e/test_backfill.py",
    "tests/e2e/test_abort.py",
    "tests/e2e/test_evaluation_script.py",
    "tests/e2e/test_spot_training.py",
    "tests/e2e/test_churn_xgboost.py",
    "tests/e2e/test_slack_delivery.py",
    "tests/e2e/test_poll_loop.py",
    "tests/e2e/test_preprocessing.py",
    "tests/e2e/test_triggers.py",
    "tests/unit/local_runtime/sagemaker/test_hosting.py",
    "tests/unit/stacks/test_compliance.py",
    "tests/e2e/test_governance.py",
    "tests/e2e/test_rollout.py",
    "tests/unit/statemachine/test_branches.py",
    "tests/unit/test_app.py",
    "tests/unit/stacks/test_pipeline_stack.py",
    "tests/e2e/test_runs_cli.py",
    "tests/unit/stacks/test_lambda_assets.py",
    "tests/unit/local_runtime/test_lambda_invoke.py",
    "tests/unit/lambdas/notify_slack/test_core.py",
    "tests/unit/bench/test_list_everything.py",
    "tests/unit/stacks/test_preprocessing.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: position for position, path in enumerate(SLOWEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
