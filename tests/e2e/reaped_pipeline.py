"""A small pipeline deployed into a local runtime of its own, for runs that end outside the workflow (stopped by hand,
timed out) and the checks that RunEnded reaped them with nothing lost.

The checks (assert_reaped) are the fault suite's, for a run that never reached CleanUp: the wait's jobs stopped and
no job of any run left running, what nobody serves removed, the run lease released, the watermark where it was, and
RunEnded's Slack alert naming how the run ended and the state it was in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from contract.names import EXECUTION_TAG, lease_key
from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget
from local_runtime.slack_api import LocalSlackApi, ReceivedMessage
from operator_cli.cli import main

TOKEN, CHANNEL = "xoxb-reaped-e2e", "#ml-alerts"
REAPED_WITHIN_SECONDS = 30.0
RUNNING = frozenset({"InProgress", "Stopping"})
# How RunEnded's alert says the run ended (lambdas/run_ended/core.py).
STOPPED_BY_HAND = "was stopped by hand (StopExecution)"
TIMED_OUT = "ran past the state machine's timeout"


def rows(seed: int, n: int = 30) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1, with a little noise that differs per day."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.05, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


def eventually(check: Callable[[], Any], what: str, timeout: float = REAPED_WITHIN_SECONDS) -> Any:
    """The first truthy answer of `check`, polled; AssertionError naming `what` at the timeout."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)
    return result


@dataclass
class Bench:
    """One deployed pipeline, its local Slack, and a day of data per run."""

    name: str
    runtime: LocalRuntime
    pipeline: DeployedPipeline
    slack: LocalSlackApi
    newest: date
    runs: int = 0

    @property
    def bucket(self) -> str:
        return str(self.pipeline.stack.outputs["DataBucketName"])

    def client(self, service: str) -> Any:
        return self.runtime.client(service)

    def add_day(self) -> None:
        self.newest += timedelta(days=1)
        self.client("s3").put_object(
            Bucket=self.bucket,
            Key=f"data/{self.name}/{self.newest.isoformat()}.csv",
            Body=rows(self.newest.toordinal()),
        )

    def start(self) -> str:
        self.runs += 1
        arn: str = self.client("stepfunctions").start_execution(
            stateMachineArn=self.pipeline.state_machine_arn,
            name=f"{self.name}-{self.runs}",
            input=json.dumps({"end_date": self.newest.isoformat(), "trigger": "abort-suite"}),
        )["executionArn"]
        return arn

    def wait(self, arn: str) -> ExecutionRecord:
        return wait_for_execution(self.runtime.aws, arn, region=self.runtime.region, timeout_seconds=120)

    def cli(self, *args: str) -> int:
        return main([*args, "--pipeline", self.name, "--endpoint-url", self.runtime.endpoint_url])

    def stop(self, arn: str) -> ExecutionRecord:
        """Stop the run as an operator would, and return it ended."""
        self.client("stepfunctions").stop_execution(executionArn=arn, error="Operator", cause="wrong window")
        return self.wait(arn)

    def watermark(self) -> dict[str, Any] | None:
        ssm = self.client("ssm")
        try:
            value = ssm.get_parameter(Name=self.pipeline.stack.outputs["WatermarkParameterName"])["Parameter"]
        except ssm.exceptions.ParameterNotFound:
            return None
        parsed: dict[str, Any] = json.loads(value["Value"])
        return parsed

    def lease(self) -> dict[str, Any] | None:
        s3 = self.client("s3")
        try:
            body = s3.get_object(Bucket=self.bucket, Key=lease_key(f"waits/{self.name}"))["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        lease: dict[str, Any] = json.loads(body)
        return lease

    def in_state(self, arn: str) -> str | None:
        """The state the running execution is in, None once it ended."""
        sfn = self.client("stepfunctions")
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            return None
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
        return entered[-1] if entered else None

    def wait_until(self, arn: str, states: frozenset[str], ready: Callable[[], bool], what: str) -> None:
        """Wait until the run is in one of `states` (a wait loop's) and `ready()` holds."""

        def there() -> bool:
            state = self.in_state(arn)
            assert state is not None, f"{arn} ended before {what}"
            return state in states and ready()

        eventually(there, what, timeout=90)

    def jobs(self) -> dict[str, tuple[str, str]]:
        """Every training, processing and transform job: name -> (kind, status)."""
        sagemaker = self.client("sagemaker")
        found: dict[str, tuple[str, str]] = {}
        for kind in ("Training", "Processing", "Transform"):
            listed = getattr(sagemaker, f"list_{kind.lower()}_jobs")(MaxResults=100)[f"{kind}JobSummaries"]
            for summary in listed:
                found[summary[f"{kind}JobName"]] = (kind, summary[f"{kind}JobStatus"])
        return found

    def running_jobs(self) -> list[str]:
        return [name for name, (_, status) in self.jobs().items() if status in RUNNING]

    def jobs_of(self, arn: str) -> dict[str, tuple[str, str]]:
        """The jobs the run started (found by the execution tag each carries)."""
        sagemaker = self.client("sagemaker")
        mine = {}
        for name, (kind, status) in self.jobs().items():
            described = getattr(sagemaker, f"describe_{kind.lower()}_job")(**{f"{kind}JobName": name})
            tags = sagemaker.list_tags(ResourceArn=described[f"{kind}JobArn"])["Tags"]
            if any(tag["Key"] == EXECUTION_TAG and arn.endswith(tag["Value"]) for tag in tags):
                mine[name] = (kind, status)
        return mine

    def serving(self) -> tuple[str, str]:
        """The endpoint's status and config."""
        endpoint = self.client("sagemaker").describe_endpoint(EndpointName=self.name)
        return str(endpoint["EndpointStatus"]), str(endpoint["EndpointConfigName"])

    def alerts(self, arn: str, how: str) -> list[ReceivedMessage]:
        """RunEnded's alerts about the run: they link the execution and say how it ended."""
        return [m for m in self.slack.messages if arn in json.dumps(m.blocks) and how in m.block_text]

    def assert_no_orphans(self) -> None:
        """Every model and endpoint config is served now (or being switched to) or was deployed by a run that
        succeeded."""
        sagemaker, sfn = self.client("sagemaker"), self.client("stepfunctions")
        kept: set[str] = set()
        for execution in sfn.list_executions(stateMachineArn=self.pipeline.state_machine_arn, statusFilter="SUCCEEDED")[
            "executions"
        ]:
            output = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["output"])
            if "deployment" in output:
                kept.add(output["deployment"]["endpoint_config_name"])  # a run names its model and config alike
        if self.name in {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}:
            endpoint = sagemaker.describe_endpoint(EndpointName=self.name)
            pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
            for config in {endpoint["EndpointConfigName"], pending} - {None}:  # served, or being switched to
                variants = sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
                kept |= {config, *(variant["ModelName"] for variant in variants)}
        models = {m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]}
        configs = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]}
        assert models <= kept, f"orphaned models: {models - kept}"
        assert configs <= kept, f"orphaned endpoint configs: {configs - kept}"


def assert_reaped(
    bench: Bench, ended: ExecutionRecord, *, how: str, loop: frozenset[str], watermark: dict[str, Any] | None
) -> ReceivedMessage:
    """RunEnded reaped the run that ended in `loop`'s states: its jobs stopped, no job of any run left running,
    nothing orphaned, the lease released, the watermark as it was; return its alert, which names the state."""
    state = ended.states_entered()[-1]
    assert state in loop, ended.states_entered()
    # The alert goes out once CleanUp has answered: what it stops and removes is decided by then.
    alerts: list[ReceivedMessage] = eventually(
        lambda: bench.alerts(ended.arn, how), f"RunEnded's alert about {ended.arn}"
    )
    [alert] = alerts
    assert f"while in {state}" in alert.block_text
    eventually(lambda: not bench.running_jobs(), "every job of every run ended")
    eventually(lambda: bench.lease() is None, "the run lease released")
    assert bench.watermark() == watermark
    bench.assert_no_orphans()
    return alert


@contextmanager
def deployed(name: str, template: dict[str, Any], first_day: date) -> Iterator[Bench]:
    """The stack deployed into a fresh runtime posting to a local Slack, with two days of data uploaded."""
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template,
            stack_name=f"SageMakerRetraining-{name}",
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN, local_server=slack),
            function_environment=QUIET_FUNCTIONS,
        )
        bench = Bench(name, runtime, pipeline, slack, newest=first_day - timedelta(days=1))
        bench.add_day()
        bench.add_day()
        yield bench
