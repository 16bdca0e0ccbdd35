"""StartPreprocessing's handler: the job started from the environment, the state passed on with its section."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.common.errors import ConfigurationError
from lambdas.start_preprocessing.handler import lambda_handler
from tests.unit.lambdas.start_preprocessing.test_core import ENVIRONMENT, OUTPUT, RUN

EVENT = {
    "state": {"run": RUN.to_state(), "has_new_data": True, "preprocess": True},
    "execution": {
        "id": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-retraining-churn:run-1",
        "name": "run-1",
        "start_time": "2026-11-22T06:00:00.000Z",
    },
}


@pytest.fixture
def environment(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def test_returns_the_state_with_the_preprocessing_section(environment: None, lambda_context: Any) -> None:
    # WHEN the step runs
    state = lambda_handler(EVENT, lambda_context)

    # THEN the state it was given goes on, with the job's section added
    assert {k: v for k, v in state.items() if k != "preprocessing"} == EVENT["state"]
    assert state["preprocessing"]["job_name"] == RUN.run_id
    assert state["preprocessing"]["training_data_uri"] == f"{OUTPUT}/train/"
    assert state["preprocessing"]["model_artifact"] == f"{OUTPUT}/model/model.tar.gz"
    jobs = boto3.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"]
    assert [j["ProcessingJobName"] for j in jobs] == [RUN.run_id]


def test_without_preprocessing_configured_no_job_is_started(
    environment: None, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a pipeline without preprocessing
    monkeypatch.delenv("PREPROCESSING")

    # WHEN the step runs / THEN it fails naming the variable, and no job exists
    with pytest.raises(ConfigurationError, match="PREPROCESSING"):
        lambda_handler(EVENT, lambda_context)
    assert boto3.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"] == []
