"""One run's data, manifests, watermark and endpoint for SmokeTest's tests, and a fake sagemaker-runtime: moto's
InvokeEndpoint answers a fixed body whatever the model, so the answers a smoke test must judge are scripted here."""

from __future__ import annotations

import io
import json
from typing import Any

from botocore.exceptions import ClientError

from lambdas.common.models import DeploymentState, RunState
from lambdas.smoke_test.core import (
    SmokeTestResult,
    SmokeTestSettings,
    smoke_test,
)
from tests.unit.lambdas.states import deployment_section, run_section

BUCKET = "churn-data"
PARAMETER = "/sagemaker-retraining/churn/watermark"
ENDPOINT = "churn"
PREVIOUS, NEW = "churn-20261121060000-aaaaaaaa", "churn-20261122060000-bbbbbbbb"
TRAINING_MANIFEST = f"s3://{BUCKET}/manifests/churn/{NEW}.manifest"
HOLDOUT_MANIFEST = f"s3://{BUCKET}/manifests/churn/{NEW}.holdout.manifest"
SETTINGS = SmokeTestSettings(
    records=5, input_filter="$[1:]", content_type="text/csv", accept=None, header=False, watermark_parameter=PARAMETER
)
ROWS = [f"{label},{label}.5,{label * 2}" for label in range(10)]  # label first, then two features


class FakeRuntime:
    """sagemaker-runtime's InvokeEndpoint: answers `body` as `content_type`, or raises `error`; records each call."""

    def __init__(
        self, body: bytes = b"", content_type: str | None = "application/json", error: ClientError | None = None
    ) -> None:
        self.body, self.content_type, self.error = body, content_type, error
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if self.error is not None:
            raise self.error
        answer: dict[str, Any] = {"Body": io.BytesIO(self.body)}
        if self.content_type is not None:
            answer["ContentType"] = self.content_type
        return answer


def predictions(count: int) -> FakeRuntime:
    """Linear Learner's JSON answer with `count` predictions."""
    return FakeRuntime(json.dumps({"predictions": [{"score": 0.5}] * count}).encode())


def failing(code: str = "ModelError", message: str = "boom", status: int = 424) -> FakeRuntime:
    error = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return FakeRuntime(error=ClientError(error, "InvokeEndpoint"))  # type: ignore[arg-type]


def put_file(s3: Any, name: str, body: bytes) -> str:
    s3.put_object(Bucket=BUCKET, Key=f"data/churn/{name}", Body=body)
    return f"s3://{BUCKET}/data/churn/{name}"


def put_manifest(s3: Any, uri: str, names: list[str]) -> None:
    """A manifest as CheckData writes it: the data prefix, then the files' keys under it, sorted."""
    body = json.dumps([{"prefix": f"s3://{BUCKET}/data/churn/"}, *sorted(names)])
    s3.put_object(Bucket=BUCKET, Key=uri.removeprefix(f"s3://{BUCKET}/"), Body=body.encode())


def csv_body(rows: list[str]) -> bytes:
    return "".join(f"{row}\n" for row in rows).encode()


def run_of(s3: Any, files: dict[str, bytes], *, holdout: dict[str, bytes] | None = None) -> RunState:
    """A run whose training manifest lists `files` and, when given, whose holdout manifest lists `holdout`."""
    for name, body in {**files, **(holdout or {})}.items():
        put_file(s3, name, body)
    put_manifest(s3, TRAINING_MANIFEST, list(files))
    if holdout is None:
        return run_section(manifest_uri=TRAINING_MANIFEST, holdout_manifest_uri=None)
    put_manifest(s3, HOLDOUT_MANIFEST, list(holdout))
    return run_section(manifest_uri=TRAINING_MANIFEST, holdout_manifest_uri=HOLDOUT_MANIFEST)


def set_watermark(ssm: Any, **value: Any) -> None:
    body = {"newest_data_date": "2026-11-21", **value}
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(body), Type="String", Overwrite=True)


def deployment() -> DeploymentState:
    return deployment_section(endpoint_name=ENDPOINT, endpoint_config_name=NEW, model_name=NEW)


def judge(
    s3: Any,
    runtime: Any,
    sagemaker: Any,
    ssm: Any,
    *,
    run: RunState | None = None,
    settings: SmokeTestSettings | None = SETTINGS,
    deployed: DeploymentState | None = None,
) -> SmokeTestResult:
    """The smoke test of this run's deployment (by default: ten records in one file, the first five sent)."""
    return smoke_test(
        run or run_of(s3, {"2026-11-20.csv": csv_body(ROWS)}),
        deployed or deployment(),
        s3=s3,
        runtime=runtime,
        sagemaker=sagemaker,
        ssm=ssm,
        settings=settings,
    )


def serving(sagemaker: Any) -> str:
    return str(sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"])
