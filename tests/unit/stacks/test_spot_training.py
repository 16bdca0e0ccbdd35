"""A pipeline with Managed Spot training: StartTrainingJob knows the max wait, the wait loop covers it, and the
SageMaker role may sync the jobs' checkpoint folders."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from lambdas.common import env
from tests.unit.stacks.synth import environment, flatten, pipeline, pipeline_template, resources_for, role_statements
from tests.unit.stacks.test_pipeline_stack import sagemaker_role_id

CHECKPOINTS = "models/churn/*/checkpoints"


@pytest.fixture(scope="module")
def template() -> Template:
    return pipeline_template(
        pipeline(
            name="churn",
            algorithm={"builtin": "xgboost"},
            hyperparameters={"num_round": 10},
            training={"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 7_200}},
        )
    )


@pytest.fixture(scope="module")
def on_demand() -> Template:
    return pipeline_template(pipeline(name="churn"))


def test_start_training_job_gets_the_max_wait_and_get_status_waits_past_it(template: Template) -> None:
    assert environment(template, "StartTrainingJob")[env.TRAINING_SPOT_MAX_WAIT_SECONDS] == "7200"
    # max wait plus the margin for Stopping, since the config leaves polling.max_training_wait_seconds out
    assert environment(template, "GetStatus")[env.MAX_TRAINING_WAIT_SECONDS] == "8100"


def test_an_on_demand_pipeline_sets_no_max_wait(on_demand: Template) -> None:
    assert env.TRAINING_SPOT_MAX_WAIT_SECONDS not in environment(on_demand, "StartTrainingJob")


def test_the_sagemaker_role_may_list_and_delete_in_every_jobs_checkpoint_folder_only(template: Template) -> None:
    statements = role_statements(template, sagemaker_role_id(template))

    deletable = [flatten(resource) for resource in resources_for(statements, "s3:DeleteObject")]
    assert len(deletable) == 1
    assert deletable[0].endswith(f".Arn>/{CHECKPOINTS}/*")
    listings = [s.get("Condition") for s in statements if "s3:ListBucket" in s["Action"]]
    assert {"StringLike": {"s3:prefix": [CHECKPOINTS, f"{CHECKPOINTS}/*"]}} in listings
    # reading and writing them is the model prefix's grant
    writable = [flatten(resource) for resource in resources_for(statements, "s3:PutObject")]
    assert any(resource.endswith("/models/churn/*") for resource in writable)


def test_an_on_demand_pipelines_sagemaker_role_deletes_nothing(on_demand: Template) -> None:
    statements = role_statements(on_demand, sagemaker_role_id(on_demand))

    assert resources_for(statements, "s3:DeleteObject") == []
