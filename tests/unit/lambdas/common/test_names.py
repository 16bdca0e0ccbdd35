"""Names of a run's SageMaker resources."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lambdas.common.events import Execution
from lambdas.common.names import JOB_ROLES, SAGEMAKER_NAME_PATTERN, run_job_name, run_resource_name

START = datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC)


def execution(name: str) -> Execution:
    return Execution(id=f"arn:aws:states:us-east-1:123456789012:execution:m:{name}", name=name, start_time=START)


@pytest.mark.parametrize("pipeline", ["churn", "a" * 32, "x" * 80, "Fraud_Model v2", "-"])
def test_names_are_valid_for_sagemaker(pipeline: str) -> None:
    name = run_resource_name(pipeline, execution("e"))

    assert SAGEMAKER_NAME_PATTERN.match(name)
    assert len(name) <= 63


def test_same_execution_same_name_and_different_executions_differ() -> None:
    assert run_resource_name("churn", execution("a")) == run_resource_name("churn", execution("a"))
    assert run_resource_name("churn", execution("a")) != run_resource_name("churn", execution("b"))


def test_names_start_with_the_pipeline_and_sort_by_start_time() -> None:
    assert run_resource_name("churn", execution("a")).startswith("churn-20261122060000-")


# The longest pipeline name the config accepts (stacks/config/pipeline.py), and shorter ones.
@pytest.mark.parametrize("pipeline", ["churn", "a" * 32, "fraud-model-v2-" + "x" * 17])
@pytest.mark.parametrize("role", JOB_ROLES.values())
def test_a_runs_job_names_fit_sagemaker_and_keep_the_pipelines_prefix(pipeline: str, role: str) -> None:
    name = run_job_name(pipeline, execution("e"), role)

    assert SAGEMAKER_NAME_PATTERN.match(name)
    assert len(name) <= 63
    # IAM grants (stacks/arns.py) and the status-change rule (stacks/constructs/status_changes.py) match "<pipeline>-*"
    assert name.startswith(f"{pipeline}-")
    assert name.endswith(f"-{role}")


def test_a_runs_job_names_are_its_resource_name_with_the_role() -> None:
    run = run_resource_name("churn", execution("a"))

    assert [run_job_name("churn", execution("a"), role) for role in JOB_ROLES.values()] == [f"{run}-new", f"{run}-prod"]
    assert run_job_name("churn", execution("a"), "new") != run_job_name("churn", execution("b"), "new")
