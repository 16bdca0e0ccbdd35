"""Every fault of the catalog, injected into the local runtime and survived.

One pipeline is deployed per module and the cases run on it in turn, each starting from where the last
one's recovery run left it (the endpoint serving, the watermark on the newest day). After each fault the same
checks hold (assert_survived): the watermark is where it must be, nothing the pipeline created is orphaned,
Slack got the run's messages or an alert naming the cause, and with the fault cleared the next run deploys.
A case that fails its checks leaves the bench to be rebuilt before the next one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import LocalRuntime, SlackTarget, synthesize
from local_runtime.slack_api import LocalSlackApi, ReceivedMessage
from stacks.config import DEFAULT_KEEP_LAST
from tests.e2e.fault_catalog import CATALOG, SLACK_TIMEOUT_SECONDS, FaultCase, FaultRun

pytestmark = pytest.mark.e2e

PIPELINE = "faults"
STACK = f"SageMakerRetraining-{PIPELINE}"
TOKEN, CHANNEL, SECRET = "xoxb-faults-e2e", "#ml-alerts", "faults/slack-bot"
FIRST_DAY = date(2026, 3, 1)
PROBE = [1.0, 1.0]  # a row whose prediction tells which model serves
TERMINAL_TRAINING = frozenset({"Completed", "Failed", "Stopped"})
# Only local values: Slack times out after a second, so a timeout costs one.
ENVIRONMENT = {"SLACK_TIMEOUT_SECONDS": str(SLACK_TIMEOUT_SECONDS)}


def rows(seed: int, n: int = 30) -> bytes:
    """Label first: y = 3 x1 - 2 x2 + 1, with a little noise that differs per day."""
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.05, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


class FaultBench:
    """A runtime with the pipeline deployed and a day of data per run; the catalog's `Bench`."""

    def __init__(self, template: dict[str, Any], slack: LocalSlackApi) -> None:
        self.template, self.slack = template, slack
        self.runtime = LocalRuntime().__enter__()
        self.pipeline = self.deploy()
        self.newest = FIRST_DAY - timedelta(days=1)
        self.runs = 0
        self.healthy = False
        self.add_day()
        self.add_day()
        first = self.run()
        assert first.status == "SUCCEEDED", first.cause
        self.healthy = True

    def close(self) -> None:
        self.runtime.__exit__(None, None, None)

    def deploy(self, **environment: str) -> DeployedPipeline:
        return self.runtime.deploy_template(
            self.template,
            stack_name=STACK,
            slack=SlackTarget(api_url=self.slack.base_url, token=TOKEN),
            function_environment={**ENVIRONMENT, **environment},
        )

    def add_day(self) -> None:
        self.newest += timedelta(days=1)
        self.runtime.client("s3").put_object(
            Bucket=self.pipeline.stack.outputs["DataBucketName"],
            Key=f"data/{PIPELINE}/{self.newest.isoformat()}.csv",
            Body=rows(self.newest.toordinal()),
        )

    def start(self) -> str:
        """Start a run on the window that ends on the newest day, as a person would in the console."""
        self.runs += 1
        execution_input = {"end_date": self.newest.isoformat(), "trigger": "fault-suite"}
        arn: str = self.runtime.client("stepfunctions").start_execution(
            stateMachineArn=self.pipeline.state_machine_arn, name=f"run-{self.runs}", input=json.dumps(execution_input)
        )["executionArn"]
        return arn

    def wait(self, arn: str) -> ExecutionRecord:
        return wait_for_execution(self.runtime.aws, arn, region=self.runtime.region, timeout_seconds=120)

    def run(self) -> ExecutionRecord:
        return self.wait(self.start())

    def watermark(self) -> dict[str, Any]:
        name = self.pipeline.stack.outputs["WatermarkParameterName"]
        value: dict[str, Any] = json.loads(self.runtime.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
        return value

    def predict(self) -> float:
        response = self.runtime.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=PIPELINE, ContentType="text/csv", Body=",".join(map(str, PROBE)).encode()
        )
        score: float = json.loads(response["Body"].read())["predictions"][0]["score"]
        return score

    def training_jobs(self, *statuses: str) -> list[str]:
        summaries = self.runtime.client("sagemaker").list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
        return [s["TrainingJobName"] for s in summaries if not statuses or s["TrainingJobStatus"] in statuses]

    def clear_faults(self) -> None:
        self.runtime.faults.clear()
        self.slack.clear_faults()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    context = {
        "pipelines": [
            {
                "name": PIPELINE,
                "data_prefix": f"data/{PIPELINE}",
                "window_days": 3,
                "hyperparameters": {"predictor_type": "regressor"},
                # A model reaches the endpoint straight from training, so the deployment's faults are the ones
                # tested; the held-out evaluation's own are tested in test_local_runtime.py and test_holdout.py.
                "evaluation": {"score_models": False},
                "polling": {
                    "interval_seconds": 1,
                    "max_training_wait_seconds": 600,
                    "max_deployment_wait_seconds": 300,
                },
                "slack": {"channel": CHANNEL, "token_secret_name": SECRET},
            }
        ]
    }
    return synthesize(context)[STACK]


@pytest.fixture(scope="module")
def slack() -> Iterator[LocalSlackApi]:
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as server:
        yield server


@pytest.fixture(scope="module")
def shared(template: dict[str, Any], slack: LocalSlackApi) -> Iterator[list[FaultBench]]:
    benches: list[FaultBench] = []
    yield benches
    for bench in benches:
        bench.close()


@pytest.fixture
def bench(
    shared: list[FaultBench], template: dict[str, Any], slack: LocalSlackApi, aws_env: None
) -> Iterator[FaultBench]:
    """The module's bench; rebuilt from scratch when the previous case did not leave it healthy."""
    if shared and not shared[-1].healthy:
        shared.pop().close()
    if not shared:
        shared.append(FaultBench(template, slack))
    current = shared[-1]
    current.healthy = False
    yield current
    current.clear_faults()


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=case.id, marks=pytest.mark.reliability("fault", case.description, case.holds))
        for case in CATALOG
    ],
)
def test_the_pipeline_survives(bench: FaultBench, case: FaultCase) -> None:
    # GIVEN the endpoint serving the last run's model, a new day of data, and the fault armed
    before = bench.watermark()
    served_before = bench.predict()
    if case.environment:
        bench.deploy(**case.environment)
    bench.add_day()
    faults = case.inject(bench)
    messages_before = len(bench.slack.messages)
    calls_before = Counter(bench.runtime.aws.api_calls)
    jobs_before = set(bench.training_jobs())

    # WHEN the pipeline runs
    arn = bench.start()
    if case.during is not None:
        case.during(bench, arn)
    record = bench.wait(arn)

    # THEN it reached the outcome the catalog names despite the fault, and recovers from it
    run = FaultRun(
        record=record,
        run_id=run_id(record),
        api_calls=Counter(bench.runtime.aws.api_calls) - calls_before,
        training_jobs_created=sorted(set(bench.training_jobs()) - jobs_before),
        notifications=notifications(record),
    )
    assert [fault.fired for fault in faults] == list(case.fired), [fault.description for fault in faults]
    assert_survived(bench, case, run, before, served_before, bench.slack.messages[messages_before:])


def assert_survived(
    bench: FaultBench,
    case: FaultCase,
    run: FaultRun,
    before: dict[str, Any],
    served_before: float,
    messages: list[ReceivedMessage],
) -> None:
    """The checks every fault must pass, then a run with the fault cleared that must deploy."""
    record = run.record
    if case.error is None:
        assert record.status == "SUCCEEDED", (record.error, record.cause)
        assert_deployed(bench, record, run.run_id)
    else:
        assert (record.status, record.error) == ("FAILED", case.error), record.cause
        assert case.cause is not None
        assert record.cause is not None
        assert case.cause in record.cause, record.cause
        # the watermark did not move, and the old model kept serving
        assert bench.watermark() == before
        assert_serving(bench, before["endpoint_config_name"])
        assert bench.predict() == served_before
    assert_no_orphans(bench)
    assert_slack(case, run, messages)
    if case.check is not None:
        case.check(bench, run)

    # AND with the fault cleared (and the functions' environment restored), the next run deploys
    bench.clear_faults()
    if case.environment:
        bench.deploy()
    if case.error is None:
        bench.add_day()  # the faulted run consumed the newest day
    recovery = bench.run()
    assert recovery.status == "SUCCEEDED", (recovery.error, recovery.cause)
    assert_deployed(bench, recovery, run_id(recovery))
    assert_no_orphans(bench)
    bench.healthy = True


def assert_deployed(bench: FaultBench, record: ExecutionRecord, config: str) -> None:
    """The run's model serves, and the watermark records the newest day and this run."""
    watermark = bench.watermark()
    assert watermark["newest_data_date"] == bench.newest.isoformat()
    assert (watermark["execution_id"], watermark["endpoint_config_name"]) == (record.arn, config)
    assert_serving(bench, config)


def assert_serving(bench: FaultBench, config: str) -> None:
    endpoint = bench.runtime.client("sagemaker").describe_endpoint(EndpointName=PIPELINE)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", config)


def assert_no_orphans(bench: FaultBench) -> None:
    """Every model and endpoint config was deployed by a run that succeeded; no training job still runs.

    A failed run's are deleted by its CleanUp step (unless the endpoint uses them); of the succeeded runs'
    housekeeping keeps the newest (the default keep_last) and the previous deployment. Training jobs of failed
    runs stay, in a terminal state.
    """
    sagemaker, sfn = bench.runtime.client("sagemaker"), bench.runtime.client("stepfunctions")
    deployed_at: dict[str, Any] = {}  # endpoint config -> its run's start
    for execution in sfn.list_executions(stateMachineArn=bench.pipeline.state_machine_arn, statusFilter="SUCCEEDED")[
        "executions"
    ]:
        output = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["output"])
        if "deployment" in output:
            deployed_at[output["deployment"]["endpoint_config_name"]] = execution["startDate"]
    deployed = set(deployed_at)
    models = {m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]}
    configs = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]}
    assert models <= deployed, f"orphaned models: {models - deployed}"
    assert configs == models, f"endpoint configs without their model or the reverse: {configs ^ models}"
    # Newest by the runs' start (the runs here follow one another): names carry the start to the second only, and
    # two runs started in the same second sort by the hash in their names, not by which came first.
    newest = set(sorted(deployed, key=lambda name: deployed_at[name])[-DEFAULT_KEEP_LAST:])
    assert newest <= models, f"missing: {newest - models}"
    endpoints = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    assert endpoints == [PIPELINE]
    running = set(bench.training_jobs()) - set(bench.training_jobs(*TERMINAL_TRAINING))
    assert running == set(), f"training jobs left running: {running}"


def assert_slack(case: FaultCase, run: FaultRun, messages: list[ReceivedMessage]) -> None:
    """The alert named the failure and its cause, or the run's messages arrived, or the failure was recorded."""
    if case.undelivered is not None:
        # NotifySlack recorded why it could not post, and the run went on without crashing.
        failed = [(state, result) for state, result in run.notifications if not result["delivered"]]
        assert failed, run.notifications
        assert all(result["detail"] == case.undelivered for _, result in failed), failed
        if case.undelivered.startswith("slack error"):
            assert messages == []
        else:
            assert run.notifications[-1][1]["delivered"] is True  # Slack answered again in time
        return
    assert all(result["delivered"] for _, result in run.notifications), run.notifications
    texts = [message.block_text for message in messages]
    if case.error is None:
        assert len(messages) == len(run.notifications) == 4
        assert "deployed" in texts[-1]
    else:
        alert = texts[-1]
        assert case.error in alert
        assert "run failed" in alert
        assert case.cause is not None
        assert case.cause in alert


def run_id(record: ExecutionRecord) -> str:
    """The run's resource name, from CheckData's result (also for a run that failed later)."""
    for state, result in task_results(record):
        if state == "CheckData":
            return str(result["run"]["run_id"])
    raise AssertionError(f"{record.arn}: CheckData never succeeded")


def notifications(record: ExecutionRecord) -> list[tuple[str, dict[str, Any]]]:
    return [(state, result) for state, result in task_results(record) if state.startswith("Notify")]


def task_results(record: ExecutionRecord) -> list[tuple[str, dict[str, Any]]]:
    """Each Lambda task that succeeded, by state name, with the function's result (before ResultPath)."""
    results: list[tuple[str, dict[str, Any]]] = []
    state = ""
    for event in record.history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        elif "taskSucceededEventDetails" in event:
            output = json.loads(event["taskSucceededEventDetails"]["output"])
            if isinstance(output, dict) and isinstance(output.get("Payload"), dict):
                results.append((state, output["Payload"]))
    return results
