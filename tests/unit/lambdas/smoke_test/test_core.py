"""SmokeTest against moto's S3, SSM and SageMaker with a fake sagemaker-runtime: the answer judged, the roll-back,
and the settings."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas.common.errors import ConfigurationError, TransientAwsError, transient_aws_errors
from lambdas.smoke_test.core import (
    SmokeTestFailedError,
    SmokeTestInputError,
    SmokeTestResult,
    SmokeTestSettings,
    smoke_test,
)
from tests.unit.lambdas.smoke_test.scenario import (
    BUCKET,
    ENDPOINT,
    NEW,
    PARAMETER,
    PREVIOUS,
    ROWS,
    SETTINGS,
    FakeRuntime,
    csv_body,
    deployment,
    failing,
    judge,
    predictions,
    run_of,
    serving,
    set_watermark,
)
from tests.unit.lambdas.states import run_section

# smoke_test: the answer judged, and the roll-back


def test_a_good_answer_returns_what_was_sent_and_answered(s3: Any, sagemaker: Any, ssm: Any) -> None:
    set_watermark(ssm, endpoint_config_name=PREVIOUS)
    runtime = predictions(5)

    result = judge(s3, runtime, sagemaker, ssm)

    assert result == SmokeTestResult(
        skipped=False, records=5, source=f"s3://{BUCKET}/data/churn/2026-11-20.csv", answers=5
    )
    assert result.to_state() == {"skipped": False, "records": 5, "source": result.source, "answers": 5}
    [call] = runtime.calls
    assert call == {
        "EndpointName": ENDPOINT,
        "ContentType": "text/csv",
        "Body": b"0.5,0\n1.5,2\n2.5,4\n3.5,6\n4.5,8\n",
    }
    assert serving(sagemaker) == NEW


def test_the_accept_setting_is_sent_and_read_when_the_answer_names_no_type(s3: Any, sagemaker: Any, ssm: Any) -> None:
    runtime = FakeRuntime(b"1\n2\n3\n4\n5\n", content_type=None)

    result = judge(s3, runtime, sagemaker, ssm, settings=replace(SETTINGS, accept="text/csv"))

    assert result.answers == 5
    assert runtime.calls[0]["Accept"] == "text/csv"


def test_a_file_with_fewer_records_is_judged_on_the_records_it_has(s3: Any, sagemaker: Any, ssm: Any) -> None:
    run = run_of(s3, {"2026-11-20.csv": csv_body(ROWS[:2])})

    result = judge(s3, predictions(2), sagemaker, ssm, run=run)

    assert (result.records, result.answers) == (2, 2)


def test_an_error_answer_rolls_the_endpoint_back_to_the_watermarks_config(s3: Any, sagemaker: Any, ssm: Any) -> None:
    # GIVEN a watermark naming the config the last deployed run served
    set_watermark(ssm, endpoint_config_name=PREVIOUS)

    # WHEN the new model answers the records with an error
    with pytest.raises(SmokeTestFailedError) as raised:
        judge(s3, failing(message='Received server error (500) from primary with message "boom".'), sagemaker, ssm)

    # THEN the endpoint is updated back to that config, and the error says what failed and what was done
    assert serving(sagemaker) == PREVIOUS
    message = str(raised.value)
    assert message.startswith(
        f"endpoint {ENDPOINT} on config {NEW} answered 5 record(s) of s3://{BUCKET}/data/churn/2026-11-20.csv with "
        'ModelError: Received server error (500) from primary with message "boom".'
    )
    assert f"the endpoint is rolled back to {PREVIOUS}" in message


@pytest.mark.parametrize(
    ("runtime", "problem"),
    [
        (predictions(4), "4 prediction(s) for 5 record(s)"),
        (predictions(6), "6 prediction(s) for 5 record(s)"),
        (FakeRuntime(b"<html>oops</html>", "text/html"), "an answer that does not parse as text/html: '<html>oops"),
        (FakeRuntime(b'{"predictions": [1,', "application/json"), "does not parse as application/json"),
        (FakeRuntime(b"1,2,3,4,5", "text/csv"), "1 prediction(s) for 5 record(s): '1,2,3,4,5'"),
    ],
    ids=["too few", "too many", "html", "cut json", "csv on one line"],
)
def test_an_answer_that_is_not_one_prediction_per_record_rolls_back(
    s3: Any, sagemaker: Any, ssm: Any, runtime: FakeRuntime, problem: str
) -> None:
    set_watermark(ssm, endpoint_config_name=PREVIOUS)

    with pytest.raises(SmokeTestFailedError) as raised:
        judge(s3, runtime, sagemaker, ssm)

    assert serving(sagemaker) == PREVIOUS
    assert problem in str(raised.value)
    assert f"rolled back to {PREVIOUS}" in str(raised.value)


def test_a_long_answer_is_quoted_only_in_part(s3: Any, sagemaker: Any, ssm: Any) -> None:
    set_watermark(ssm, endpoint_config_name=PREVIOUS)
    body = json.dumps({"predictions": [{"score": 0.123456789}] * 500}).encode()

    with pytest.raises(SmokeTestFailedError) as raised:
        judge(s3, FakeRuntime(body), sagemaker, ssm)

    assert "500 prediction(s) for 5 record(s)" in str(raised.value)
    assert len(str(raised.value)) < 1000  # a state's error cause, a Slack alert: not the whole answer


@pytest.mark.parametrize(
    "watermark",
    [None, {}, {"endpoint_config_name": None}, {"endpoint_config_name": NEW}],
    ids=["no watermark", "no config named", "config null", "this run's config"],
)
def test_with_no_earlier_config_nothing_is_rolled_back_and_the_error_says_so(
    s3: Any, sagemaker: Any, ssm: Any, watermark: dict[str, Any] | None
) -> None:
    # GIVEN the first deployment (or a watermark that names no earlier config)
    if watermark is not None:
        set_watermark(ssm, **watermark)

    # WHEN the model answers with an error
    with pytest.raises(SmokeTestFailedError) as raised:
        judge(s3, failing(), sagemaker, ssm)

    # THEN the endpoint keeps the new model, and the error says why
    assert serving(sagemaker) == NEW
    assert str(raised.value).endswith(
        "no earlier endpoint config to roll back to (the first deployment): the endpoint keeps the new model"
    )


def test_a_deleted_earlier_config_is_named_and_the_endpoint_keeps_the_new_model(
    s3: Any, sagemaker: Any, ssm: Any
) -> None:
    set_watermark(ssm, endpoint_config_name=PREVIOUS)
    sagemaker.delete_endpoint_config(EndpointConfigName=PREVIOUS)

    with pytest.raises(SmokeTestFailedError) as raised:
        judge(s3, failing(), sagemaker, ssm)

    assert serving(sagemaker) == NEW
    assert str(raised.value).endswith(
        f"the earlier endpoint config {PREVIOUS} no longer exists: the endpoint keeps the new model"
    )


class ThrottledDescribe:
    """SageMaker whose DescribeEndpointConfig is throttled; every other call goes to moto."""

    def __init__(self, sagemaker: Any) -> None:
        self.sagemaker = sagemaker

    def describe_endpoint_config(self, **request: Any) -> Any:
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise ClientError(error, "DescribeEndpointConfig")  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sagemaker, name)


def test_a_throttled_look_at_the_earlier_config_is_retried_not_taken_for_a_deleted_one(
    s3: Any, sagemaker: Any, ssm: Any
) -> None:
    # GIVEN an earlier config that exists, but SageMaker throttles the look at it
    set_watermark(ssm, endpoint_config_name=PREVIOUS)

    # WHEN the model answers with an error, THEN the step fails for a retry (the step's Retry asks again) instead
    # of reporting the config gone and leaving the bad model serving
    with pytest.raises(TransientAwsError), transient_aws_errors():
        judge(s3, failing(), ThrottledDescribe(sagemaker), ssm)
    assert serving(sagemaker) == NEW


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("ServiceUnavailable", 503),
        ("InternalFailure", 500),
        ("InternalDependencyException", 530),
    ],
)
def test_sagemakers_own_failures_are_retried_not_rolled_back(
    s3: Any, sagemaker: Any, ssm: Any, code: str, status: int
) -> None:
    set_watermark(ssm, endpoint_config_name=PREVIOUS)

    with pytest.raises(ClientError) as raised:
        judge(s3, failing(code, "Rate exceeded", status), sagemaker, ssm)

    assert raised.value.response["Error"]["Code"] == code
    assert serving(sagemaker) == NEW
    # ... and the handler raises it as the error name the state machine's Retry matches
    with pytest.raises(TransientAwsError), transient_aws_errors():
        raise raised.value


@pytest.mark.parametrize(
    ("code", "status"),
    [("ModelError", 424), ("ValidationError", 400)],
)
def test_the_models_own_errors_roll_back(s3: Any, sagemaker: Any, ssm: Any, code: str, status: int) -> None:
    set_watermark(ssm, endpoint_config_name=PREVIOUS)

    with pytest.raises(SmokeTestFailedError, match=f"with {code}: boom"):
        judge(s3, failing(code, "boom", status), sagemaker, ssm)

    assert serving(sagemaker) == PREVIOUS


def test_an_input_error_leaves_the_endpoint_alone(s3: Any, sagemaker: Any, ssm: Any) -> None:
    set_watermark(ssm, endpoint_config_name=PREVIOUS)
    runtime = predictions(5)

    with pytest.raises(SmokeTestInputError):
        judge(s3, runtime, sagemaker, ssm, run=run_of(s3, {"2026-11-20.csv": b""}))

    assert runtime.calls == []
    assert serving(sagemaker) == NEW


def test_with_the_smoke_test_off_nothing_is_read_or_sent(s3: Any, sagemaker: Any, ssm: Any) -> None:
    runtime = predictions(5)
    run = run_section(manifest_uri=f"s3://{BUCKET}/manifests/churn/missing.manifest")

    result = judge(s3, runtime, sagemaker, ssm, run=run, settings=None)

    assert result == SmokeTestResult(skipped=True)
    assert result.to_state() == {"skipped": True, "records": 0, "source": None, "answers": 0}
    assert runtime.calls == []


# SmokeTestSettings.from_env


def test_settings_are_read_from_the_variable_the_stack_writes() -> None:
    spec = {"records": 3, "input_filter": "$[1:]", "content_type": "text/csv", "accept": None, "header": True}

    settings = SmokeTestSettings.from_env({"SMOKE_TEST": json.dumps(spec), "WATERMARK_PARAMETER": PARAMETER})

    assert settings == SmokeTestSettings(
        records=3,
        input_filter="$[1:]",
        content_type="text/csv",
        accept=None,
        header=True,
        watermark_parameter=PARAMETER,
    )


@pytest.mark.parametrize("value", [None, "", "  "])
def test_no_variable_means_the_smoke_test_is_off(value: str | None) -> None:
    env = {"WATERMARK_PARAMETER": PARAMETER} | ({} if value is None else {"SMOKE_TEST": value})

    assert SmokeTestSettings.from_env(env) is None


@pytest.mark.parametrize(
    "value",
    ["records=5", "[5]", "null", "5", "{}", '{"records": 5}', '{"content_type": "text/csv"}', '{"records": "x"}'],
)
def test_a_malformed_variable_is_a_configuration_error_naming_it(value: str) -> None:
    with pytest.raises(ConfigurationError, match="environment variable SMOKE_TEST is not a smoke test"):
        SmokeTestSettings.from_env({"SMOKE_TEST": value, "WATERMARK_PARAMETER": PARAMETER})


def test_the_watermark_parameter_is_required_with_the_smoke_test_on() -> None:
    with pytest.raises(ConfigurationError, match="environment variable WATERMARK_PARAMETER is not set"):
        SmokeTestSettings.from_env({"SMOKE_TEST": '{"records": 5, "content_type": "text/csv"}'})


def test_after_an_operators_rollback_a_bad_model_is_rolled_back_to_what_served_before_it(
    s3: Any, sagemaker: Any, ssm: Any
) -> None:
    # GIVEN an operator rolled the endpoint back from PREVIOUS (the watermark still names it, as documented) to an
    # older model's config, and this run then deployed NEW over it
    rolled_back = "churn-rollback-20261121120000"
    sagemaker.create_endpoint_config(
        EndpointConfigName=rolled_back,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": PREVIOUS,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=rolled_back)
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=NEW)
    set_watermark(ssm, endpoint_config_name=PREVIOUS)

    # WHEN the new model answers with an error (DeployModel recorded the config it replaced)
    with pytest.raises(SmokeTestFailedError):
        judge(s3, failing(), sagemaker, ssm, deployed=replace(deployment(), previous_endpoint_config=rolled_back))

    # THEN the endpoint goes back to the config it served before this deployment, not to the one rolled away from
    assert serving(sagemaker) == rolled_back


def test_the_failed_models_version_is_marked_rejected_so_no_rollback_picks_it(
    s3: Any, sagemaker: Any, ssm: Any
) -> None:
    # GIVEN the run registered its model Approved before deploying it
    sagemaker.create_model_package_group(ModelPackageGroupName="churn-models")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn-models",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://b/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    set_watermark(ssm, endpoint_config_name=PREVIOUS)

    # WHEN the deployed model answers the smoke test with an error
    with pytest.raises(SmokeTestFailedError) as raised:
        smoke_test(
            run_of(s3, {"2026-11-20.csv": csv_body(ROWS)}),
            deployment(),
            s3=s3,
            runtime=failing(),
            sagemaker=sagemaker,
            ssm=ssm,
            settings=SETTINGS,
            model_package_arn=arn,
        )

    # THEN its version is Rejected, saying why, and the error says so too
    version = sagemaker.describe_model_package(ModelPackageName=arn)
    assert version["ModelApprovalStatus"] == "Rejected"
    assert version["ApprovalDescription"].startswith("failed the smoke test after deployment: endpoint")
    assert str(raised.value).endswith("version 1 is now Rejected")
