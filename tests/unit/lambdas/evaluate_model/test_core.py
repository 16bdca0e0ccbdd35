"""EvaluateModel: the gate's arithmetic, and registration against moto's SageMaker model registry."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import boto3
import pytest

from lambdas.common.errors import ConfigurationError, MetricMissingError
from lambdas.common.events import Execution
from lambdas.common.inference import ServingPreprocessing, serving_containers
from lambdas.common.models import HoldoutEvaluationState, RunState, TrainingJobState
from lambdas.evaluate_model.core import (
    APPROVED,
    PENDING,
    REJECTED,
    EvaluateSettings,
    QualityGate,
    evaluate_model,
    judge,
    version_metadata,
)
from lambdas.evaluate_model.holdout import HoldoutScores
from tests.unit.lambdas.states import preprocessing_section, run_section, training_section

GROUP = "churn-models"
LOSS = "train:objective_loss"
MINIMIZE_GATE = QualityGate(metric=LOSS, direction="minimize", threshold=None, max_regression_percent=10.0)
SETTINGS = EvaluateSettings(
    pipeline="churn",
    endpoint_name="churn",
    model_package_group=GROUP,
    inference_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    manual_approval=False,
    approval_timeout_seconds=3600,
    gate=MINIMIZE_GATE,
)


class TestJudge:
    def test_minimizing_passes_within_the_allowed_regression(self) -> None:
        assert judge(MINIMIZE_GATE, 1.09, 1.0).passed

    def test_minimizing_rejects_beyond_the_allowed_regression_and_says_by_how_much(self) -> None:
        verdict = judge(MINIMIZE_GATE, 1.25, 1.0)

        assert not verdict.passed
        assert verdict.reasons == (
            "train:objective_loss 1.25 is 25.0% worse than production's 1 (at most 10% allowed)",
        )

    def test_maximizing_rejects_a_lower_score(self) -> None:
        gate = QualityGate(metric="validation:accuracy", direction="maximize", threshold=None, max_regression_percent=1)

        assert not judge(gate, 0.90, 0.95).passed
        assert judge(gate, 0.945, 0.95).passed
        assert judge(gate, 0.99, 0.95).passed

    def test_a_negative_production_value_is_compared_by_its_size(self) -> None:
        gate = QualityGate(metric="m", direction="maximize", threshold=None, max_regression_percent=10)

        assert judge(gate, -1.05, -1.0).passed  # 5% worse
        assert not judge(gate, -1.2, -1.0).passed  # 20% worse

    @pytest.mark.parametrize(
        ("direction", "value", "passed"),
        [("minimize", 0.5, True), ("minimize", 0.51, False), ("maximize", 0.5, True), ("maximize", 0.49, False)],
    )
    def test_the_threshold_is_absolute(self, direction: str, value: float, passed: bool) -> None:
        gate = QualityGate(metric="m", direction=direction, threshold=0.5, max_regression_percent=None)

        assert judge(gate, value, None).passed is passed

    def test_both_rules_report_every_reason(self) -> None:
        gate = QualityGate(metric="m", direction="minimize", threshold=0.5, max_regression_percent=0)

        verdict = judge(gate, 0.8, 0.6)

        assert len(verdict.reasons) == 2

    def test_without_a_production_model_only_the_threshold_applies_and_a_note_says_so(self) -> None:
        verdict = judge(MINIMIZE_GATE, 123.0, None)

        assert verdict.passed
        assert "no production model" in verdict.notes[0]

    @pytest.mark.parametrize("value", [math.nan, math.inf])
    def test_a_value_that_is_not_finite_never_passes(self, value: float) -> None:
        assert not judge(MINIMIZE_GATE, value, 1.0).passed


def test_the_gate_is_read_from_its_environment_variable() -> None:
    gate = QualityGate.from_json('{"metric": "m", "direction": "maximize", "threshold": 0.7}', variable="QUALITY_GATE")

    assert gate == QualityGate(metric="m", direction="maximize", threshold=0.7, max_regression_percent=None)
    with pytest.raises(ConfigurationError, match="QUALITY_GATE"):
        QualityGate.from_json('{"metric": "m", "direction": "sideways"}', variable="QUALITY_GATE")


def sections(job_name: str, loss: float | None) -> tuple[RunState, TrainingJobState]:
    """The run and training sections EvaluateModel reads, for a job that reported `loss` (None: no metrics)."""
    return run_section(run_id=job_name, manifest_uri=f"s3://bucket/manifests/churn/{job_name}.manifest"), (
        training_section(
            job_name=job_name,
            model_artifact=f"s3://bucket/models/churn/{job_name}/output/model.tar.gz",
            metrics={} if loss is None else {LOSS: loss, "train:mse": 2.0},
        )
    )


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker")


def serve_model_trained_with_loss(sagemaker: Any, name: str, loss: float) -> None:
    """An endpoint serving `name`, whose training job reported `loss` (moto completes jobs at once)."""
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/r",
        OutputDataConfig={"S3OutputPath": "s3://bucket/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    # moto stores no metrics of its own: give the job the ones SageMaker would have reported.
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends["123456789012"]["us-east-1"]
    backend.training_jobs[name].final_metric_data_list = [{"MetricName": LOSS, "Value": loss, "Timestamp": 0}]
    sagemaker.create_model(
        ModelName=name, PrimaryContainer={"Image": "img"}, ExecutionRoleArn="arn:aws:iam::123456789012:role/r"
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName=name)


def test_a_first_model_is_registered_approved_with_its_metrics_and_manifest(
    sagemaker: Any, execution: Execution
) -> None:
    evaluation = evaluate_model(*sections("churn-2", 0.4), execution, sagemaker=sagemaker, settings=SETTINGS)

    assert evaluation.approval_status == APPROVED
    assert evaluation.production_model is None
    assert evaluation.model_package_version == 1
    assert sagemaker.describe_model_package_group(ModelPackageGroupName=GROUP)["ModelPackageGroupName"] == GROUP
    described = sagemaker.describe_model_package(ModelPackageName=evaluation.model_package_arn)
    assert described["ModelApprovalStatus"] == APPROVED
    assert described["ModelPackageGroupName"] == GROUP
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"].endswith("churn-2/output/model.tar.gz")
    metadata = described["CustomerMetadataProperties"]
    assert metadata["manifest_uri"] == "s3://bucket/manifests/churn/churn-2.manifest"
    assert metadata["training_job"] == "churn-2"
    assert float(metadata[f"metric:{LOSS}"]) == 0.4


def test_a_model_worse_than_production_is_registered_rejected_with_both_values(
    sagemaker: Any, execution: Execution
) -> None:
    serve_model_trained_with_loss(sagemaker, "churn-1", 0.5)

    evaluation = evaluate_model(*sections("churn-2", 0.7), execution, sagemaker=sagemaker, settings=SETTINGS)

    assert evaluation.approval_status == REJECTED
    assert (evaluation.value, evaluation.production_value, evaluation.production_model) == (0.7, 0.5, "churn-1")
    assert "40.0% worse" in evaluation.reasons[0]
    described = sagemaker.describe_model_package(ModelPackageName=evaluation.model_package_arn)
    assert described["ModelApprovalStatus"] == REJECTED
    assert "rejected: train:objective_loss 0.7" in described["ModelPackageDescription"]


def test_a_better_model_passes_and_waits_for_a_person_when_approval_is_manual(
    sagemaker: Any, execution: Execution
) -> None:
    serve_model_trained_with_loss(sagemaker, "churn-1", 0.5)

    evaluation = evaluate_model(
        *sections("churn-2", 0.45), execution, sagemaker=sagemaker, settings=replace(SETTINGS, manual_approval=True)
    )

    assert evaluation.passed
    assert evaluation.approval_status == PENDING
    assert evaluation.approval_timeout_seconds == 3600


def test_a_retried_attempt_returns_the_version_it_registered_instead_of_a_second_one(
    sagemaker: Any, execution: Execution
) -> None:
    first = evaluate_model(*sections("churn-2", 0.4), execution, sagemaker=sagemaker, settings=SETTINGS)
    # A person approved meanwhile; the retry reports what the registry says.
    sagemaker.update_model_package(ModelPackageArn=first.model_package_arn, ModelApprovalStatus=APPROVED)

    again = evaluate_model(*sections("churn-2", 0.4), execution, sagemaker=sagemaker, settings=SETTINGS)

    assert again.model_package_arn == first.model_package_arn
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == 1


def test_a_gate_metric_the_job_did_not_report_fails_the_run_naming_what_it_reported(
    sagemaker: Any, execution: Execution
) -> None:
    gate = replace(MINIMIZE_GATE, metric="validation:objective_loss")

    with pytest.raises(MetricMissingError, match=r"'validation:objective_loss'.*train:mse, train:objective_loss"):
        evaluate_model(*sections("churn-2", 0.4), execution, sagemaker=sagemaker, settings=replace(SETTINGS, gate=gate))
    assert sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"] == []


def test_without_a_gate_every_model_is_registered_with_a_note(sagemaker: Any, execution: Execution) -> None:
    evaluation = evaluate_model(
        *sections("churn-2", None), execution, sagemaker=sagemaker, settings=replace(SETTINGS, gate=None)
    )

    assert evaluation.approval_status == APPROVED
    assert evaluation.notes == ["no quality gate configured"]


def test_metadata_values_keep_to_the_characters_sagemaker_accepts(execution: Execution) -> None:
    metadata = version_metadata(
        "churn", execution, run_section(manifest_uri="s3://b/k (1).manifest"), "job", {"train:loss(%)": 1.0}
    )

    assert metadata["manifest_uri"] == "s3://b/k _1_.manifest"
    assert "metric:train:loss___" in metadata


def test_with_preprocessing_the_version_registers_the_pipeline_deploy_model_serves(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN a pipeline with preprocessing and a run that fitted it
    serving = ServingPreprocessing(
        image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        entry_point="preprocess.py",
        postprocess_entry_point="postprocess.py",
    )
    settings = replace(SETTINGS, gate=None, preprocessing=serving)
    run, training = sections("churn-2", 0.4)
    fitted = preprocessing_section(model_artifact="s3://bucket/pre/churn-2/model.tar.gz")

    # WHEN the model is registered
    evaluation = evaluate_model(run, training, execution, sagemaker=sagemaker, settings=settings, preprocessing=fitted)

    # THEN the version holds the very containers DeployModel creates the model from
    described = sagemaker.describe_model_package(ModelPackageName=evaluation.model_package_arn)
    registered = described["InferenceSpecification"]["Containers"]
    expected = serving_containers(fitted, str(training.model_artifact), settings.inference_image, serving)
    assert [c["ContainerHostname"] for c in expected] == ["preprocess", "model", "postprocess"]
    assert [(c["Image"], c["ModelDataUrl"]) for c in registered] == [(c["Image"], c["ModelDataUrl"]) for c in expected]


# --- the held-out evaluation --------------------------------------------------------------------------------------

AUC_GATE = QualityGate(metric="auc", direction="maximize", threshold=0.7, max_regression_percent=5.0)
EVALUATED = "s3://bucket/evaluation/churn/churn-2"


def held_out(candidate_auc: float, production_auc: float | None) -> tuple[HoldoutScores, HoldoutEvaluationState]:
    """Both models' scores on the run's holdout (`production_auc` None: no production model), and the state of the
    transform jobs that scored them, the production model being churn-1."""
    production = production_auc is not None
    scores = HoldoutScores(
        task="binary",
        records=500,
        files=["s3://bucket/daily/churn/2026-11-21.csv"],
        candidate={"auc": candidate_auc, "accuracy": 0.9},
        production={"auc": production_auc, "accuracy": 0.8} if production_auc is not None else None,
        report_uri=f"{EVALUATED}/evaluation.json",
        candidate_statistics_uri=f"{EVALUATED}/candidate-statistics.json",
    )
    holdout = HoldoutEvaluationState(
        holdout_uri="s3://bucket/manifests/churn/churn-2.holdout.manifest",
        candidate_model="churn-2",
        candidate_job="churn-2-new",
        candidate_output_uri=f"{EVALUATED}/candidate/",
        production_model="churn-1" if production else None,
        production_job="churn-2-prod" if production else None,
        production_output_uri=f"{EVALUATED}/production/" if production else None,
        job_name="churn-2-new",
        status="Completed",
        failure_reason=None,
        started_at="2026-11-22T07:00:00.000Z",
        waited_seconds=600,
        wait_exceeded=False,
        poll_seconds=60,
    )
    return scores, holdout


def evaluate_held_out(
    sagemaker: Any, execution: Execution, gate: QualityGate, candidate: float, production: float | None
) -> Any:
    scores, holdout = held_out(candidate, production)
    return evaluate_model(
        *sections("churn-2", 0.4),
        execution,
        sagemaker=sagemaker,
        settings=replace(SETTINGS, gate=gate),
        scores=scores,
        holdout=holdout,
    )


def test_a_gate_on_an_evaluation_metric_compares_both_models_on_the_holdout(
    sagemaker: Any, execution: Execution
) -> None:
    # GIVEN an endpoint serving churn-1, scored beside the new model on the holdout: AUC 0.9 against the new 0.8
    serve_model_trained_with_loss(sagemaker, "churn-1", 0.1)

    # WHEN the new model is judged on AUC, at most 5% worse than production's
    evaluation = evaluate_held_out(sagemaker, execution, AUC_GATE, 0.8, 0.9)

    # THEN both values are the held-out ones (not the training jobs'), and the new model is rejected
    assert (evaluation.metric, evaluation.value, evaluation.production_value) == ("auc", 0.8, 0.9)
    assert evaluation.production_model == "churn-1"
    assert evaluation.approval_status == REJECTED
    assert "auc 0.8 is 11.1% worse than production's 0.9" in evaluation.reasons[0]
    # AND the state keeps what the evaluation found, the version its held-out metrics
    assert evaluation.holdout_manifest == "s3://bucket/manifests/churn/churn-2.holdout.manifest"
    assert (evaluation.holdout, evaluation.holdout_records) == (["s3://bucket/daily/churn/2026-11-21.csv"], 500)
    assert (evaluation.candidate_metrics, evaluation.production_metrics) == (
        {"auc": 0.8, "accuracy": 0.9},
        {"auc": 0.9, "accuracy": 0.8},
    )
    assert evaluation.report == f"{EVALUATED}/evaluation.json"
    metadata = sagemaker.describe_model_package(ModelPackageName=evaluation.model_package_arn)[
        "CustomerMetadataProperties"
    ]
    assert (metadata["holdout:auc"], metadata[f"metric:{LOSS}"]) == ("0.8", "0.4")


def test_the_production_model_compared_is_the_one_the_evaluation_scored(sagemaker: Any, execution: Execution) -> None:
    # GIVEN the endpoint switched to another model after the evaluation scored churn-1 (a rollback meanwhile)
    serve_model_trained_with_loss(sagemaker, "churn-0", 0.1)

    evaluation = evaluate_held_out(sagemaker, execution, AUC_GATE, 0.9, 0.88)

    assert (evaluation.production_model, evaluation.production_value, evaluation.passed) == ("churn-1", 0.88, True)


def test_without_a_production_model_on_the_holdout_only_the_threshold_applies(
    sagemaker: Any, execution: Execution
) -> None:
    evaluation = evaluate_held_out(sagemaker, execution, AUC_GATE, 0.6, None)

    assert (evaluation.production_model, evaluation.production_value, evaluation.production_metrics) == (
        None,
        None,
        None,
    )
    assert evaluation.reasons == ["auc 0.6 is below the threshold 0.7"]
    assert "no production model to compare with" in evaluation.notes[0]


def test_a_gate_on_a_training_metric_still_reads_the_training_jobs(sagemaker: Any, execution: Execution) -> None:
    # GIVEN a held-out evaluation, and a gate on the loss the training jobs report
    serve_model_trained_with_loss(sagemaker, "churn-1", 0.5)

    evaluation = evaluate_held_out(sagemaker, execution, MINIMIZE_GATE, 0.8, 0.9)

    # THEN the loss of the new job and of the serving model's job are compared
    assert (evaluation.metric, evaluation.value, evaluation.production_value) == (LOSS, 0.4, 0.5)
    assert (evaluation.production_model, evaluation.approval_status) == ("churn-1", APPROVED)
    assert evaluation.candidate_metrics == {"auc": 0.8, "accuracy": 0.9}


def test_a_gate_metric_in_neither_fails_the_run_listing_both(sagemaker: Any, execution: Execution) -> None:
    gate = replace(AUC_GATE, metric="rmse")

    with pytest.raises(
        MetricMissingError,
        match=r"'rmse' \(the job reported: train:mse, train:objective_loss; the evaluation: accuracy, auc\)",
    ):
        evaluate_held_out(sagemaker, execution, gate, 0.8, 0.9)
    assert sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"] == []


def test_the_version_points_to_the_new_models_held_out_statistics(sagemaker: Any, execution: Execution) -> None:
    evaluation = evaluate_held_out(sagemaker, execution, AUC_GATE, 0.8, None)

    # moto keeps CreateModelPackage's ModelMetrics: Studio's model quality view reads them from DescribeModelPackage
    described = sagemaker.describe_model_package(ModelPackageName=evaluation.model_package_arn)
    assert described["ModelMetrics"] == {
        "ModelQuality": {
            "Statistics": {"ContentType": "application/json", "S3Uri": f"{EVALUATED}/candidate-statistics.json"}
        }
    }


def test_without_a_held_out_evaluation_the_version_has_no_model_metrics(sagemaker: Any, execution: Execution) -> None:
    evaluation = evaluate_model(*sections("churn-2", 0.4), execution, sagemaker=sagemaker, settings=SETTINGS)

    described = sagemaker.describe_model_package(ModelPackageName=evaluation.model_package_arn)
    assert not described.get("ModelMetrics")
    assert (evaluation.holdout_manifest, evaluation.candidate_metrics, evaluation.report) == (None, {}, None)
