"""The typed configuration: defaults, and one clear error naming the pipeline and the field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from contract.polling import max_polls
from stacks.config import (
    ConfigError,
    PipelineConfig,
    load_app_config,
    parse_pipeline,
    parse_pipelines,
    polls_history_events,
    run_timeout_seconds,
)


def churn(**fields: Any) -> dict[str, Any]:
    return {"name": "churn", "data_prefix": "data/churn", **fields}


def parse_one(**fields: Any) -> PipelineConfig:
    return parse_pipeline(churn(**fields))


def test_minimal_pipeline_gets_the_documented_defaults() -> None:
    # GIVEN only a name and a data prefix / WHEN parsed
    config = parse_one()

    # THEN every other field has its default
    assert config.data_bucket.create and config.data_bucket.name is None
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

    with pytest.raises(AttributeError):
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
    assert config.data_bucket.name == "my-existing.bucket-1" and not config.data_bucket.create
    assert config.algorithm.builtin is None
    assert config.algorithm.image is not None and config.algorithm.image.repository == "team/trainer"
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
    assert config.slack is not None and config.slack.token_secret_name == "slack/ml-bot"
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

    assert config.slack is not None and config.slack.token_kms_key_arn == key_arn


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

    assert config.algorithm.image is not None and config.algorithm.image.uri == uri


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
        ({"schedule": "rate(1 days)"}, "pipeline 'churn': schedule must use 'day' for 1 and 'days' otherwise"),
        ({"schedule": "rate(2 hour)"}, "pipeline 'churn': schedule must use 'hour' for 1 and 'hours'"),
        ({"schedule": "rate(0 minutes)"}, "pipeline 'churn': schedule must be a rate of at least 1"),
        ({"schedule": "rate(1 week)"}, "pipeline 'churn': schedule must be 'rate(N minute"),
        ({"schedule": "every day"}, "pipeline 'churn': schedule must be 'rate(N minute"),
        ({"schedule": "cron(0 6 * * ?)"}, "pipeline 'churn': schedule must be cron(minutes hours"),
        ({"schedule": "cron(0 6 * * * *)"}, "pipeline 'churn': schedule must use '?' in day-of-month"),
        ({"algorithm": {"builtin": "xgboost"}}, "pipeline 'churn': algorithm.builtin must be one of linear"),
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
        ({"alerts": {}}, "pipeline 'churn': alerts.email must be a non-empty list of email addresses, got null"),
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
    ("raw", "expected"),
    [
        ({"data_prefix": "data/x"}, "pipelines[0]: name is required"),
        ({"name": "Churn", "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32 lowercase letters"),
        ({"name": "1churn", "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ({"name": "churn-", "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ({"name": "ch--urn", "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ({"name": "c" * 33, "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ({"name": 7, "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ("churn", "pipelines[0] must be an object"),
    ],
)
def test_missing_or_invalid_name_is_reported_by_position(raw: Any, expected: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(expected)):
        parse_pipelines([raw])


def test_position_counts_from_zero_across_the_list() -> None:
    with pytest.raises(ConfigError, match=r"^pipelines\[2\]: name is required$"):
        parse_pipelines([churn(), churn(name="fraud"), {"data_prefix": "data/x"}])


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"windows_days": 3}, "pipeline 'churn': unknown field 'windows_days' (did you mean 'window_days'?)"),
        ({"training": {"instance_typ": "ml.m5.large"}}, "pipeline 'churn': unknown field 'training.instance_typ'"),
        ({"slack": {"channel": "#a", "token_secret_name": "s", "token": "xoxb-1"}}, "unknown field 'slack.token'"),
        ({"data_bucket": {"bucket": "x"}}, "pipeline 'churn': unknown field 'data_bucket.bucket'"),
        ({"algorithm": {"builtin": "linear-learner", "version": 1}}, "unknown field 'algorithm.version'"),
        ({"endpoint": {"nme": "x"}}, "pipeline 'churn': unknown field 'endpoint.nme'"),
        ({"polling": {"interval": 60}}, "pipeline 'churn': unknown field 'polling.interval'"),
    ],
)
def test_unknown_fields_are_rejected(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_one(**fields)

    assert expected in str(raised.value)


@pytest.mark.parametrize("raw", [None, [], {}, "churn", {"pipelines": []}])
def test_pipelines_must_be_a_non_empty_list(raw: Any) -> None:
    with pytest.raises(ConfigError, match=r"^pipelines must be a non-empty list"):
        parse_pipelines(raw)


def test_polling_within_the_history_budget_is_accepted() -> None:
    # A day of training checked every 10 minutes by the safety net, plus the checks a run with history makes
    # before the expected end: 153 checks at most (contract/polling.py); an hour of deployment: 12.
    # (153 + 12) * 15 + 100 = 2,575 events
    config = parse_one()

    assert polls_history_events(config.polling) == 2_575


def test_days_of_training_fit_the_history_budget() -> None:
    # 72 hours of training at 60 s would be 4,320 polls (43,300 events) with a fixed poll; the policy makes 391 at most
    config = parse_one(polling={"max_training_wait_seconds": 72 * 3600})

    deployment = max_polls(3600, interval_seconds=60)
    assert polls_history_events(config.polling) == (max_polls(72 * 3600, interval_seconds=60) + deployment) * 15 + 100
    assert polls_history_events(config.polling) < 12_000


def test_a_runs_timeout_is_every_wait_at_its_maximum_plus_six_hours_for_the_steps() -> None:
    # a day of training and an hour of deployment (the defaults), an interval (60 s) more for each loop's last
    # check, then 6 h for the steps and their retries
    assert run_timeout_seconds(parse_one()) == 86_400 + 3_600 + 2 * 60 + 6 * 3_600
    # the optional loops and a person's approval add their maximum waits (preprocessing: its runtime + 15 minutes)
    everything = parse_one(
        preprocessing={"source_dir": "examples/churn/preprocessing", "max_runtime_seconds": 1_800},
        batch_transform={"max_wait_seconds": 2_400},
        registry={"approval": "manual", "approval_timeout_hours": 48},
        polling={"interval_seconds": 300},
    )
    assert run_timeout_seconds(everything) == (
        86_400 + 3_600 + (1_800 + 900) + 2_400 + 4 * 300 + 48 * 3_600 + 6 * 3_600
    )
    # an automatic approval never waits
    assert run_timeout_seconds(parse_one(registry={"approval": "automatic", "approval_timeout_hours": 48})) == (
        86_400 + 3_600 + 2 * 60 + 6 * 3_600
    )


def test_a_runs_timeout_is_at_most_step_functions_year() -> None:
    config = parse_one(
        polling={"interval_seconds": 3_600, "max_training_wait_seconds": 31_536_000},
        registry={"approval": "manual", "approval_timeout_hours": 8_760},
    )

    assert run_timeout_seconds(config) == 31_536_000


def test_polling_over_the_history_budget_names_the_fields_and_suggests_an_interval() -> None:
    # GIVEN a one-second interval over a day of training: a check every 10 s for 24,000 s, then hundreds more
    with pytest.raises(ConfigError) as raised:
        parse_one(polling={"interval_seconds": 1})

    message = str(raised.value)
    assert message.startswith("pipeline 'churn': polling.max_training_wait_seconds (86400)")
    assert "polling.max_deployment_wait_seconds (3600)" in message
    assert "polling.interval_seconds (1)" in message
    assert "25,000" in message
    # THEN the suggested interval is the shortest that fits: 2 s gives 17,215 events (1 s: 22,255)
    assert message.endswith("set polling.interval_seconds to at least 2")
    assert parse_one(polling={"interval_seconds": 2}).polling.interval_seconds == 2


def test_the_preprocessing_and_batch_transform_loops_count_against_the_history_budget() -> None:
    # GIVEN a 2 s interval, which fits training and deployment alone (17,215 events), and a batch transform that may
    # be waited for a day too
    two_seconds = {"interval_seconds": 2}
    assert parse_one(polling=two_seconds).polling.interval_seconds == 2

    # WHEN the pipeline adds the transform's loop
    with pytest.raises(ConfigError) as raised:
        parse_one(polling=two_seconds, batch_transform={"max_wait_seconds": 86_400})

    # THEN its wait counts, and the message names it and the interval that fits all three loops
    message = str(raised.value)
    assert "the preprocessing or batch transform loops' (86400 s)" in message
    shortest = int(message.rsplit(" ", 1)[-1])
    config = parse_one(polling={"interval_seconds": shortest}, batch_transform={"max_wait_seconds": 86_400})
    assert polls_history_events(config.polling, other_waits=(86_400,)) <= 20_000
    assert polls_history_events(config.polling, interval_seconds=shortest - 1, other_waits=(86_400,)) > 20_000


def test_polling_budget_boundary_is_the_last_check_that_fits() -> None:
    # 1,323 checks at most of a loop that may wait up to 195,418 s, 3 of one of 1 s: 19,990 events; a second more
    # adds a check: 20,005
    fits = {"interval_seconds": 1, "max_training_wait_seconds": 195_418, "max_deployment_wait_seconds": 1}
    assert parse_one(polling=fits).polling.max_training_wait_seconds == 195_418

    with pytest.raises(ConfigError, match=r"polling\.max_training_wait_seconds"):
        parse_one(polling={**fits, "max_training_wait_seconds": 195_419})


def test_pipeline_names_must_be_unique() -> None:
    with pytest.raises(ConfigError, match=r"^pipeline 'churn': name is used by another pipeline$"):
        parse_pipelines([churn(), churn(data_prefix="other")])


def test_endpoint_names_must_be_unique_ignoring_case() -> None:
    with pytest.raises(ConfigError, match=r"^pipeline 'fraud': endpoint\.name 'CHURN' is already the endpoint"):
        parse_pipelines([churn(), churn(name="fraud", endpoint={"name": "CHURN"})])


def test_a_pipeline_name_must_not_extend_another_with_a_hyphen() -> None:
    # "churn-*" in churn's IAM policies would match churn-v2's training jobs
    with pytest.raises(ConfigError, match=r"^pipeline 'churn-v2': name starts with 'churn' and a hyphen"):
        parse_pipelines([churn(), churn(name="churn-v2")])


def test_two_valid_pipelines_are_parsed_in_order() -> None:
    configs = parse_pipelines([churn(), churn(name="fraud", data_prefix="data/fraud")])

    assert [config.name for config in configs] == ["churn", "fraud"]


def test_config_file_replaces_the_pipelines_list(tmp_path: Path) -> None:
    # GIVEN a config file next to (not in) the context's example list
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "prod.json").write_text(json.dumps({"pipelines": [churn()]}))

    # WHEN loaded by its path relative to the project root
    config = load_app_config(
        pipelines=[{"name": "demo", "data_prefix": "data/demo"}],
        config_file="config/prod.json",
        project_root=tmp_path,
    )

    # THEN the file's pipelines are used
    assert [pipeline.name for pipeline in config.pipelines] == ["churn"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "config_file 'pipelines.json': no such file"),
        ("{not json", "config_file 'pipelines.json': invalid JSON"),
        (json.dumps([churn()]), "config_file 'pipelines.json': must hold exactly"),
        (json.dumps({"pipelines": [churn()], "extra": 1}), "config_file 'pipelines.json': must hold exactly"),
        (json.dumps({"pipelines": [churn(window_days=0)]}), "pipeline 'churn': window_days must be an integer"),
    ],
)
def test_config_file_problems_are_config_errors(tmp_path: Path, content: str | None, expected: str) -> None:
    if content is not None:
        (tmp_path / "pipelines.json").write_text(content)

    with pytest.raises(ConfigError) as raised:
        load_app_config(config_file="pipelines.json", project_root=tmp_path)

    assert str(raised.value).startswith(expected), str(raised.value)


def test_no_pipelines_at_all_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no pipelines configured"):
        load_app_config(project_root=tmp_path)


def test_tags_are_validated(tmp_path: Path) -> None:
    config = load_app_config(pipelines=[churn()], tags={"team": "ml", "cost-center": "42"}, project_root=tmp_path)
    assert dict(config.tags) == {"team": "ml", "cost-center": "42"}

    with pytest.raises(ConfigError, match=r"^tags\.team must be a string"):
        load_app_config(pipelines=[churn()], tags={"team": 1}, project_root=tmp_path)
    with pytest.raises(ConfigError, match=r"^tags: key 'aws:x' is not a valid tag key"):
        load_app_config(pipelines=[churn()], tags={"aws:x": "y"}, project_root=tmp_path)


# --- rollout -------------------------------------------------------------------------------------------------


def test_without_a_rollout_section_deployments_stay_plain_updates() -> None:
    assert parse_one().rollout is None


def test_a_canary_rollout_gets_its_documented_defaults() -> None:
    # GIVEN only a strategy / WHEN parsed
    rollout = parse_one(rollout={"strategy": "canary"}).rollout

    # THEN the canary is 10 %, each bake 5 minutes, and a 5xx or a slow minute rolls back
    assert rollout is not None
    assert (rollout.strategy, rollout.canary_percent, rollout.linear_step_percent) == ("canary", 10, None)
    assert (rollout.wait_seconds, rollout.termination_wait_seconds, rollout.max_execution_seconds) == (300, 0, None)
    assert (rollout.alarms.max_5xx_errors, rollout.alarms.max_model_latency_ms) == (0, 1_000)
    assert rollout.alarms.evaluation_periods == 1
    assert (rollout.baking_periods, rollout.total_wait_seconds) == (2, 600)


@pytest.mark.parametrize(
    ("rollout", "periods"),
    [
        ({"strategy": "all_at_once"}, 1),
        ({"strategy": "canary", "canary_percent": 50}, 2),
        ({"strategy": "linear", "linear_step_percent": 10}, 10),
        ({"strategy": "linear", "linear_step_percent": 30}, 4),
    ],
)
def test_each_traffic_shift_is_followed_by_a_baking_period(rollout: dict[str, Any], periods: int) -> None:
    config = parse_one(rollout={**rollout, "wait_seconds": 60, "termination_wait_seconds": 30}).rollout

    assert config is not None
    assert (config.baking_periods, config.total_wait_seconds) == (periods, periods * 60 + 30)


def test_a_full_rollout_section_is_parsed() -> None:
    rollout = parse_one(
        rollout={
            "strategy": "linear",
            "linear_step_percent": 25,
            "wait_seconds": 120,
            "termination_wait_seconds": 60,
            "max_execution_seconds": 1_800,
            "alarms": {"max_5xx_errors": 3, "max_model_latency_ms": 250, "evaluation_periods": 2},
        }
    ).rollout

    assert rollout is not None
    assert (rollout.linear_step_percent, rollout.wait_seconds, rollout.termination_wait_seconds) == (25, 120, 60)
    assert rollout.max_execution_seconds == 1_800
    assert (rollout.alarms.max_5xx_errors, rollout.alarms.max_model_latency_ms) == (3, 250)
    assert rollout.alarms.evaluation_periods == 2


def test_a_null_latency_threshold_turns_the_latency_alarm_off() -> None:
    rollout = parse_one(rollout={"strategy": "all_at_once", "alarms": {"max_model_latency_ms": None}}).rollout

    assert rollout is not None and rollout.alarms.max_model_latency_ms is None


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ({}, "rollout.strategy must be one of all_at_once, canary, linear, got null"),
        ({"strategy": "blue_green"}, 'rollout.strategy must be one of all_at_once, canary, linear, got "blue_green"'),
        ({"strategy": "canary", "canary_percent": 51}, "rollout.canary_percent must be an integer between 1 and 50"),
        ({"strategy": "canary", "canary_percent": 0}, "rollout.canary_percent must be an integer between 1 and 50"),
        (
            {"strategy": "linear", "linear_step_percent": 5},
            "rollout.linear_step_percent must be an integer between 10 and 50",
        ),
        (
            {"strategy": "linear", "canary_percent": 20},
            "rollout.canary_percent applies to strategy 'canary' only, not 'linear'",
        ),
        (
            {"strategy": "all_at_once", "linear_step_percent": 20},
            "rollout.linear_step_percent applies to strategy 'linear' only",
        ),
        ({"strategy": "canary", "wait_seconds": 3_601}, "rollout.wait_seconds must be an integer between 0 and 3600"),
        (
            {"strategy": "canary", "termination_wait_seconds": -1},
            "rollout.termination_wait_seconds must be an integer between 0 and 3600",
        ),
        (
            {"strategy": "canary", "max_execution_seconds": 599},
            "rollout.max_execution_seconds must be an integer between 600 and 28800",
        ),
        (
            {"strategy": "canary", "wait_seconds": 300, "max_execution_seconds": 600},
            "rollout.max_execution_seconds (600) must be larger than the rollout's waits: 2 baking period(s)",
        ),
        (
            {"strategy": "canary", "alarms": {"max_5xx_errors": -1}},
            "rollout.alarms.max_5xx_errors must be an integer between 0 and 1000000",
        ),
        (
            {"strategy": "canary", "alarms": {"max_model_latency_ms": 0}},
            "rollout.alarms.max_model_latency_ms must be an integer between 1 and 3600000",
        ),
        (
            {"strategy": "canary", "alarms": {"evaluation_periods": 1_441}},
            "rollout.alarms.evaluation_periods must be an integer between 1 and 1440",
        ),
        ({"strategy": "canary", "alarms": {"max_5xx": 1}}, "unknown field 'rollout.alarms.max_5xx'"),
        ({"strategy": "canary", "bake_seconds": 60}, "unknown field 'rollout.bake_seconds'"),
    ],
)
def test_an_invalid_rollout_names_the_pipeline_and_the_field(rollout: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"pipeline 'churn': {message}")):
        parse_one(rollout=rollout)


def test_a_rollout_longer_than_the_deployment_wait_is_refused_naming_both_fields() -> None:
    # GIVEN a linear rollout of 5 bakes of 10 minutes, and a run that waits an hour at most for a deployment
    raw = churn(
        rollout={"strategy": "linear", "linear_step_percent": 20, "wait_seconds": 600, "termination_wait_seconds": 600},
        polling={"max_deployment_wait_seconds": 3_600},
    )

    # WHEN parsed THEN the error says the run would time out while SageMaker still bakes
    with pytest.raises(ConfigError) as raised:
        parse_pipeline(raw)
    assert "polling.max_deployment_wait_seconds (3600)" in str(raised.value)
    assert "= 3600 s" in str(raised.value) and "DeploymentTimedOut" in str(raised.value)
