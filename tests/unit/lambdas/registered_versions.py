"""A model version registered by EvaluateModel, for the tests of the steps that act on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from contract.events import PENDING
from lambdas.common.events import Execution
from lambdas.common.models import EvaluationState
from lambdas.evaluate_model.core import evaluate_model
from tests.unit.lambdas.evaluate_model.test_core import SETTINGS, sections

NOW = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)


def registered_version(sagemaker: Any, status: str) -> EvaluationState:
    """A version in a fresh group registered by EvaluateModel, as the state's `evaluation` shows it."""
    execution = Execution(id="arn:aws:states:us-east-1:123456789012:execution:m:run-1", name="run-1", start_time=NOW)
    settings = replace(SETTINGS, gate=None, manual_approval=status == PENDING)
    return evaluate_model(*sections("churn-2", 0.4), execution, sagemaker=sagemaker, settings=settings)
