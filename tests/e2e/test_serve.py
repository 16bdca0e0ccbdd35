"""`python -m local_runtime serve` as a user runs it: a process on a loopback port, driven by plain boto3."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from demo.data import demo_dataset, today_utc
from local_runtime.runtime import iam_enforced_by_default
from operator_cli.approvals import list_versions

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).parents[2]
READY_SECONDS = 120  # synthesizing the app takes most of it
RUN_SECONDS = 120
STOP_SECONDS = 10


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text()

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {seconds} s")
        time.sleep(0.2)


def scheduled_run_ended(served: Served) -> bool:
    sfn = served.client("stepfunctions")
    runs = [
        execution
        for machine in sfn.list_state_machines()["stateMachines"]
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    ]
    return bool(runs) and all(run["status"] != "RUNNING" for run in runs)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, "demo/pipelines.json")


@pytest.fixture
def served_for_review(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, "demo/review_pipelines.json")


def serve(tmp_path: Path, config_file: str) -> Iterator[Served]:
    """The serve command in its own process, with stdout in a file (a pipe nobody reads would fill up)."""
    port = free_port()
    log = tmp_path / "serve.log"
    environment = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "MOTO_PORT")}
    command = [sys.executable, "-m", "local_runtime", "serve", "--port", str(port), "--no-color"]
    command += ["--config-file", config_file]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT, env=environment)
    server = Served(process=process, port=port, log=log)
    try:
        wait_for(
            lambda: "Ready:" in server.output() or process.poll() is not None, READY_SECONDS, "serve was not ready"
        )
        assert process.poll() is None, server.output()
        # serve fires the pipeline's rate(1 day) schedule, and a rate schedule without a StartDate fires at once (as a
        # newly deployed one does on AWS): its run, on no data yet, ends before a test uploads any.
        wait_for(lambda: scheduled_run_ended(server), RUN_SECONDS, "the schedule's first run did not end")
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


def test_serve_runs_executions_started_with_boto3_and_stops_cleanly_on_ctrl_c(served: Served) -> None:
    # GIVEN the served pipeline, whose bucket and state machine the output names
    output = served.output()
    bucket = re.search(r"data bucket\s+(\S+)", output)
    state_machine = re.search(r"state machine\s+(arn:aws:states:\S+)", output)
    assert bucket, output
    assert state_machine, output
    s3, sfn, ssm = served.client("s3"), served.client("stepfunctions"), served.client("ssm")

    # WHEN a week of data is uploaded and a run started, with plain boto3
    for daily in demo_dataset(days=7, end=today_utc(), prefix="data/demo").files:
        s3.put_object(Bucket=bucket[1], Key=daily.key, Body=daily.body)
    arn = sfn.start_execution(
        stateMachineArn=state_machine[1], name=f"serve-{int(time.time())}", input=json.dumps({"trigger": "manual"})
    )["executionArn"]
    wait_for(
        lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", RUN_SECONDS, "the run did not end"
    )

    # THEN it trained and deployed, the watermark records the newest day, and the terminal showed the run
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED", described
    watermark = json.loads(ssm.get_parameter(Name="/sagemaker-retraining/demo/watermark")["Parameter"]["Value"])
    assert watermark["newest_data_date"] == today_utc().isoformat()
    assert (watermark["file_count"], watermark["holdout_file_count"]) == (6, 1)  # the newest day held out
    wait_for(lambda: "SUCCEEDED at Deployed" in served.output(), 5, "the view did not show the run's end")
    assert "✓ StartTrainingJob" in served.output()
    assert "💬 #ml-alerts" in served.output()
    enforced = iam_enforced_by_default()  # LOCAL_RUNTIME_IAM=off, as bench.iam_overhead runs the suite once
    assert ("IAM: the deployed roles' calls are checked against their policies" in output) is enforced

    # WHEN Ctrl-C is sent
    served.process.send_signal(signal.SIGINT)

    # THEN it exits 0 within seconds and the port is free again
    assert served.process.wait(timeout=STOP_SECONDS) == 0, served.output()
    assert port_is_free(served.port)
    assert served.output().rstrip().endswith("Stopped."), served.output()
    # AND it said how many of the roles' calls it checked: every one allowed
    if not enforced:
        return
    checked = re.search(
        r"IAM: (\d+) requests of the deployed roles checked against their policies, 0 denied", served.output()
    )
    assert checked, served.output()
    assert int(checked[1]) > 0


def cli(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    """A CLI command as the README's walkthrough runs it, in a process of its own."""
    command = [sys.executable, "-m", "local_runtime", *args, "--pipeline", "demo", "--endpoint-url", served.url]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False)


def waiting_versions(served: Served) -> int:
    """How many of the demo pipeline's model versions wait for approval."""
    try:
        versions = list_versions(served.client("sagemaker"), "demo")
    except ClientError:  # the group does not exist before the run registers its first version
        return 0
    return sum(1 for version in versions if version.status == "PendingManualApproval")


def test_the_readme_walkthrough_approves_a_model_and_asks_which_files_trained_it(served_for_review: Served) -> None:
    # GIVEN `make serve CONFIG=demo/review_pipelines.json`, a week of data and a started run
    served = served_for_review
    bucket = re.search(r"data bucket\s+(\S+)", served.output())
    state_machine = re.search(r"state machine\s+(arn:aws:states:\S+)", served.output())
    assert bucket, served.output()
    assert state_machine, served.output()
    days = demo_dataset(days=7, end=today_utc(), prefix="data/demo").files
    for daily in days:
        served.client("s3").put_object(Bucket=bucket[1], Key=daily.key, Body=daily.body)
    sfn = served.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=state_machine[1], name=f"review-{int(time.time())}")["executionArn"]

    # WHEN the model waits for approval, `models` shows it and `approve` approves it
    # (waiting in this process, with the code `models` runs: a process per poll spent the CPU the run needed)
    wait_for(lambda: waiting_versions(served) > 0, RUN_SECONDS, "no version waited for approval")
    models = cli(served, "models")
    assert models.returncode == 0, models.stderr
    assert "PendingManualApproval" in models.stdout, models.stdout
    approved = cli(served, "approve", "--reason", "checked the metrics")
    assert approved.returncode == 0, approved.stderr
    assert "is now Approved" in approved.stdout

    # THEN the run resumes and deploys, and `lineage files` names exactly the week's files it trained on: all but
    # the newest day, held out
    wait_for(
        lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", RUN_SECONDS, "the run did not end"
    )
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED", served.output()
    answer = cli(served, "lineage", "files", "--json")
    assert answer.returncode == 0, answer.stderr
    assert sorted(json.loads(answer.stdout)["files"]) == sorted(f"s3://{bucket[1]}/{d.key}" for d in days[:-1])
