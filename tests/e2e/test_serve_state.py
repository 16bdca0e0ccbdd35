"""`serve --state-dir` as a user runs it: a run trains and deploys, Ctrl-C, serve again: everything is there, the
endpoint serves again, and the run is listed with its history."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from demo.data import demo_dataset, today_utc
from tests.e2e.test_serve import (
    PROJECT_ROOT,
    READY_SECONDS,
    RUN_SECONDS,
    STOP_SECONDS,
    Served,
    free_port,
    scheduled_run_ended,
    wait_for,
)

pytestmark = pytest.mark.e2e
CONFIG = "demo/pipelines.json"
ENDPOINT = "demo"


def start(tmp_path: Path, state: Path, log_name: str) -> Served:
    port = free_port()
    log = tmp_path / log_name
    environment = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "MOTO_PORT")}
    command = [sys.executable, "-m", "local_runtime", "serve", "--port", str(port), "--no-color"]
    command += ["--config-file", CONFIG, "--state-dir", str(state)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT, env=environment)
    served = Served(process=process, port=port, log=log)
    wait_for(lambda: "Ready:" in served.output() or process.poll() is not None, READY_SECONDS, "serve was not ready")
    assert process.poll() is None, served.output()
    return served


def stop(served: Served) -> None:
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=STOP_SECONDS * 3) == 0, served.output()
    assert "State saved to" in served.output(), served.output()


def test_a_restart_with_a_state_dir_keeps_data_watermark_registry_endpoint_and_runs(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = start(tmp_path, state, "first.log")
    try:
        # GIVEN a week of data and a run that trains and deploys
        bucket = re.search(r"data bucket\s+(\S+)", first.output())
        machine = re.search(r"state machine\s+(arn:aws:states:\S+)", first.output())
        assert bucket, first.output()
        assert machine, first.output()
        s3, sfn = first.client("s3"), first.client("stepfunctions")
        # serve fires the pipeline's rate schedule at once: its run, on no data yet, ends before the data arrives
        # (running, it would hold the run lease and the run below would end AnotherRunInProgress).
        wait_for(lambda: scheduled_run_ended(first), RUN_SECONDS, "the schedule's first run did not end")
        days = demo_dataset(days=7, end=today_utc(), prefix="data/demo").files
        for daily in days:
            s3.put_object(Bucket=bucket[1], Key=daily.key, Body=daily.body)
        arn = sfn.start_execution(stateMachineArn=machine[1], name="before-restart", input='{"trigger": "manual"}')[
            "executionArn"
        ]
        wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", RUN_SECONDS, "no end")
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
        watermark = first.client("ssm").get_parameter(Name="/sagemaker-retraining/demo/watermark")["Parameter"]
        versions = first.client("sagemaker").list_model_packages(ModelPackageGroupName="demo")
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    finally:
        # WHEN serve is stopped with Ctrl-C
        stop(first)

    # AND started again with the same state directory
    second = start(tmp_path, state, "second.log")
    try:
        assert "Restored the state of" in second.output(), second.output()
        s3, sfn, sagemaker = second.client("s3"), second.client("stepfunctions"), second.client("sagemaker")
        # THEN the data, the watermark and the model registry are as they were
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket[1], Prefix="data/demo/")["Contents"]}
        assert {daily.key for daily in days} <= keys
        assert s3.get_object(Bucket=bucket[1], Key=days[0].key)["Body"].read() == days[0].body
        kept = second.client("ssm").get_parameter(Name="/sagemaker-retraining/demo/watermark")["Parameter"]
        assert (kept["Value"], kept["Version"]) == (watermark["Value"], watermark["Version"])
        assert json.loads(kept["Value"])["newest_data_date"] == today_utc().isoformat()
        again = sagemaker.list_model_packages(ModelPackageGroupName="demo")["ModelPackageSummaryList"]
        assert [(v["ModelPackageArn"], v["ModelApprovalStatus"]) for v in again] == [
            (v["ModelPackageArn"], v["ModelApprovalStatus"]) for v in versions["ModelPackageSummaryList"]
        ]
        # AND the run is listed with its history
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
        kept_events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        assert [e["type"] for e in kept_events] == [e["type"] for e in events]
        # AND the endpoint is InService again, serving its model
        deadline = time.monotonic() + 60
        while sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Creating":
            assert time.monotonic() < deadline, "the endpoint did not come back"
            time.sleep(0.2)
        described = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
        assert described["EndpointStatus"] == "InService", described.get("FailureReason")
        row = days[-1].body.decode().splitlines()[0].split(",", 1)[1]  # a row without its label (the first column)
        answer = second.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=ENDPOINT, Body=row.encode(), ContentType="text/csv"
        )
        assert json.loads(answer["Body"].read())["predictions"]
    finally:
        stop(second)


def test_watch_redeploys_a_changed_config_in_place_and_keeps_the_data(tmp_path: Path) -> None:
    # GIVEN serve --watch on a copy of the demo config, and a file in the data bucket
    config = json.loads((PROJECT_ROOT / CONFIG).read_text())
    config_file = tmp_path / "pipelines.json"
    config_file.write_text(json.dumps(config))
    port = free_port()
    log = tmp_path / "watch.log"
    environment = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL", "MOTO_PORT")}
    command = [sys.executable, "-m", "local_runtime", "serve", "--port", str(port), "--no-color", "--watch"]
    command += ["--config-file", str(config_file)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT, env=environment)
    served = Served(process=process, port=port, log=log)
    try:
        wait_for(lambda: "Ready:" in served.output() or process.poll() is not None, READY_SECONDS, "not ready")
        bucket = re.search(r"data bucket\s+(\S+)", served.output())
        assert bucket, served.output()
        served.client("s3").put_object(Bucket=bucket[1], Key="data/demo/kept.csv", Body=b"1,2\n")

        # WHEN a config value changes, and then the config is broken
        config["pipelines"][0]["window_days"] = 9
        config_file.write_text(json.dumps(config))
        wait_for(lambda: "Redeployed stack" in served.output(), READY_SECONDS, "no redeploy")
        config_file.write_text("{not json")
        wait_for(lambda: "Synth failed" in served.output(), READY_SECONDS, "the broken config was not reported")

        # THEN the functions reading it got the new environment, the data stayed, and serve still serves
        assert re.search(r"new environment for [^;\n]*CheckData", served.output()), served.output()
        body = served.client("s3").get_object(Bucket=bucket[1], Key="data/demo/kept.csv")["Body"].read()
        assert body == b"1,2\n"
        assert process.poll() is None, served.output()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=STOP_SECONDS * 3) == 0, served.output()
