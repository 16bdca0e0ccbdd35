"""Traffic to the demo's endpoint: a thread that keeps invoking it during the update, and the predictions shown
at the end, read as Linear Learner's JSON."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from demo.data import DemoDataset, LabeledRow
from demo.summary import DemoSummary, Prediction
from operator_cli.states import StateRun

if TYPE_CHECKING:
    from types_boto3_sagemaker_runtime import SageMakerRuntimeClient

    from local_runtime.runtime import LocalRuntime


_INVOKE_PAUSE_SECONDS = 0.05


@dataclass(frozen=True)
class Invocation:
    at: float  # wall clock, comparable with the execution history's timestamps
    score: float | None
    error: str | None


@dataclass
class Invoker:
    """Invokes the endpoint in a loop from a thread, recording every answer and error, until stopped."""

    client: SageMakerRuntimeClient
    endpoint: str
    body: str
    calls: list[Invocation] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="demo-invoker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def between(self, start: float, end: float) -> list[Invocation]:
        return [call for call in self.calls if start <= call.at <= end]

    def _loop(self) -> None:
        while not self._stop.is_set():
            at = time.time()
            try:
                answer = self.client.invoke_endpoint(
                    EndpointName=self.endpoint, Body=self.body.encode(), ContentType="text/csv"
                )["Body"].read()
                self.calls.append(Invocation(at=at, score=_first_score(answer), error=None))
            except Exception as error:  # every failure is downtime, whatever its type
                self.calls.append(Invocation(at=at, score=None, error=f"{type(error).__name__}: {error}"))
            self._stop.wait(_INVOKE_PAUSE_SECONDS)


def runtime_client(runtime: LocalRuntime) -> SageMakerRuntimeClient:
    """A SageMaker Runtime client of the local AWS that never retries."""
    # No retries: an invocation that fails during the update must count as downtime, not be retried away.
    return boto3.client(  # type: ignore[call-overload]
        "sagemaker-runtime",
        endpoint_url=runtime.endpoint_url,
        region_name=runtime.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def predict_one(runtime: LocalRuntime, endpoint: str, rows: tuple[LabeledRow, ...]) -> float | None:
    """The endpoint's score for the first of the rows, or None when it does not answer Linear Learner's JSON."""
    scores, _ = _invoke(runtime, endpoint, rows)
    return scores[0] if scores else None


def predictions(runtime: LocalRuntime, endpoint: str, data: DemoDataset) -> tuple[list[Prediction], str | None]:
    """The held-out rows with their scores; with the raw answer when it is not Linear Learner's JSON."""
    scores, raw = _invoke(runtime, endpoint, data.held_out)
    if scores is None:
        return [Prediction(features=row.csv(), label=row.label, score=None) for row in data.held_out], raw
    return [
        Prediction(features=r.csv(), label=r.label, score=s) for r, s in zip(data.held_out, scores, strict=True)
    ], None


def _invoke(runtime: LocalRuntime, endpoint: str, rows: tuple[LabeledRow, ...]) -> tuple[list[float] | None, str]:
    """Linear Learner's JSON scores for the rows, or None with the raw answer when it is not that JSON."""
    body = "\n".join(row.csv() for row in rows)
    answer = runtime_client(runtime).invoke_endpoint(
        EndpointName=endpoint, Body=body.encode(), ContentType="text/csv", Accept="application/json"
    )
    raw = answer["Body"].read().decode(errors="replace")
    try:
        scores = [float(p["score"]) for p in json.loads(raw)["predictions"]]
    except (ValueError, KeyError, TypeError):
        return None, raw
    return (scores if len(scores) == len(rows) else None), raw


def _first_score(answer: bytes) -> float | None:
    try:
        return float(json.loads(answer)["predictions"][0]["score"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def count_update_invocations(summary: DemoSummary, invoker: Invoker, runs: list[StateRun]) -> None:
    """Count the invocations made while the endpoint was updating, and which model answered them.

    The update runs from DeployModel's UpdateEndpoint call to the last GetEndpointStatus, which saw the
    endpoint InService on the new model.
    """
    summary.invocations_during_run = len(invoker.calls)
    summary.errors_during_run = sum(1 for call in invoker.calls if call.error)
    summary.first_update_error = next((call.error for call in invoker.calls if call.error), None)
    deploy = [run for run in runs if run.name == "DeployModel"]
    polls = [run for run in runs if run.name == "GetEndpointStatus" and run.exited]
    if not deploy or not polls or polls[-1].exited is None:
        return
    during = invoker.between(deploy[0].entered.timestamp(), polls[-1].exited.timestamp())
    summary.invocations_during_update = len(during)
    summary.errors_during_update = sum(1 for call in during if call.error)
    scores = [call.score for call in invoker.calls if call.score is not None]
    if scores:
        old, new = scores[0], scores[-1]
        summary.old_model_answers = sum(1 for call in during if call.score == old != new)
        summary.new_model_answers = sum(1 for call in during if call.score == new != old)
