"""A pipeline's configuration: the documented defaults, and one clear error naming the pipeline and the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from stacks.config import ConfigError, parse_pipelines
from tests.unit.stacks.config.raw import churn, parse_one


def test_minimal_pipeline_gets_the_documented_defaults() -> None:
    # GIVEN only a name and a data prefix / WHEN parsed
    config = parse_one()

    # THEN every other field has its default
    assert config.data_bucket.create
    assert config.data_bucket.name is None
    assert config.manifest_prefix == "manifests/churn"
    assert config.model_prefix == "models/churn"
    assert config.runs_prefix == "runs/churn"
    assert config.schedule == "rate(1 day)"
    assert config.window_days == 7
    assert config.algorithm.builtin == "linear-learner"
    assert config.algorithm.image is None
    assert dict(config.hyperparameters) == {"predictor_type": "regressor"}
    assert (config.training.instance_type, config.training.instance_count) == ("ml.m5.large", 1)
    assert (config.training.volume_size_gb, config.training.max_runtime_seconds) == (30, 86_400)
    assert (config.training.validate_data, config.training.max_files_per_run) == (True, 100_000)
    assert (config.endpoint.name, config.endpoint.instance_type, config.endpoint.instance_count) == (
        "churn",
        "ml.m5.large",
        1,
    )
    assert (
        config.polling.interval_seconds,
        config.polling.max_training_wait_seconds,
        config.polling.max_deployment_wait_seconds,
    ) == (60, 86_400, 3_600)
    assert config.slack is None
    assert config.log_retention_days == 30
    assert config.housekeeping.keep_last == 5
    assert config.alerts is None


def test_housekeeping_keeps_the_configured_number() -> None:
    assert parse_one(housekeeping={"keep_last": 2}).housekeeping.keep_last == 2
    assert parse_one(housekeeping={}).housekeeping.keep_last == 5


def test_config_is_frozen() -> None:
    config = parse_one()

    with pytest.raises(ValidationError, match="frozen"):
        config.window_days = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.hyperparameters["predictor_type"] = "x"  # type: ignore[index]


def test_full_pipeline_is_parsed() -> None:
    # GIVEN every field set
    config = parse_one(
        data_bucket={"name": "my-existing.bucket-1"},
        manifest_prefix="runs/manifests",
        model_prefix="runs/models",
        schedule="cron(0 6 ? * MON-FRI *)",
        window_days=366,
        algorithm={
            "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:v1.2",
            "inference_image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/server@sha256:" + "a" * 64,
        },
        hyperparameters={"epochs": 10, "learning_rate": 0.05, "use_bias": True, "mode": "fast"},
        training={
            "instance_type": "ml.p4d.24xlarge",
            "instance_count": 2,
            "volume_size_gb": 100,
            "max_runtime_seconds": 3_600,
            "validate_data": False,
            "max_files_per_run": 1_000_000,
        },
        endpoint={"name": "Churn-Endpoint", "instance_type": "ml.c5.xlarge", "instance_count": 3},
        polling={"interval_seconds": 120, "max_training_wait_seconds": 7_200, "max_deployment_wait_seconds": 1_800},
        slack={"channel": "C0123ABCD", "token_secret_name": "slack/ml-bot"},
        log_retention_days=90,
    )

    # THEN the values are typed and the images parsed
    assert config.data_bucket.name == "my-existing.bucket-1"
    assert not config.data_bucket.create
    assert config.algorithm.builtin is None
    assert config.algorithm.image is not None
    assert config.algorithm.image.repository == "team/trainer"
    assert config.algorithm.image.account == "123456789012"
    assert config.algorithm.image.region == "eu-west-1"
    assert config.algorithm.inference_image is not None
    assert config.algorithm.inference_image.repository == "team/server"
    # non-string hyperparameters become the strings SageMaker expects; no predictor_type for a custom image
    assert dict(config.hyperparameters) == {
        "epochs": "10",
        "learning_rate": "0.05",
        "use_bias": "true",
        "mode": "fast",
    }
    assert (config.training.validate_data, config.training.max_files_per_run) == (False, 1_000_000)
    assert config.endpoint.name == "Churn-Endpoint"
    assert config.slack is not None
    assert config.slack.token_secret_name == "slack/ml-bot"
    assert config.slack.token_kms_key_arn is None


@pytest.mark.parametrize(
    "key_arn",
    [
        "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d",
    ],
)
def test_slack_token_secret_may_name_its_customer_managed_key(key_arn: str) -> None:
    config = parse_one(
        slack={"channel": "#ml-alerts", "token_secret_name": "slack/ml-bot", "token_kms_key_arn": key_arn}
    )

    assert config.slack is not None
    assert config.slack.token_kms_key_arn == key_arn


def test_alert_emails_are_kept_in_order() -> None:
    # GIVEN two addresses for the alarms / WHEN parsed
    config = parse_one(alerts={"email": ["ops@example.com", "ml-team+alarms@corp.example.co.uk"]})

    # THEN both are kept as given
    assert config.alerts is not None
    assert config.alerts.email == ("ops@example.com", "ml-team+alarms@corp.example.co.uk")


@pytest.mark.parametrize("predictor_type", ["binary_classifier", "multiclass_classifier", "regressor"])
def test_linear_learner_accepts_its_predictor_types(predictor_type: str) -> None:
    config = parse_one(hyperparameters={"predictor_type": predictor_type, "epochs": 5})

    assert dict(config.hyperparameters) == {"predictor_type": predictor_type, "epochs": "5"}


@pytest.mark.parametrize(
    "schedule",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "cron(0 6 * * ? *)",
        "cron(15 10 ? * 6L 2026-2030)",
    ],
)
def test_valid_schedules_are_accepted(schedule: str) -> None:
    assert parse_one(schedule=schedule).schedule == schedule


@pytest.mark.parametrize(
    "uri",
    [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer",
        "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/a/b-c_d.e:latest",
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/trainer:1",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:" + "0" * 64,
    ],
)
def test_ecr_image_uris_are_accepted(uri: str) -> None:
    config = parse_one(algorithm={"image_uri": uri})

    assert config.algorithm.image is not None
    assert config.algorithm.image.uri == uri


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"window_days": 0}, "pipeline 'churn': window_days must be an integer between 1 and 366, got 0"),
        ({"window_days": 367}, "pipeline 'churn': window_days must be an integer between 1 and 366"),
        ({"window_days": "7"}, "pipeline 'churn': window_days must be an integer"),
        ({"window_days": True}, "pipeline 'churn': window_days must be an integer"),
        ({"window_days": 7.0}, "pipeline 'churn': window_days must be an integer"),
        ({"data_prefix": None}, "pipeline 'churn': data_prefix is required"),
        ({"data_prefix": "/data/churn"}, "pipeline 'churn': data_prefix must not start or end with '/'"),
        ({"data_prefix": "data/churn/"}, "pipeline 'churn': data_prefix must not start or end with '/'"),
        ({"data_prefix": "data//churn"}, "pipeline 'churn': data_prefix must be '/'-separated segments"),
        ({"data_prefix": "data/*"}, "pipeline 'churn': data_prefix must be '/'-separated segments"),
        ({"data_prefix": "data/../x"}, "pipeline 'churn': data_prefix must be '/'-separated segments"),
        ({"manifest_prefix": "data/churn/manifests"}, "pipeline 'churn': manifest_prefix 'data/churn/manifests'"),
        ({"model_prefix": "data"}, "pipeline 'churn': model_prefix 'data' overlaps data_prefix"),
        ({"manifest_prefix": "out", "model_prefix": "out/models"}, "pipeline 'churn': model_prefix 'out/models'"),
        ({"runs_prefix": "models/churn/runs"}, "pipeline 'churn': runs_prefix 'models/churn/runs' overlaps model_"),
        ({"runs_prefix": "runs/*"}, "pipeline 'churn': runs_prefix must be '/'-separated segments"),
        ({"data_bucket": {"name": "Bad_Bucket"}}, "pipeline 'churn': data_bucket.name must be a valid S3 bucket"),
        ({"data_bucket": {"name": "ab"}}, "pipeline 'churn': data_bucket.name must be a valid S3 bucket"),
        ({"data_bucket": {"name": "a..b"}}, "pipeline 'churn': data_bucket.name must be a valid S3 bucket"),
        ({"data_bucket": {"name": "192.168.1.1"}}, "pipeline 'churn': data_bucket.name must be a valid S3"),
        ({"data_bucket": {"name": "xn--bucket"}}, "pipeline 'churn': data_bucket.name must be a valid S3"),
        ({"data_bucket": {"name": "b-s3alias"}}, "pipeline 'churn': data_bucket.name must be a valid S3"),
        ({"data_bucket": {"create": False}}, "pipeline 'churn': data_bucket.create must be true"),
        ({"data_bucket": {"create": True, "name": "abc"}}, "pipeline 'churn': data_bucket.name and create"),
        ({"data_bucket": "abc"}, "pipeline 'churn': data_bucket must be an object"),
        ({"algorithm": {"builtin": "kmeans"}}, "pipeline 'churn': algorithm.builtin must be one of linear"),
        ({"algorithm": {"image_uri": "trainer:latest"}}, "pipeline 'churn': algorithm.image_uri must be an ECR"),
        (
            {"algorithm": {"image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/Trainer"}},
            "pipeline 'churn': algorithm.image_uri must be an ECR image URI",
        ),
        (
            {"algorithm": {"image_uri": "12345.dkr.ecr.eu-west-1.amazonaws.com/trainer"}},
            "pipeline 'churn': algorithm.image_uri must be an ECR image URI",
        ),
        (
            {"algorithm": {"builtin": "linear-learner", "inference_image_uri": "x"}},
            "pipeline 'churn': algorithm.inference_image_uri needs image_uri",
        ),
        (
            {
                "algorithm": {
                    "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/t",
                    "inference_image_uri": "docker.io/server",
                }
            },
            "pipeline 'churn': algorithm.inference_image_uri must be an ECR image URI",
        ),
        (
            {"algorithm": {"builtin": "linear-learner", "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/t"}},
            "pipeline 'churn': algorithm.builtin and image_uri are exclusive",
        ),
        ({"hyperparameters": []}, "pipeline 'churn': hyperparameters must be an object"),
        ({"hyperparameters": {"layers": [1, 2]}}, "pipeline 'churn': hyperparameters.layers must be a string"),
        ({"hyperparameters": {"x": None}}, "pipeline 'churn': hyperparameters.x must be a string"),
        (
            {"hyperparameters": {"predictor_type": "ranker"}},
            "pipeline 'churn': hyperparameters.predictor_type must be one of binary_classifier",
        ),
        ({"training": {"instance_type": "m5.large"}}, "pipeline 'churn': training.instance_type must be"),
        ({"training": {"instance_count": 0}}, "pipeline 'churn': training.instance_count must be an integer"),
        ({"training": {"instance_count": 101}}, "pipeline 'churn': training.instance_count must be an integer"),
        ({"training": {"volume_size_gb": 16385}}, "pipeline 'churn': training.volume_size_gb must be an integer"),
        (
            {"training": {"max_runtime_seconds": 2_419_201}},
            "pipeline 'churn': training.max_runtime_seconds must be an integer between 1 and 2419200",
        ),
        ({"training": {"validate_data": "yes"}}, "pipeline 'churn': training.validate_data must be true or false"),
        ({"training": {"validate_data": 1}}, "pipeline 'churn': training.validate_data must be true or false"),
        (
            {"training": {"max_files_per_run": 0}},
            "pipeline 'churn': training.max_files_per_run must be an integer between 1 and 1000000",
        ),
        (
            {"training": {"max_files_per_run": 1_000_001}},
            "pipeline 'churn': training.max_files_per_run must be an integer between 1 and 1000000",
        ),
        (
            {"training": {"max_files_per_run": True}},
            "pipeline 'churn': training.max_files_per_run must be an integer",
        ),
        ({"endpoint": {"name": "-churn"}}, "pipeline 'churn': endpoint.name must be a SageMaker name"),
        ({"endpoint": {"name": "churn_endpoint"}}, "pipeline 'churn': endpoint.name must be a SageMaker name"),
        ({"endpoint": {"name": "a" * 64}}, "pipeline 'churn': endpoint.name must be a SageMaker name"),
        ({"endpoint": {"instance_count": 0}}, "pipeline 'churn': endpoint.instance_count must be an integer"),
        ({"endpoint": {"instance_type": "ml.m5"}}, "pipeline 'churn': endpoint.instance_type must be"),
        ({"polling": {"interval_seconds": 0}}, "pipeline 'churn': polling.interval_seconds must be an integer"),
        ({"polling": {"interval_seconds": 3601}}, "pipeline 'churn': polling.interval_seconds must be an integer"),
        (
            {"polling": {"max_deployment_wait_seconds": 0}},
            "pipeline 'churn': polling.max_deployment_wait_seconds must be an integer",
        ),
        ({"slack": {"channel": "#ml-alerts"}}, "pipeline 'churn': slack.token_secret_name is required"),
        ({"slack": {"token_secret_name": "slack/bot"}}, "pipeline 'churn': slack.channel is required"),
        (
            {"slack": {"channel": "ml alerts", "token_secret_name": "slack/bot"}},
            "pipeline 'churn': slack.channel must be a channel name",
        ),
        (
            {"slack": {"channel": "#ml", "token_secret_name": "xoxb 123"}},
            "pipeline 'churn': slack.token_secret_name must be the name of a Secrets Manager secret",
        ),
        ({"slack": "#ml-alerts"}, "pipeline 'churn': slack must be an object"),
        (
            {"slack": {"channel": "#ml", "token_secret_name": "s", "token_kms_key_arn": "alias/slack"}},
            "pipeline 'churn': slack.token_kms_key_arn must be the ARN of the KMS key",
        ),
        (
            {
                "slack": {
                    "channel": "#ml",
                    "token_secret_name": "s",
                    "token_kms_key_arn": "arn:aws:kms:us-east-1:111122223333:alias/slack",
                }
            },
            "pipeline 'churn': slack.token_kms_key_arn must be the ARN of the KMS key",
        ),
        ({"log_retention_days": 31}, "pipeline 'churn': log_retention_days must be one of 1, 3, 5"),
        ({"log_retention_days": 0}, "pipeline 'churn': log_retention_days must be one of"),
        # One to serve and one to roll back to, at least.
        ({"housekeeping": {"keep_last": 1}}, "pipeline 'churn': housekeeping.keep_last must be an integer between 2"),
        ({"housekeeping": {"keep_last": 1001}}, "pipeline 'churn': housekeeping.keep_last must be an integer"),
        ({"housekeeping": {"keep_last": "5"}}, "pipeline 'churn': housekeeping.keep_last must be an integer"),
        ({"housekeeping": {"keep_last": True}}, "pipeline 'churn': housekeeping.keep_last must be an integer"),
        ({"housekeeping": {"keep": 3}}, "pipeline 'churn': unknown field 'housekeeping.keep'"),
        ({"housekeeping": 3}, "pipeline 'churn': housekeeping must be an object"),
        ({"alerts": "ops@example.com"}, "pipeline 'churn': alerts must be an object"),
        ({"alerts": {}}, "pipeline 'churn': alerts.email is required: a non-empty list of email addresses"),
        ({"alerts": {"email": []}}, "pipeline 'churn': alerts.email must be a non-empty list"),
        ({"alerts": {"email": "ops@example.com"}}, "pipeline 'churn': alerts.email must be a non-empty list"),
        ({"alerts": {"email": ["ops"]}}, "pipeline 'churn': alerts.email[0] must be an email address"),
        ({"alerts": {"email": ["a@example.com", "ops@localhost"]}}, "pipeline 'churn': alerts.email[1] must be"),
        ({"alerts": {"email": ["ops team@example.com"]}}, "pipeline 'churn': alerts.email[0] must be an email"),
        ({"alerts": {"email": ["ops@example..com"]}}, "pipeline 'churn': alerts.email[0] must be an email"),
        (
            {"alerts": {"email": [7]}},
            "pipeline 'churn': alerts.email[0] must be an email address like ops@example.com, got 7",
        ),
        ({"alerts": {"email": [f"{'a' * 250}@example.com"]}}, "pipeline 'churn': alerts.email[0] must be an email"),
        (
            {"alerts": {"email": ["ops@example.com", "OPS@example.com"]}},
            "pipeline 'churn': alerts.email[1] repeats 'OPS@example.com'",
        ),
        (
            {"alerts": {"email": [f"ops{n}@example.com" for n in range(21)]}},
            "pipeline 'churn': alerts.email may hold at most 20 addresses, got 21",
        ),
        ({"alerts": {"emails": ["ops@example.com"]}}, "pipeline 'churn': unknown field 'alerts.emails'"),
    ],
)
def test_invalid_field_is_rejected_naming_pipeline_and_field(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_pipelines([churn(**fields)])

    assert str(raised.value).startswith(expected), str(raised.value)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"windows_days": 3}, "pipeline 'churn': unknown field 'windows_days' (did you mean 'window_days'?)"),
        ({"training": {"instance_typ": "ml.m5.large"}}, "pipeline 'churn': unknown field 'training.instance_typ'"),
        ({"slack": {"channel": "#a", "token_secret_name": "s", "token": "xoxb-1"}}, "unknown field 'slack.token'"),
        ({"data_bucket": {"bucket": "x"}}, "pipeline 'churn': unknown field 'data_bucket.bucket'"),
        (
            {"algorithm": {"builtin": "linear-learner", "versions": 1}},
            "unknown field 'algorithm.versions' (did you mean 'algorithm.version'?)",
        ),
        ({"endpoint": {"nme": "x"}}, "pipeline 'churn': unknown field 'endpoint.nme'"),
        ({"polling": {"interval": 60}}, "pipeline 'churn': unknown field 'polling.interval'"),
    ],
)
def test_unknown_fields_are_rejected(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(**fields)

    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("fields", "read"),
    [
        ({"window_days": None}, lambda config: config.window_days == 7),
        ({"training": {"instance_type": None}}, lambda config: config.training.instance_type == "ml.m5.large"),
        ({"endpoint": {"name": None}}, lambda config: config.endpoint.name == "churn"),
        ({"housekeeping": None}, lambda config: config.housekeeping.keep_last == 5),
    ],
    ids=["top-level", "nested", "derived", "section"],
)
def test_null_takes_the_default_as_leaving_the_field_out_does(fields: dict[str, Any], read: Any) -> None:
    assert read(parse_one(**fields))


def test_an_endpoint_section_without_a_name_is_named_after_the_pipeline() -> None:
    config = parse_one(endpoint={"instance_count": 2})

    assert (config.endpoint.name, config.endpoint.instance_count) == ("churn", 2)


def test_a_misspelt_field_is_reported_rather_than_the_required_one_it_leaves_out() -> None:
    with pytest.raises(ConfigError, match=r"unknown field 'slack\.channnel' \(did you mean 'slack\.channel'\?\)"):
        parse_one(slack={"channnel": "#ml", "token_secret_name": "slack/bot"})
