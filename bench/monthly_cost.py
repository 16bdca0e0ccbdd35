"""The monthly AWS bill of one pipeline: the original sample's design, this project's defaults, spot + serverless.

The month: a run every day (30), each training 2 hours on one ml.m5.xlarge and deploying in 10 minutes; the endpoint
one ml.m5.large all month, or serverless (2 GB) answering 10,000 invocations a day. Prices: bench.aws_prices
(us-east-1 list prices, no free tier).

- **This project** (defaults; then with `training.spot` and `endpoint.serverless`): the orchestration is measured
  on a real run in the local runtime (bench.run_usage: states entered, Lambda invocations with their duration,
  memory and log bytes, every AWS request, history bytes, custom metrics, and the template's alarms, dashboards,
  keys, queues). The two wait loops are then re-sized from the local run's seconds to the 2-hour job and the
  10-minute deployment with the loop's own policy (contract/polling.py, the previous run as long: the daily
  steady state), each check at the measured cost of its invocations.
- **The original design** (the first issue's: six functions, the fixed 60-second Wait/GetStatus/Choice loops, the
  Slack token read from Secrets Manager by each of its 3 notifications, CheckData listing the whole data prefix,
  SSE-S3, no alarms, dashboard or evaluation) is modelled: its states and invocations from that design, each
  invocation at the measured cost of the same step here.
- SageMaker: training hours (spot: the billable share 1 - SPOT_SAVINGS), the evaluation's transform or processing
  jobs the run started (EVALUATION_JOB_SECONDS each), the new fleet during the blue/green update, the endpoint all
  month or the serverless compute and data.

Targets: the orchestration (everything but SageMaker) of the defaults at most the original's; spot + serverless at
most 40% of the defaults' total. Run from the project root: `.venv/bin/python -m bench.monthly_cost`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bench import aws_prices as prices
from bench.poll_loop import EVENTS_PER_STATE, INTERVAL, fixed_checks, woken_checks
from bench.report import table, verdict
from bench.run_usage import FunctionUsage, RunUsage, measure_run
from stacks.config.errors import ConfigError

RUNS_PER_MONTH = 30
HOURS_PER_MONTH = 730
TRAINING_SECONDS = 2 * 3600
DEPLOYMENT_SECONDS = 600
TRAINING_INSTANCE = "ml.m5.xlarge"
ENDPOINT_INSTANCE = "ml.m5.large"
EVALUATION_JOB_SECONDS = 300  # assumed: a transform job scoring the held-out day
INVOCATIONS_PER_DAY = 10_000
SERVERLESS_MEMORY_MB = 2048
SERVERLESS_SECONDS_PER_INVOCATION = 0.1  # assumed: a small tabular model's answer, billed by the millisecond
PAYLOAD_BYTES = 1_000 + 100  # assumed: a request's CSV in and its prediction out
SPOT_SAVINGS = 0.70  # assumed: SageMaker documents savings of up to 90% for managed spot training
HISTORY_OBJECTS = 730  # two years of one file a day under the data prefix: what the original's listing walks
PLATFORM_LOG_BYTES = 260  # assumed: Lambda's own START, END and REPORT lines per invocation
CHECK_EVENTS = EVENTS_PER_STATE["CallbackTask"] + EVENTS_PER_STATE["Task"] + EVENTS_PER_STATE["Choice"]
FIXED_CHECK_EVENTS = EVENTS_PER_STATE["Wait"] + EVENTS_PER_STATE["Task"] + EVENTS_PER_STATE["Choice"]
ORIGINAL_PATH = ("CheckData", "HasNewData", "StartTrainingJob", "NotifyTrainingStarted", "DeployModel",
                 "NotifyDeploymentStarted", "UpdateParameters", "NotifyDeployed", "Deployed")  # fmt: skip
ORIGINAL_INVOCATIONS = {"check_data": 1, "start_training_job": 1, "deploy_model": 1, "update_parameters": 1,
                        "notify_slack": 3}  # fmt: skip
S3_FREE = frozenset({"DeleteObject", "DeleteObjects"})
S3_READS = frozenset({"GetObject", "HeadObject", "HeadBucket"})
EVENT_TRIGGERED = ("status_change_listener", "run_ended", "approval_listener", "trigger_run")
# What the stack keeps all month whether runs happen or not; everything else scales with the runs.
STANDING_ITEMS = frozenset(
    {"Secrets Manager secret", "KMS keys", "CloudWatch custom metrics", "CloudWatch alarms", "CloudWatch dashboard"}
)


@dataclass(frozen=True)
class Bill:
    """USD per month by line item, orchestration and SageMaker apart."""

    orchestration: dict[str, float]
    sagemaker: dict[str, float]

    @property
    def orchestration_total(self) -> float:
        return sum(self.orchestration.values())

    @property
    def per_run_orchestration(self) -> float:
        """The orchestration that scales with the runs: transitions, invocations, requests, logs, traces."""
        return sum(usd for item, usd in self.orchestration.items() if item not in STANDING_ITEMS)

    @property
    def total(self) -> float:
        return self.orchestration_total + sum(self.sagemaker.values())


def _config(name: str, *, spot: bool = False, serverless: bool = False) -> dict[str, object]:
    training: dict[str, object] = {"instance_type": TRAINING_INSTANCE}
    algorithm: dict[str, object] = {"builtin": "linear-learner"}
    hyperparameters: dict[str, object] = {"predictor_type": "regressor"}
    if spot:
        # A 2-hour job on spot needs an algorithm that checkpoints: SageMaker caps Linear Learner's max wait at 1 h.
        training |= {"max_runtime_seconds": 4 * 3600, "spot": {"max_wait_seconds": 8 * 3600}}
        algorithm = {"builtin": "xgboost"}
        hyperparameters = {"objective": "reg:squarederror", "num_round": 20}
    endpoint: dict[str, object] = {"instance_type": ENDPOINT_INSTANCE}
    if serverless:
        endpoint = {"serverless": {"memory_size_mb": SERVERLESS_MEMORY_MB, "max_concurrency": 5}}
    return {
        "name": name,
        "data_prefix": f"data/{name}",
        "algorithm": algorithm,
        "hyperparameters": hyperparameters,
        "training": training,
        "endpoint": endpoint,
        "slack": {"channel": "#ml-costs", "token_secret_name": f"slack/{name}"},
    }


def _loop_checks() -> int:
    """The checks of both loops for the month's run: the previous run as long, its event on time."""
    return len(woken_checks(TRAINING_SECONDS, interval=INTERVAL, expected=TRAINING_SECONDS)) + len(
        woken_checks(DEPLOYMENT_SECONDS, interval=INTERVAL, expected=DEPLOYMENT_SECONDS)
    )


def resized(usage: RunUsage) -> tuple[int, dict[str, FunctionUsage], int]:
    """(transitions, functions, history bytes) of the measured run with its loops re-sized to the month's jobs."""
    waits, gets, choices = usage.loop_counts()
    checks = _loop_checks()
    transitions = len(usage.states) - (waits + gets + choices) + 3 * checks
    functions = dict(usage.functions)
    for step, measured in (("await_status_change", waits), ("get_status", gets)):
        one = functions[step].mean()
        functions[step] = functions[step].plus(
            checks - measured, one.gb_seconds * (checks - measured), one.log_bytes * (checks - measured)
        )
    per_event = usage.history_bytes / usage.history_events
    history = round(usage.history_bytes + per_event * CHECK_EVENTS * (checks - gets))
    return transitions, functions, history


def orchestration(usage: RunUsage) -> dict[str, float]:
    """This project's orchestration per month, from a measured run."""
    transitions, functions, history = resized(usage)
    invocations = sum(f.invocations for f in functions.values())
    requests = usage.requests.requests
    s3 = {op.split(":", 1)[1]: n for op, n in requests.items() if op.startswith("s3:")}
    log_bytes = history + sum(f.log_bytes for f in functions.values()) + PLATFORM_LOG_BYTES * invocations
    traces = 1 + sum(functions[s].invocations for s in EVENT_TRIGGERED if s in functions)
    standing = usage.standing
    per_run = {
        "Step Functions transitions": transitions * prices.STATE_TRANSITION.usd,
        "Lambda requests": invocations * prices.LAMBDA_REQUEST.usd,
        "Lambda duration": sum(f.gb_seconds for f in functions.values()) * prices.LAMBDA_GB_SECOND.usd,
        "S3 requests": _s3_cost(s3),
        "Secrets Manager calls": usage.requests.service("secretsmanager") * prices.SECRETS_API_CALL.usd,
        "KMS requests": usage.requests.service("kms") * prices.KMS_REQUEST.usd,
        "CloudWatch API": usage.requests.service("monitoring") * prices.CLOUDWATCH_API_REQUEST.usd,
        "CloudWatch Logs": log_bytes / 1e9 * prices.LOG_INGESTION_GB.usd,
        "EventBridge PutEvents and Scheduler": usage.requests.service("events") * prices.PUT_EVENTS.usd
        + standing["AWS::Scheduler::Schedule"] * prices.SCHEDULER_INVOCATION.usd,
        "SQS requests": usage.requests.service("sqs") * prices.SQS_REQUEST.usd,
        "X-Ray traces": traces * prices.XRAY_TRACE.usd,
    }
    month = {item: RUNS_PER_MONTH * usd for item, usd in per_run.items()}
    month["Secrets Manager secret"] = prices.SECRET_MONTH.usd
    month["KMS keys"] = standing["AWS::KMS::Key"] * prices.KMS_KEY_MONTH.usd
    month["CloudWatch custom metrics"] = usage.custom_metrics * prices.CUSTOM_METRIC_MONTH.usd
    month["CloudWatch alarms"] = standing["AWS::CloudWatch::Alarm"] * prices.ALARM_MONTH.usd
    month["CloudWatch dashboard"] = standing["AWS::CloudWatch::Dashboard"] * prices.DASHBOARD_MONTH.usd
    return month


def original_orchestration(usage: RunUsage) -> dict[str, float]:
    """The original design's orchestration per month: its states and calls, each step at the measured cost here."""
    checks = len(fixed_checks(TRAINING_SECONDS)) + len(fixed_checks(DEPLOYMENT_SECONDS))
    transitions = len(ORIGINAL_PATH) + 3 * checks
    calls = dict(ORIGINAL_INVOCATIONS) | {"get_status": checks}
    one = {step: usage.functions[step].mean() for step in calls}
    invocations = sum(calls.values())
    per_event = usage.history_bytes / usage.history_events
    events = 2 + 5 * 7 + 2 + 2 + FIXED_CHECK_EVENTS * checks  # execution, 7 tasks, a choice, a succeed, the checks
    log_bytes = per_event * events + sum(one[s].log_bytes * n for s, n in calls.items())
    log_bytes += PLATFORM_LOG_BYTES * invocations
    per_run = {
        "Step Functions transitions": transitions * prices.STATE_TRANSITION.usd,
        "Lambda requests": invocations * prices.LAMBDA_REQUEST.usd,
        "Lambda duration": sum(one[s].gb_seconds * n for s, n in calls.items()) * prices.LAMBDA_GB_SECOND.usd,
        "S3 requests": (math.ceil(HISTORY_OBJECTS / 1000) + 1) * prices.S3_WRITE_OR_LIST.usd,  # list + manifest
        "Secrets Manager calls": calls["notify_slack"] * prices.SECRETS_API_CALL.usd,
        "CloudWatch Logs": log_bytes / 1e9 * prices.LOG_INGESTION_GB.usd,
        "X-Ray traces": prices.XRAY_TRACE.usd,
    }
    month = {item: RUNS_PER_MONTH * usd for item, usd in per_run.items()}
    month["Secrets Manager secret"] = prices.SECRET_MONTH.usd
    return month


def _s3_cost(operations: dict[str, int]) -> float:
    reads = sum(n for op, n in operations.items() if op in S3_READS)
    writes = sum(n for op, n in operations.items() if op not in S3_READS and op not in S3_FREE)
    return reads * prices.S3_READ.usd + writes * prices.S3_WRITE_OR_LIST.usd


def sagemaker(usage: RunUsage | None, *, spot: bool, serverless: bool) -> dict[str, float]:
    """SageMaker per month: training, the evaluation's jobs (none for the original: `usage` None), the endpoint."""
    training = prices.instance_hour("training", TRAINING_INSTANCE, fallback_kind="processing")
    hosting = prices.instance_hour("hosting", ENDPOINT_INSTANCE)
    transform = prices.instance_hour("transform", "ml.m5.large", fallback_kind="hosting")
    processing = prices.instance_hour("processing", "ml.m5.large")
    share = 1 - SPOT_SAVINGS if spot else 1.0
    month = {"training": RUNS_PER_MONTH * TRAINING_SECONDS / 3600 * training.usd * share}
    if usage is not None:
        jobs = usage.jobs
        hours = EVALUATION_JOB_SECONDS / 3600
        month["evaluation jobs"] = (
            RUNS_PER_MONTH * hours * (jobs["transform"] * transform.usd + jobs["processing"] * processing.usd)
        )
    if serverless:
        invocations = INVOCATIONS_PER_DAY * RUNS_PER_MONTH
        per_second = SERVERLESS_MEMORY_MB / 1024 * prices.SERVERLESS_SECOND_PER_GB.usd
        month["endpoint (serverless compute)"] = invocations * SERVERLESS_SECONDS_PER_INVOCATION * per_second
        month["endpoint (serverless data)"] = invocations * PAYLOAD_BYTES / 1e9 * prices.SERVERLESS_DATA_GB.usd
    else:
        month["endpoint (instance all month)"] = HOURS_PER_MONTH * hosting.usd
        month["new fleet during updates"] = RUNS_PER_MONTH * DEPLOYMENT_SECONDS / 3600 * hosting.usd
    return month


def bills(defaults: RunUsage, cheap: RunUsage) -> dict[str, Bill]:
    """The three designs' monthly bills."""
    return {
        "original design": Bill(original_orchestration(defaults), sagemaker(None, spot=False, serverless=False)),
        "this project, defaults": Bill(orchestration(defaults), sagemaker(defaults, spot=False, serverless=False)),
        "spot + serverless": Bill(orchestration(cheap), sagemaker(cheap, spot=True, serverless=True)),
    }


def _print(designs: dict[str, Bill]) -> None:
    names = list(designs)
    for part in ("orchestration", "sagemaker"):
        items: list[str] = []
        for bill in designs.values():
            items += [item for item in getattr(bill, part) if item not in items]
        rows = [[item, *(_usd(getattr(designs[n], part).get(item)) for n in names)] for item in items]
        print(f"\n{part}, USD per month")
        print(table(["item", *names], rows))
    base = designs["this project, defaults"]
    rows = [
        [n, _usd(b.per_run_orchestration), _usd(b.orchestration_total), _usd(b.total), f"{b.total / base.total:.0%}"]
        for n, b in designs.items()
    ]
    print("\ntotals, USD per month")
    print(table(["design", "orchestration: per run", "all", "total", "of the defaults' total"], rows))


def _usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if value >= 0.995 else f"{value:.4f}"


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    print(
        f"one pipeline, a month of {RUNS_PER_MONTH} daily runs: {TRAINING_SECONDS // 3600} h training on "
        f"{TRAINING_INSTANCE}, {DEPLOYMENT_SECONDS // 60}-minute deployments, {ENDPOINT_INSTANCE} all month or "
        f"serverless ({SERVERLESS_MEMORY_MB} MB, {INVOCATIONS_PER_DAY:,} invocations a day at "
        f"{SERVERLESS_SECONDS_PER_INVOCATION * 1000:.0f} ms); spot saves {SPOT_SAVINGS:.0%} (assumed)"
    )
    try:
        defaults = measure_run(_config("costdefaults"))
        cheap = measure_run(_config("costcheap", spot=True, serverless=True))
    except (RuntimeError, ConfigError) as error:
        print(error, file=sys.stderr)
        return 1
    transitions, functions, _ = resized(defaults)
    print(
        f"measured run (defaults), loops re-sized: {transitions} state transitions, "
        f"{sum(f.invocations for f in functions.values())} Lambda invocations, "
        f"{sum(defaults.requests.requests.values())} AWS requests, {defaults.custom_metrics} custom metrics, "
        f"{defaults.standing['AWS::CloudWatch::Alarm']} alarms"
    )
    designs = bills(defaults, cheap)
    _print(designs)
    original, base, low = designs["original design"], designs["this project, defaults"], designs["spot + serverless"]
    cheaper = base.orchestration_total <= original.orchestration_total
    share = low.total / base.total
    print(
        f"\norchestration of the defaults <= the original design's ({_usd(base.orchestration_total)} vs "
        f"{_usd(original.orchestration_total)}): {verdict(cheaper)}"
    )
    print(
        f"  of which what scales with the runs: {_usd(base.per_run_orchestration)} vs "
        f"{_usd(original.per_run_orchestration)} ({base.per_run_orchestration / original.per_run_orchestration:.0%}); "
        f"the rest is what the stack keeps all month (key, metrics, alarms, dashboard, secret)"
    )
    print(f"spot + serverless <= 40% of the defaults' total ({share:.0%}): {verdict(share <= 0.40)}")
    return 0 if cheaper and share <= 0.40 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
