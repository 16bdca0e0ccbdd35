"""The failure report and the Block Kit message, built from whatever part of the state a run reached."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.common.events import Execution
from lambdas.notify_slack.messages import (
    FIELD_TEXT_MAX,
    HEADER_TEXT_MAX,
    MAX_FIELDS,
    SECTION_TEXT_MAX,
    FailureReport,
    NotificationEvent,
    build_message,
    failure_report,
)
from tests.fakes.slack_api import block_texts

EXECUTION = Execution(
    id="arn:aws:states:eu-west-1:123456789012:execution:sagemaker-retraining-churn:run-7",
    name="run-7",
    start_time=datetime(2026, 11, 22, 6, 0, tzinfo=UTC),
)


def _lambda_cause(message: str) -> str:
    return json.dumps({"errorMessage": message, "errorType": "ClientError", "stackTrace": ["  File ..."]})


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        pytest.param(
            {"DeployModel": {"Error": "ClientError", "Cause": _lambda_cause("Could not find model data")}},
            FailureReport("DeployModel", "ClientError", "Could not find model data"),
            id="lambda-error-json",
        ),
        pytest.param(
            {"GetEndpointStatus": {"Error": "DeploymentFailed", "Cause": "Image not found"}},
            FailureReport("GetEndpointStatus", "DeploymentFailed", "Image not found"),
            id="plain-text",
        ),
        pytest.param(
            {"StartTrainingJob": {"Error": "States.Timeout", "Cause": None}},
            FailureReport("StartTrainingJob", "States.Timeout", "StartTrainingJob failed with States.Timeout and "
                          "reported no cause"),
            id="null-cause",
        ),
        pytest.param(
            {"CheckData": {"Error": "Lambda.Unknown", "Cause": "{not json"}},
            FailureReport("CheckData", "Lambda.Unknown", "{not json"),
            id="brace-but-not-json",
        ),
        pytest.param(
            {"CheckData": {"Cause": "boom"}},
            FailureReport("CheckData", "UnknownError", "boom"),
            id="no-error-name",
        ),
        pytest.param(
            {},
            FailureReport("Unknown", "UnknownError", "the run failed without recording which state failed"),
            id="empty-section",
        ),
    ],
)  # fmt: skip
def test_failure_report_reads_the_failed_state_error_and_readable_cause(
    failure: dict[str, Any], expected: FailureReport
) -> None:
    # GIVEN the failure a Catch or a Pass state wrote
    state = {"failure": failure}

    # WHEN it is read
    report = failure_report(state)

    # THEN the stage is the state's name and the cause is readable text, never null
    assert report == expected


def test_failure_report_without_a_failure_section_is_an_unknown_error() -> None:
    # GIVEN a state in which no step recorded a failure
    # WHEN it is read
    report = failure_report({"run": {"pipeline": "churn"}})

    # THEN the run still gets an error name for its Fail state
    assert report.error == "UnknownError"
    assert report.cause


@pytest.mark.parametrize("event", list(NotificationEvent))
def test_message_from_an_empty_state_shows_the_pipeline_stage_and_status_only(event: NotificationEvent) -> None:
    # GIVEN a state in which the steps that set run, training and deployment have not run
    failure = failure_report({}) if event is NotificationEvent.FAILED else None

    # WHEN the message is built
    message = build_message(event, state={}, execution=EXECUTION, pipeline="churn", failure=failure)

    # THEN it holds the facts it has, the link to the execution, and nothing else
    [fields] = [block["fields"] for block in message.blocks if "fields" in block]
    assert [field["text"].split("\n")[0] for field in fields] == ["*Pipeline*", "*Stage*", "*Status*"]
    assert EXECUTION.console_url in message.text


def test_message_escapes_slack_control_characters_in_state_values() -> None:
    # GIVEN a cause with characters Slack reads as markup
    failure = FailureReport("DeployModel", "ClientError", "expected <ModelName> & got <none>")

    # WHEN the failure message is built
    message = build_message(NotificationEvent.FAILED, state={}, execution=EXECUTION, pipeline="churn", failure=failure)

    # THEN they are escaped, so Slack shows them as written instead of as links or mentions
    text = "\n".join(block_texts(message.blocks))
    assert "expected &lt;ModelName&gt; &amp; got &lt;none&gt;" in text
    assert "<ModelName>" not in text


def test_message_stays_within_slack_block_limits_for_huge_values() -> None:
    # GIVEN a state with an overlong pipeline name, job name, cause and many metrics
    long = "x" * 5000
    state = {
        "training": {"job_name": long, "metrics": {f"metric-{i}": i / 7 for i in range(500)}},
        "deployment": {"endpoint_name": long, "model_name": long, "action": "create"},
        "run": {"window_start": "2026-01-01", "window_end": "2026-12-31", "window_days": 365, "file_count": 1,
                "trigger": "manual", "forced": True},
        "watermark": {"newest_data_date": "2026-12-31"},
    }  # fmt: skip
    failure = FailureReport("DeployModel", "ClientError", long)

    # WHEN the message is built
    message = build_message(NotificationEvent.FAILED, state=state, execution=EXECUTION, pipeline=long, failure=failure)

    # THEN every block respects Slack's limits, so Slack does not refuse it with invalid_blocks
    header, *sections = message.blocks
    assert len(header["text"]["text"]) <= HEADER_TEXT_MAX
    for block in sections:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
        fields = block.get("fields", [])
        assert len(fields) <= MAX_FIELDS
        assert all(len(field["text"]) <= FIELD_TEXT_MAX for field in fields)


def test_metrics_are_listed_by_name_with_significant_digits() -> None:
    # GIVEN a completed training job with metrics
    state = {"training": {"job_name": "churn-1", "metrics": {"validation:rmse": 0.123456789, "train:mae": 2}}}

    # WHEN the message is built
    message = build_message(NotificationEvent.TRAINING_COMPLETED, state=state, execution=EXECUTION, pipeline="churn")

    # THEN the metrics section lists them sorted, rounded to six significant digits
    [metrics] = [text for text in block_texts(message.blocks) if text.startswith("*Metrics*")]
    assert metrics == "*Metrics*\n• `train:mae` 2\n• `validation:rmse` 0.123457"


EVALUATION = {
    "metric": "train:objective_loss",
    "direction": "minimize",
    "value": 0.7,
    "production_value": 0.5,
    "production_model": "churn-1",
    "passed": False,
    "reasons": ["train:objective_loss 0.7 is 40.0% worse than production's 0.5 (at most 10% allowed)"],
    "model_package_group": "churn-models",
    "model_package_version": 4,
    "approval_status": "Rejected",
    "approval_timeout_seconds": 7200,
}


def test_a_rejected_model_shows_the_new_and_the_current_metric_and_why() -> None:
    # GIVEN a model the quality gate rejected
    state = {"training": {"job_name": "churn-2"}, "evaluation": EVALUATION}

    # WHEN the message is built
    message = build_message(NotificationEvent.MODEL_REJECTED, state=state, execution=EXECUTION, pipeline="churn")

    # THEN it names both values, the production model, the reason and the registry version
    texts = block_texts(message.blocks)
    assert "churn: new model rejected, the current one keeps serving" in texts[0]
    [verdict] = [text for text in texts if text.startswith("*Quality gate*")]
    assert "new 0.7, current 0.5 (`churn-1`)" in verdict
    assert "40.0% worse" in verdict
    assert "`churn-models` version 4, Rejected" in verdict


def test_an_approval_request_says_how_to_answer_and_by_when() -> None:
    state = {"evaluation": {**EVALUATION, "passed": True, "reasons": [], "approval_status": "PendingManualApproval"}}

    message = build_message(NotificationEvent.APPROVAL_REQUESTED, state=state, execution=EXECUTION, pipeline="churn")

    [instructions] = [text for text in block_texts(message.blocks) if text.startswith("*Approve or reject it")]
    assert "within 2 h" in instructions
    # the operator's command, which runs where only boto3 is installed (not the local runtime's entry point)
    commands = instructions.split("```")[1].splitlines()
    assert commands == [
        "sagemaker-retraining approve --pipeline churn --version 4",
        'sagemaker-retraining reject --pipeline churn --version 4 --reason "..."',
    ]


def test_a_rejection_in_review_shows_the_reviewers_reason() -> None:
    state = {
        "evaluation": {**EVALUATION, "passed": True, "reasons": [], "approval_status": "PendingManualApproval"},
        "approval": {"status": "Rejected", "description": "bias check failed"},
    }

    message = build_message(NotificationEvent.MODEL_REJECTED, state=state, execution=EXECUTION, pipeline="churn")

    [verdict] = [text for text in block_texts(message.blocks) if text.startswith("*Quality gate*")]
    assert "*Review*: Rejected: bias check failed" in verdict


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        pytest.param(
            {"pruned": {"keep_last": 5, "deleted_models": ["c-1", "c-2"], "deleted_endpoint_configs": ["c-1"]}},
            ":broom: Housekeeping deleted 2 old models and 1 endpoint config, kept the newest 5",
            id="deleted",
        ),
        pytest.param(
            {"prune_error": {"Error": "ClientError", "Cause": _lambda_cause("not authorized: sagemaker:DeleteModel")}},
            ":broom: Housekeeping failed, nothing serving was touched: not authorized: sagemaker:DeleteModel",
            id="failed",
        ),
    ],
)  # fmt: skip
def test_the_deployed_message_says_what_housekeeping_did(state: dict[str, Any], expected: str) -> None:
    message = build_message(NotificationEvent.DEPLOYED, state=state, execution=EXECUTION, pipeline="churn")

    assert [text for text in block_texts(message.blocks) if text.startswith(":broom:")] == [expected]


@pytest.mark.parametrize(
    ("event", "state"),
    [
        (NotificationEvent.DEPLOYED, {"pruned": {"keep_last": 5, "deleted_models": [], "kept": {"c-1": "x"}}}),
        (NotificationEvent.DEPLOYED, {}),
        (NotificationEvent.FAILED, {"pruned": {"keep_last": 5, "deleted_models": ["churn-1"]}}),
    ],
)  # fmt: skip
def test_housekeeping_is_not_mentioned_when_it_deleted_nothing(event: NotificationEvent, state: dict[str, Any]) -> None:
    message = build_message(event, state=state, execution=EXECUTION, pipeline="churn")

    assert not [text for text in block_texts(message.blocks) if ":broom:" in text]


@pytest.mark.parametrize("event", [NotificationEvent.DEPLOYED, NotificationEvent.TRAINING_COMPLETED])
def test_a_lineage_failure_is_mentioned_with_the_deployment_only(event: NotificationEvent) -> None:
    # GIVEN a run whose RecordLineage failed after the model started serving
    state = {"lineage_error": {"Error": "AccessDeniedException", "Cause": _lambda_cause("not allowed: CreateArtifact")}}

    message = build_message(event, state=state, execution=EXECUTION, pipeline="churn")

    texts = " ".join(block_texts(message.blocks))
    mentioned = "Lineage not recorded" in texts and "not allowed: CreateArtifact" in texts
    assert mentioned is (event is NotificationEvent.DEPLOYED)


@pytest.mark.parametrize("event", [NotificationEvent.FAILED, NotificationEvent.DEPLOYED])
def test_a_clean_up_failure_is_mentioned_with_the_failure_alert_only(event: NotificationEvent) -> None:
    # GIVEN a failed run whose CleanUp failed too (its Catch writes clean_up_error and goes on to the alert)
    cause = _lambda_cause("not authorized to perform: sagemaker:DescribeTrainingJob")
    state = {
        "failure": {"GetTrainingStatus": {"Error": "TrainingJobFailed", "Cause": "AlgorithmError: bad data"}},
        "clean_up_error": {"Error": "ClientError", "Cause": cause},
    }

    failure = failure_report(state) if event is NotificationEvent.FAILED else None
    message = build_message(event, state=state, execution=EXECUTION, pipeline="churn", failure=failure)

    # THEN the alert names both the run's failure and CleanUp's, which may have left resources behind
    texts = " ".join(block_texts(message.blocks))
    mentioned = "Clean-up failed* (ClientError)" in texts and "sagemaker:DescribeTrainingJob" in texts
    assert mentioned is (event is NotificationEvent.FAILED)
    assert ("AlgorithmError: bad data" in texts) is (event is NotificationEvent.FAILED)


TRANSFORMED_STATE = {
    "deployment": {"endpoint_name": "churn", "model_name": "churn-new", "action": "update", "status": "InService"},
    "batch_transform": {
        "job_name": "churn-20261122060000-abcdef12",
        "status": "Completed",
        "day": "2026-11-21",
        "input_uri": "s3://churn-data/daily/churn/2026-11-21.csv",
        "output_uri": "s3://churn-data/predictions/daily/churn/",
    },
}


@pytest.mark.parametrize(
    ("event", "headline", "status"),
    [
        (NotificationEvent.BATCH_TRANSFORM_COMPLETED, "churn: predictions for the newest day written", "Completed"),
        (
            NotificationEvent.BATCH_TRANSFORM_FAILED,
            "churn: batch transform failed, the new model serves regardless",
            "Failed",
        ),
    ],
    ids=["completed", "failed"],
)
def test_the_transform_messages_say_what_happened_at_which_stage(
    event: NotificationEvent, headline: str, status: str
) -> None:
    message = build_message(event, state=TRANSFORMED_STATE, execution=EXECUTION, pipeline="churn")

    [header] = [block["text"]["text"] for block in message.blocks if block["type"] == "header"]
    assert header.endswith(headline)
    [fields] = [block["fields"] for block in message.blocks if "fields" in block]
    facts = dict(field["text"].split("\n", 1) for field in fields)
    assert facts["*Stage*"] == "`GetBatchTransformStatus`"
    assert facts["*Status*"] == status
    assert facts["*Model*"] == "`churn-new`"


def test_the_completed_transform_says_which_day_went_through_which_job_and_where_the_predictions_are() -> None:
    message = build_message(
        NotificationEvent.BATCH_TRANSFORM_COMPLETED, state=TRANSFORMED_STATE, execution=EXECUTION, pipeline="churn"
    )

    [text] = [text for text in block_texts(message.blocks) if "Transform job" in text]
    assert text == (
        ":card_file_box: Transform job `churn-20261122060000-abcdef12` ran the model over 2026-11-21 "
        "(`s3://churn-data/daily/churn/2026-11-21.csv`); predictions in `s3://churn-data/predictions/daily/churn/`"
    )
    assert "Batch transform failed" not in " ".join(block_texts(message.blocks))


def test_a_completed_transform_without_its_section_still_says_something() -> None:
    message = build_message(NotificationEvent.BATCH_TRANSFORM_COMPLETED, state={}, execution=EXECUTION, pipeline="c")

    [text] = [text for text in block_texts(message.blocks) if "Transform job" in text]
    assert text.endswith("ran the model over the newest day")


@pytest.mark.parametrize(
    ("transform_error", "named", "cause"),
    [
        (
            {"Error": "TransformJobFailed", "Cause": "transform job churn-1 over s3://b/d.csv failed: ClientError"},
            "TransformJobFailed",
            "transform job churn-1 over s3://b/d.csv failed: ClientError",
        ),
        (
            {"Error": "TransformRequestError", "Cause": _lambda_cause("no data for 2026-11-21")},
            "TransformRequestError",
            "no data for 2026-11-21",
        ),
        ({}, "UnknownError", "no cause reported"),
    ],
    ids=["job-failed", "lambda-error", "nothing-recorded"],
)
def test_a_failed_transform_names_the_error_and_its_cause_and_says_the_model_serves(
    transform_error: dict[str, Any], named: str, cause: str
) -> None:
    # GIVEN a run whose transform failed after the deployment, the error kept in transform_error
    state = {**TRANSFORMED_STATE, "transform_error": transform_error}

    message = build_message(
        NotificationEvent.BATCH_TRANSFORM_FAILED, state=state, execution=EXECUTION, pipeline="churn"
    )

    [text] = [text for text in block_texts(message.blocks) if "Batch transform failed" in text]
    assert text.startswith(
        f":warning: *Batch transform failed* (transform job `churn-20261122060000-abcdef12`) ({named}): {cause}\n"
    )
    assert "The new model is deployed and the watermark recorded" in text
    assert not [text for text in block_texts(message.blocks) if "predictions in" in text]


def test_a_transform_failure_before_the_job_existed_names_no_job() -> None:
    state = {"transform_error": {"Error": "ResourceConflictError", "Cause": "started by another execution"}}

    message = build_message(NotificationEvent.BATCH_TRANSFORM_FAILED, state=state, execution=EXECUTION, pipeline="c")

    [text] = [text for text in block_texts(message.blocks) if "Batch transform failed" in text]
    assert text.startswith(":warning: *Batch transform failed* (ResourceConflictError): started by another execution")


def _files_field(run: dict[str, Any]) -> str:
    message = build_message(
        NotificationEvent.TRAINING_STARTED, state={"run": run}, execution=EXECUTION, pipeline="churn"
    )
    [fields] = [block["fields"] for block in message.blocks if "fields" in block]
    [files] = [field["text"] for field in fields if field["text"].startswith("*Files*")]
    return str(files.split("\n", 1)[1])


def test_the_files_fact_names_the_keys_skipped_and_those_in_no_layout() -> None:
    # GIVEN a run that skipped a day folder's _SUCCESS and found 23 keys in no layout, naming the first 20
    stray = [f"data/churn/exports/file-{n:02d}.json" for n in range(20)]
    run = {
        "file_count": 7,
        "total_bytes": 2048,
        "skipped_count": 1,
        "skipped_keys": [{"key": "data/churn/dt=2026-11-21/_SUCCESS", "reason": "not a .csv or .csv.gz file"}],
        "unrecognised_count": 23,
        "unrecognised_keys": stray,
    }

    text = _files_field(run)

    # THEN both counts come with the names the run's output holds, and how many more there are
    assert text.startswith("7 files, 2.0 KiB; 1 skipped: `data/churn/dt=2026-11-21/_SUCCESS`; 23 in no layout, never")
    assert "`data/churn/exports/file-00.json`, `data/churn/exports/file-01.json`" in text
    assert text.endswith("`data/churn/exports/file-19.json` and 3 more")


def test_a_run_written_before_keys_were_named_still_shows_its_counts() -> None:
    assert _files_field({"file_count": 2, "skipped_count": 3}) == "2 files; 3 skipped"
