"""DeployModel against moto's SageMaker (with the UpdateEndpoint moto lacks, from the local runtime)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambdas.common import env
from lambdas.common.errors import ConfigurationError, EndpointNotUpdatableError, InvalidStepEventError
from lambdas.common.events import Execution
from lambdas.common.inference import ServingPreprocessing
from lambdas.common.models import TrainingJobState
from lambdas.deploy_model.core import DeploySettings, RolloutSettings, deploy_model
from tests.fakes.sagemaker import EndpointInStatus, EndpointUpdating
from tests.unit.lambdas.states import preprocessing_section, training_section

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)

SETTINGS = DeploySettings(
    pipeline="churn",
    endpoint_name="churn",
    instance_type="ml.m5.large",
    instance_count=2,
    image="382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    role_arn="arn:aws:iam::123456789012:role/churn-sagemaker",
    poll_interval_seconds=30,
)


def training(name: str) -> TrainingJobState:
    return training_section(job_name=name, model_artifact=f"s3://b/models/churn/{name}/output/model.tar.gz")


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def test_first_deployment_creates_model_config_and_endpoint(sagemaker: Any, execution: Execution) -> None:
    state = deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    model = sagemaker.describe_model(ModelName="churn-1")
    assert model["PrimaryContainer"]["ModelDataUrl"] == "s3://b/models/churn/churn-1/output/model.tar.gz"
    assert model["PrimaryContainer"]["Image"] == SETTINGS.image
    variant = sagemaker.describe_endpoint_config(EndpointConfigName="churn-1")["ProductionVariants"][0]
    assert (variant["ModelName"], variant["InitialInstanceCount"], variant["InstanceType"]) == (
        "churn-1",
        2,
        "ml.m5.large",
    )
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "churn-1"
    assert (state.action, state.status, state.endpoint_config_name) == ("create", "Creating", "churn-1")


def test_existing_endpoint_is_updated_in_place(sagemaker: Any, execution: Execution) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    state = deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert (state.action, state.status) == ("update", "Updating")
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "churn-2"
    assert len(sagemaker.list_endpoints()["Endpoints"]) == 1


def test_retried_attempt_creates_nothing_twice_and_does_not_update_again(sagemaker: Any, execution: Execution) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    again = deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert again.action == "update"
    assert len(sagemaker.list_models()["Models"]) == 2
    assert len(sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 2


def test_missing_model_artifact_is_rejected_before_creating_anything(sagemaker: Any, execution: Execution) -> None:
    with pytest.raises(InvalidStepEventError, match="no model artifact"):
        deploy_model(training_section(model_artifact=None), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    assert sagemaker.list_models()["Models"] == []


@pytest.mark.parametrize(("status", "message"), [("Updating", "another change"), ("Failed", "accepts no update")])
def test_endpoint_busy_or_failed_is_not_updated(
    sagemaker: Any, execution: Execution, status: str, message: str
) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    with pytest.raises(EndpointNotUpdatableError, match=message):
        deploy_model(
            training("churn-2"),
            execution,
            sagemaker=EndpointInStatus(sagemaker, status),
            settings=SETTINGS,
            now=NOW,
        )

    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "churn-1"


class UpdatingTo(EndpointUpdating):
    """An endpoint in its update that refuses a second UpdateEndpoint."""

    def update_endpoint(self, **kwargs: Any) -> None:
        raise AssertionError("a retried attempt must not ask for the update again")


def test_retry_during_its_own_update_keeps_polling_instead_of_failing(sagemaker: Any, execution: Execution) -> None:
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    again = deploy_model(
        training("churn-2"),
        execution,
        sagemaker=UpdatingTo(sagemaker, "churn-1", "churn-2"),
        settings=SETTINGS,
        now=NOW,
    )

    assert again.action == "update"


# --- guarded rollout ------------------------------------------------------------------------------------------

CANARY = RolloutSettings(
    strategy="canary",
    wait_seconds=600,
    step_percent=25,
    termination_wait_seconds=120,
    max_execution_seconds=1_800,
    alarm_names=("churn-rollout-5xx-errors", "churn-rollout-model-latency"),
)
ROLLOUT_ENVIRONMENT = {
    env.ROLLOUT_STRATEGY: "canary",
    env.ROLLOUT_STEP_PERCENT: "25",
    env.ROLLOUT_WAIT_SECONDS: "600",
    env.ROLLOUT_TERMINATION_WAIT_SECONDS: "120",
    env.ROLLOUT_MAX_EXECUTION_SECONDS: "1800",
    env.ROLLOUT_ALARM_NAMES: "churn-rollout-5xx-errors,churn-rollout-model-latency",
}


def test_an_update_with_a_rollout_asks_for_its_guardrails(sagemaker: Any, execution: Execution) -> None:
    # GIVEN an endpoint serving the last run's model, and a canary rollout configured
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # WHEN the next model is deployed
    deploy_model(
        training("churn-2"), execution, sagemaker=sagemaker, settings=replace(SETTINGS, rollout=CANARY), now=NOW
    )

    # THEN UpdateEndpoint carried the traffic shifting, the bakes and the alarms that roll it back
    assert sagemaker.describe_endpoint(EndpointName="churn")["LastDeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
            "TerminationWaitInSeconds": 120,
            "MaximumExecutionTimeoutInSeconds": 1_800,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": "churn-rollout-5xx-errors"}, {"AlarmName": "churn-rollout-model-latency"}]
        },
    }


def test_the_first_deployment_creates_the_endpoint_without_guardrails(sagemaker: Any, execution: Execution) -> None:
    state = deploy_model(
        training("churn-1"), execution, sagemaker=sagemaker, settings=replace(SETTINGS, rollout=CANARY), now=NOW
    )

    assert state.action == "create"
    assert "LastDeploymentConfig" not in sagemaker.describe_endpoint(EndpointName="churn")


@pytest.mark.parametrize(
    ("strategy", "size"),
    [
        ("all_at_once", None),
        ("canary", ("CanarySize", 25)),
        ("linear", ("LinearStepSize", 25)),
    ],
)
def test_the_rollout_settings_come_from_the_environment(strategy: str, size: tuple[str, int] | None) -> None:
    # GIVEN the variables the stack sets for a strategy (no timeout: SageMaker's default)
    variables = {**ROLLOUT_ENVIRONMENT, env.ROLLOUT_STRATEGY: strategy}
    del variables[env.ROLLOUT_MAX_EXECUTION_SECONDS]

    # WHEN read
    rollout = RolloutSettings.from_env(variables)

    # THEN the request has the strategy's type and size, and no timeout of its own
    assert rollout is not None
    policy = rollout.deployment_config()["BlueGreenUpdatePolicy"]
    routing = policy["TrafficRoutingConfiguration"]
    assert routing["Type"] == strategy.upper()
    assert {k for k in routing if k.endswith("Size")} == ({size[0]} if size else set())
    if size:
        assert routing[size[0]] == {"Type": "CAPACITY_PERCENT", "Value": size[1]}
    assert "MaximumExecutionTimeoutInSeconds" not in policy
    assert rollout.alarm_names == ("churn-rollout-5xx-errors", "churn-rollout-model-latency")


def test_without_a_strategy_there_is_no_rollout() -> None:
    assert RolloutSettings.from_env({}) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({env.ROLLOUT_STRATEGY: "blue_green"}, "ROLLOUT_STRATEGY must be one of all_at_once, canary, linear"),
        ({env.ROLLOUT_ALARM_NAMES: ""}, "ROLLOUT_ALARM_NAMES is not set"),
        ({env.ROLLOUT_ALARM_NAMES: ",".join(f"a{i}" for i in range(11))}, "must name 1 to 10 alarms, got 11"),
        ({env.ROLLOUT_WAIT_SECONDS: "soon"}, "ROLLOUT_WAIT_SECONDS must be an integer"),
        ({env.ROLLOUT_STEP_PERCENT: "0"}, "ROLLOUT_STEP_PERCENT must be at least 1"),
    ],
)
def test_a_malformed_rollout_environment_names_the_variable(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RolloutSettings.from_env({**ROLLOUT_ENVIRONMENT, **changes})


FITTED = "s3://b/preprocessed/churn/churn-1/model/model.tar.gz"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def test_with_preprocessing_the_model_is_a_serial_pipeline_of_the_runs_fitted_artifact(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN a pipeline that pre- and postprocesses, and a run that fitted its preprocessing
    settings = replace(
        SETTINGS,
        preprocessing=ServingPreprocessing(
            image=SKLEARN, entry_point="preprocess.py", postprocess_entry_point="postprocess.py"
        ),
    )
    fitted = preprocessing_section(job_name="churn-1", model_artifact=FITTED)

    # WHEN the model is deployed
    deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=settings, now=NOW, preprocessing=fitted)

    # THEN CreateModel got the three containers, run serially, and no primary container
    model = sagemaker.describe_model(ModelName="churn-1")
    assert [c["ContainerHostname"] for c in model["Containers"]] == ["preprocess", "model", "postprocess"]
    assert [c["ModelDataUrl"] for c in model["Containers"]] == [
        FITTED,
        "s3://b/models/churn/churn-1/output/model.tar.gz",
        FITTED,
    ]
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert not model.get("PrimaryContainer")  # moto describes a model created without one as {}


def test_with_preprocessing_a_run_without_its_artifact_deploys_nothing(sagemaker: Any, execution: Execution) -> None:
    settings = replace(
        SETTINGS, preprocessing=ServingPreprocessing(image=SKLEARN, entry_point="p.py", postprocess_entry_point=None)
    )

    with pytest.raises(InvalidStepEventError, match="preprocessing"):
        deploy_model(
            training("churn-1"), execution, sagemaker=sagemaker, settings=settings, now=NOW, preprocessing=None
        )

    assert sagemaker.list_models()["Models"] == []


def test_the_settings_read_preprocessing_from_the_environment() -> None:
    environment = {
        env.PIPELINE_NAME: "churn",
        env.ENDPOINT_NAME: "churn",
        env.ENDPOINT_INSTANCE_TYPE: "ml.m5.large",
        env.ENDPOINT_INSTANCE_COUNT: "2",
        env.INFERENCE_IMAGE: SETTINGS.image,
        env.SAGEMAKER_ROLE_ARN: SETTINGS.role_arn,
        env.POLL_INTERVAL_SECONDS: "30",
    }

    without = DeploySettings.from_env(environment)
    with_it = DeploySettings.from_env(
        {**environment, env.PREPROCESSING: '{"image": "img", "entry_point": "preprocess.py"}'}
    )

    assert without.preprocessing is None
    assert with_it.preprocessing == ServingPreprocessing(
        image="img", entry_point="preprocess.py", postprocess_entry_point=None
    )


def test_an_update_records_the_config_it_replaces_for_the_smoke_tests_roll_back(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN an endpoint serving an earlier run's config
    first = deploy_model(training("churn-1"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)
    assert first.previous_endpoint_config is None  # a new endpoint replaced nothing

    # WHEN the next run's model is deployed over it
    second = deploy_model(training("churn-2"), execution, sagemaker=sagemaker, settings=SETTINGS, now=NOW)

    # THEN its state names the config it replaced: what a failed smoke test puts back
    assert second.previous_endpoint_config == "churn-1"
