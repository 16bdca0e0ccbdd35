"""A churn example pipeline (raw records, preprocessing in the pipeline) deployed into a local runtime of its own.

The examples that share the churn data (examples/churn with Linear Learner, examples/churn-xgboost with built-in
XGBoost) are driven the same way: seven days of raw files uploaded, runs started by hand and awaited, the endpoint
invoked with raw records, a model's containers loaded as their serving workers load them, and an application that
keeps calling the endpoint while a run replaces the model.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from demo.churn_data import churn_days
from local_runtime.deploy import DeployedPipeline, ExecutionRecord, wait_for_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget, synthesize
from local_runtime.sagemaker.serving import load_server
from local_runtime.slack_api import LocalSlackApi

TOKEN, CHANNEL = "xoxb-churn-e2e", "#ml-alerts"
FIRST_END, NEW_DAY = date(2026, 3, 7), date(2026, 3, 8)


@dataclass
class ChurnPipeline:
    """One deployed example pipeline, its local Slack, and the runs started on it."""

    name: str
    runtime: LocalRuntime
    pipeline: DeployedPipeline
    slack: LocalSlackApi
    runs: list[str] = field(default_factory=list)

    @property
    def bucket(self) -> str:
        return self.pipeline.stack.outputs["DataBucketName"]

    @property
    def endpoint(self) -> str:
        return self.pipeline.stack.outputs["EndpointName"]

    @property
    def prefix(self) -> str:
        return self.pipeline.stack.outputs["DataPrefix"]

    def client(self, service: str) -> Any:
        return self.runtime.client(service)

    def put_days(self, days: int, end: date, **options: Any) -> None:
        """Upload `days` days of raw files ending `end` (options as churn_days takes them)."""
        for raw in churn_days(days=days, end=end, prefix=self.prefix, **options):
            self.client("s3").put_object(Bucket=self.bucket, Key=raw.key, Body=raw.body)

    def run(self, end: date) -> dict[str, Any]:
        """One run on the window ending `end`, which must succeed; the execution's final state."""
        output: dict[str, Any] = self.run_record(end).output
        return output

    def run_record(self, end: date) -> ExecutionRecord:
        arn = self.client("stepfunctions").start_execution(
            stateMachineArn=self.pipeline.state_machine_arn,
            name=f"{self.name}-{uuid.uuid4().hex[:8]}",
            input=json.dumps({"trigger": "manual", "end_date": end.isoformat()}),
        )["executionArn"]
        record = wait_for_execution(self.runtime.aws, arn, region=self.runtime.region, timeout_seconds=240)
        assert record.status == "SUCCEEDED", record.cause
        self.runs.append(arn)
        return record

    def invoke(self, body: str, content_type: str = "text/csv", accept: str | None = None) -> str:
        extra = {"Accept": accept} if accept else {}
        answer = self.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=self.endpoint, ContentType=content_type, Body=body.encode(), **extra
        )
        return str(answer["Body"].read().decode())

    def serving_container(self, model_name: str, index: int, into: Path) -> Any:
        """Load the model's `index`th container as its serving worker does: its artifact, image and environment."""
        container = self.client("sagemaker").describe_model(ModelName=model_name)["Containers"][index]
        environment = container.get("Environment", {})
        self._extract(container["ModelDataUrl"], into / "model")
        # A script's code from its S3 sourcedir.tar.gz (the SDK's way), as the hosting service downloads it.
        submitted = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
        code_dir = self._extract(submitted, into / "code") if submitted.startswith("s3://") else None
        return load_server(into / "model", container["Image"], environment, code_dir)

    def _extract(self, uri: str, into: Path) -> Path:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        into.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            archive.extractall(into, filter="data")
        return into


def synthesize_example(config_file: str, stack: str) -> dict[str, Any]:
    """The example's stack (a synth costs seconds of CPU: callers keep it for their module)."""
    template: dict[str, Any] = synthesize({"config_file": config_file})[stack]
    return template


@contextmanager
def deployed_churn(name: str, template: dict[str, Any], stack: str) -> Iterator[ChurnPipeline]:
    """The stack deployed into a fresh runtime posting to a local Slack, with the seven days to FIRST_END uploaded."""
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(
            template,
            stack_name=stack,
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN),
            function_environment=QUIET_FUNCTIONS,
        )
        churn = ChurnPipeline(name, runtime, pipeline, slack)
        churn.put_days(7, FIRST_END)
        yield churn


@dataclass
class Application:
    """What an application calling the endpoint saw: how many calls were answered, and every failure."""

    answered: int = 0
    failures: list[str] = field(default_factory=list)


@contextmanager
def calling_application(churn: ChurnPipeline, body: str) -> Iterator[Application]:
    """An application sending `body` to the endpoint every 20 ms until the block ends; any failed call is downtime."""
    seen = Application()
    stop = threading.Event()

    def application() -> None:
        while not stop.is_set():
            try:
                churn.invoke(body)
                seen.answered += 1
            except Exception as error:  # any failed invocation is downtime
                seen.failures.append(repr(error))
            time.sleep(0.02)

    thread = threading.Thread(target=application, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=10)
