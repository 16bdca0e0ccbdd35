"""The monthly cost bench: loops re-sized to the month's jobs, the original design's model, SageMaker's items."""

from __future__ import annotations

import pytest

from bench import aws_prices as prices
from bench.counts import Counts
from bench.monthly_cost import (
    RUNS_PER_MONTH,
    SPOT_SAVINGS,
    Bill,
    _loop_checks,
    orchestration,
    original_orchestration,
    resized,
    sagemaker,
)
from bench.run_usage import FunctionUsage, RunUsage

STANDING = {
    "AWS::CloudWatch::Alarm": 4,
    "AWS::CloudWatch::Dashboard": 1,
    "AWS::KMS::Key": 1,
    "AWS::SQS::Queue": 0,
    "AWS::Scheduler::Schedule": 0,
    "AWS::Events::Rule": 1,
}


def _usage(**changes: object) -> RunUsage:
    # A run whose loops checked twice each (local seconds), with 2 transform jobs for the evaluation.
    states = ["CheckData", "StartTrainingJob"]
    states += ["WaitForTraining", "GetTrainingStatus", "TrainingStatus"] * 2
    states += ["DeployModel"] + ["WaitForDeployment", "GetEndpointStatus", "EndpointStatus"] * 2 + ["Deployed"]
    fields: dict[str, object] = {
        "states": states,
        "functions": {
            "check_data": FunctionUsage(1, 0.25, 1000),
            "start_training_job": FunctionUsage(1, 0.25, 1000),
            "deploy_model": FunctionUsage(1, 0.25, 1000),
            "update_parameters": FunctionUsage(1, 0.25, 1000),
            "notify_slack": FunctionUsage(4, 1.0, 4000),
            "get_status": FunctionUsage(4, 0.4, 800),
            "await_status_change": FunctionUsage(4, 0.2, 400),
            "status_change_listener": FunctionUsage(2, 0.1, 200),
        },
        "requests": Counts(
            requests={
                "s3:ListObjectsV2": 2,
                "s3:PutObject": 3,
                "s3:GetObject": 10,
                "s3:DeleteObject": 1,
                "secretsmanager:GetSecretValue": 1,
                "ssm:GetParameter": 2,
            },
            server_seconds={},
        ),
        "history_bytes": 40_000,
        "history_events": 100,
        "jobs": {"training": 1, "processing": 0, "transform": 2},
        "custom_metrics": 5,
        "standing": STANDING,
    }
    return RunUsage(**(fields | changes))  # type: ignore[arg-type]


def test_the_loops_are_resized_to_the_month_s_jobs_each_check_at_its_measured_cost() -> None:
    usage = _usage()
    checks = _loop_checks()
    assert checks > 4  # a 2-hour job and a 10-minute deployment take more checks than the local seconds did

    transitions, functions, history = resized(usage)

    # 12 loop states replaced by 3 per check; the 4 other states kept
    assert transitions == 4 + 3 * checks
    assert functions["get_status"].invocations == checks
    assert functions["get_status"].gb_seconds == pytest.approx(0.1 * checks)
    assert functions["await_status_change"].invocations == checks
    assert functions["check_data"] == usage.functions["check_data"]
    # each added check adds its 13 history events at the run's mean event size (400 bytes)
    assert history == 40_000 + 400 * 13 * (checks - 4)


def test_the_original_design_polls_every_minute_and_reads_the_secret_for_each_notification() -> None:
    month = original_orchestration(_usage())

    # a check a minute: 120 for 2 hours and 10 for 10 minutes, 3 transitions each, plus its 9 states
    assert month["Step Functions transitions"] == pytest.approx(RUNS_PER_MONTH * 399 * prices.STATE_TRANSITION.usd)
    assert month["Secrets Manager calls"] == pytest.approx(RUNS_PER_MONTH * 3 * prices.SECRETS_API_CALL.usd)
    invocations = 130 + 1 + 1 + 1 + 1 + 3
    assert month["Lambda requests"] == pytest.approx(RUNS_PER_MONTH * invocations * prices.LAMBDA_REQUEST.usd)
    # GetStatus at its measured 0.1 GB-s, NotifySlack at 0.25, the others at 0.25
    gb_seconds = 130 * 0.1 + 3 * 0.25 + 4 * 0.25
    assert month["Lambda duration"] == pytest.approx(RUNS_PER_MONTH * gb_seconds * prices.LAMBDA_GB_SECOND.usd)
    assert "CloudWatch dashboard" not in month
    assert "KMS keys" not in month


def test_this_project_s_month_prices_what_the_run_used_and_what_the_stack_keeps() -> None:
    month = orchestration(_usage())

    # S3: 5 list/put requests and 10 reads per run; deletes are free
    s3 = 5 * prices.S3_WRITE_OR_LIST.usd + 10 * prices.S3_READ.usd
    assert month["S3 requests"] == pytest.approx(RUNS_PER_MONTH * s3)
    assert month["CloudWatch alarms"] == pytest.approx(4 * prices.ALARM_MONTH.usd)
    assert month["CloudWatch custom metrics"] == pytest.approx(5 * prices.CUSTOM_METRIC_MONTH.usd)
    assert month["KMS keys"] == prices.KMS_KEY_MONTH.usd
    assert month["CloudWatch dashboard"] == prices.DASHBOARD_MONTH.usd
    bill = Bill(month, {})
    standing = 4 * 0.10 + 5 * 0.30 + 1.00 + 3.00 + 0.40
    assert bill.orchestration_total - bill.per_run_orchestration == pytest.approx(standing)


def test_spot_bills_the_billable_share_and_serverless_replaces_the_instance_items() -> None:
    on_demand = sagemaker(_usage(), spot=False, serverless=False)
    cheap = sagemaker(_usage(), spot=True, serverless=True)

    assert cheap["training"] == pytest.approx(on_demand["training"] * (1 - SPOT_SAVINGS))
    assert "endpoint (instance all month)" in on_demand
    assert "new fleet during updates" in on_demand
    assert "endpoint (instance all month)" not in cheap
    assert "new fleet during updates" not in cheap
    assert cheap["endpoint (serverless compute)"] > 0
    # the evaluation's two transform jobs, 5 minutes each, every run
    assert on_demand["evaluation jobs"] == pytest.approx(RUNS_PER_MONTH * 2 * 300 / 3600 * 0.115)
    # the original design has no evaluation
    assert "evaluation jobs" not in sagemaker(None, spot=False, serverless=False)


def test_a_kind_the_price_table_lacks_falls_back_only_when_asked_and_says_so() -> None:
    with pytest.raises(KeyError, match=r"no transform price for ml\.m5\.large"):
        prices.instance_hour("transform", "ml.m5.large")
    assumed = prices.instance_hour("transform", "ml.m5.large", fallback_kind="hosting")
    assert assumed.usd == prices.instance_hour("hosting", "ml.m5.large").usd
    assert "assumed" in assumed.source
