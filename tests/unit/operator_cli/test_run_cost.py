"""`runs show` says what the run cost: its billed instance time, spot savings and estimate, from the usages GetStatus
recorded in the state; the job's own line says its billed time."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from operator_cli.runs import render_show, summarize
from operator_cli.state_facts import state_facts
from operator_cli.states import StateRun
from tests.unit.operator_cli.test_progress import JOB, START, TRAINING, deployed_run_start
from tests.unit.operator_cli.test_runs import execution
from tests.unit.operator_cli.test_state_facts import check_data

USAGE = {
    "kind": "training",
    "job_name": JOB,
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "seconds": 1200,
    "billable_seconds": 600,
    "spot": True,
    "usd_per_hour": 0.115,
}
COSTED = {
    **TRAINING,
    "training": {**TRAINING["training"], "status": "Completed", "secondary_status": "Completed", "usage": USAGE},
}


def costed_summary(document: dict[str, Any]) -> Any:
    history = deployed_run_start().task("GetTrainingStatus", document)
    history.add("SucceedStateEntered", "stateEnteredEventDetails", name="Deployed", input=json.dumps(document))
    return summarize(execution("SUCCEEDED"), history.events)


def test_show_says_the_billed_time_the_spot_savings_and_the_estimate() -> None:
    summary = costed_summary(COSTED)

    lines = render_show(summary, [], START).splitlines()

    assert "cost         10 min billable (spot saved 50%), estimated $0.0192" in lines
    assert summary.to_json(START)["cost"]["billable_instance_seconds"] == 600


def test_a_run_without_recorded_usage_shows_no_cost_line() -> None:
    summary = costed_summary(TRAINING)

    assert not [line for line in render_show(summary, [], START).splitlines() if line.startswith("cost")]
    assert summary.to_json(START)["cost"] is None


def test_the_training_status_line_says_the_jobs_billed_time_and_price() -> None:
    step: StateRun = replace(check_data(), name="GetTrainingStatus", output=COSTED)

    assert state_facts(step) == "Completed, 10 min billable ($0.0192)"
