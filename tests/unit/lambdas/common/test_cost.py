"""What a run's jobs cost: usages read from SageMaker's describe answers, priced, and added up per run."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from lambdas.common.cost import (
    JobUsage,
    Prices,
    RunCost,
    human_seconds,
    processing_usage,
    run_cost,
    training_usage,
    transform_usage,
    usd_text,
)
from lambdas.common.errors import ConfigurationError

PRICES = Prices(per_hour={"training": {"ml.m5.large": 0.115}, "processing": {"ml.m5.xlarge": 0.23}})


def training_job(**overrides: object) -> dict[str, object]:
    return {
        "TrainingJobName": "churn-1",
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 30},
        "TrainingTimeInSeconds": 3600,
        "BillableTimeInSeconds": 3600,
        **overrides,
    }


def usage(kind: str = "training", **fields: object) -> JobUsage:
    values: dict[str, object] = {
        "job_name": f"churn-1-{kind}",
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "seconds": 60,
        "billable_seconds": 60,
        "usd_per_hour": 0.115,
        **fields,
    }
    return JobUsage(kind=kind, **values)  # type: ignore[arg-type]


def test_prices_come_from_the_prices_variable() -> None:
    env = {"PRICES": json.dumps({"training": {"ml.m5.large": 0.115}, "transform": {}})}

    prices = Prices.from_env(env)

    assert prices.of("training", "ml.m5.large") == 0.115
    assert prices.of("transform", "ml.m5.large") is None
    assert prices.of("processing", None) is None


def test_without_the_prices_variable_nothing_has_a_price() -> None:
    assert Prices.from_env({}).of("training", "ml.m5.large") is None


@pytest.mark.parametrize(
    "raw",
    ["{", '["ml.m5.large"]', '{"gpu": {}}', '{"training": {"ml.m5.large": "cheap"}}', '{"training": {"x": -1}}'],
)
def test_a_malformed_prices_variable_is_a_configuration_error_naming_it(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="PRICES"):
        Prices.from_env({"PRICES": raw})


def test_a_training_job_is_billed_per_instance_for_its_billable_time() -> None:
    # GIVEN a finished two-instance job of an hour, at $0.115 an instance-hour
    job = training_usage(training_job(), PRICES)

    # THEN SageMaker's billable time counts once per instance (DescribeTrainingJob: BillableTimeInSeconds * count)
    assert (job.instance_type, job.instance_count, job.seconds, job.billable_seconds) == ("ml.m5.large", 2, 3600, 3600)
    assert job.instance_seconds == 7200
    assert job.estimated_usd == pytest.approx(0.23)
    assert job.spot is False


def test_a_running_training_job_has_no_time_yet() -> None:
    job = training_usage(training_job(TrainingTimeInSeconds=None, BillableTimeInSeconds=None), PRICES)

    assert job.instance_seconds is None
    assert job.estimated_usd is None
    assert run_cost({"training": {"usage": job.to_json()}}).summary() is None


def test_a_spot_training_job_saves_what_was_not_billed() -> None:
    # GIVEN a Managed Spot job billed for 100 of its 500 seconds (the API reference's own example: 80%)
    job = training_usage(
        training_job(EnableManagedSpotTraining=True, TrainingTimeInSeconds=500, BillableTimeInSeconds=100), PRICES
    )

    cost = RunCost(jobs=(job,))

    assert job.spot is True
    assert cost.spot_savings == pytest.approx(0.8)
    assert cost.summary() == "3 min 20 s billable (spot saved 80%), estimated $0.0064"


def test_processing_and_transform_jobs_last_from_start_to_end() -> None:
    start, end = datetime(2026, 11, 22, 8, 0, 0), datetime(2026, 11, 22, 8, 5, 30)
    processing = processing_usage(
        {
            "ProcessingJobName": "churn-1-pre",
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}},
            "ProcessingStartTime": start,
            "ProcessingEndTime": end,
        },
        PRICES,
    )
    transform = transform_usage(
        {
            "TransformJobName": "churn-1-day",
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 3},
            "TransformStartTime": start,
        },
        PRICES,
    )

    assert (processing.kind, processing.seconds, processing.billable_seconds) == ("processing", 330, 330)
    assert processing.estimated_usd == pytest.approx(330 / 3600 * 0.23)
    assert (transform.kind, transform.instance_count, transform.seconds) == ("transform", 3, None)
    assert transform.usd_per_hour is None  # the table has no transform price


def test_a_run_adds_up_its_jobs_and_names_the_ones_without_a_price() -> None:
    # GIVEN a state whose training, evaluation (two jobs) and batch transform recorded their usage
    state = {
        "training": {"usage": usage("training", billable_seconds=120).to_json()},
        "holdout_evaluation": {
            "usage": [
                usage("transform", usd_per_hour=None).to_json(),
                usage("transform", job_name="churn-1-prod", usd_per_hour=None).to_json(),
            ]
        },
        "batch_transform": {"usage": usage("transform", instance_type="ml.c5.xlarge", usd_per_hour=None).to_json()},
        "preprocessing": {"usage": None},
        "run": {"usage": usage().to_json()},  # not a job's section
    }

    cost = run_cost(state)

    assert [job.job_name for job in cost.jobs] == [
        "churn-1-training",
        "churn-1-transform",
        "churn-1-prod",
        "churn-1-transform",
    ]
    assert cost.billable_seconds == 300
    assert cost.estimated_usd == pytest.approx(120 / 3600 * 0.115)
    assert cost.unpriced == ("transform ml.m5.large", "transform ml.c5.xlarge")
    assert cost.spot_savings is None
    assert cost.summary() == (
        "5 min billable, estimated $0.0038 (no price for transform ml.m5.large, transform ml.c5.xlarge)"
    )
    assert cost.to_json()["estimated_usd"] == pytest.approx(0.003833, abs=1e-6)
    assert cost.to_json()["jobs"][1]["estimated_usd"] is None


def test_a_state_from_before_usages_existed_costs_nothing_known() -> None:
    cost = run_cost({"training": {"job_name": "churn-1"}, "holdout_evaluation": {"usage": [{"kind": 3}, "x"]}})

    assert cost.jobs == ()
    assert cost.billable_seconds is None
    assert cost.to_json()["estimated_usd"] is None


def test_a_run_whose_jobs_have_no_price_costs_unknown() -> None:
    cost = RunCost(jobs=(usage("transform", usd_per_hour=None),))

    assert cost.estimated_usd is None
    assert cost.summary() == "1 min billable, estimated unknown (no price for transform ml.m5.large)"


def test_a_usage_reads_back_what_it_wrote() -> None:
    job = usage("training", spot=True, seconds=500, billable_seconds=100)

    assert JobUsage.from_json(json.loads(json.dumps(job.to_json()))) == job


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45, "45 s"), (60, "1 min"), (725, "12 min 5 s"), (7380, "2 h 3 min"), (7200, "2 h")],
)
def test_seconds_read_as_people_say_them(seconds: int, text: str) -> None:
    assert human_seconds(seconds) == text


@pytest.mark.parametrize(("usd", "text"), [(0.0011499, "$0.0011"), (0.23, "$0.2300"), (1234.5, "$1,234.50")])
def test_dollars_show_fractions_of_a_cent_below_a_dollar(usd: float, text: str) -> None:
    assert usd_text(usd) == text
