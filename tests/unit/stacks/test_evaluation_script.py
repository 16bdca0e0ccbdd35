"""A pipeline with `evaluation.script`: its source shipped as an asset, its processing job started, awaited, read
and cleaned up by the steps, with the grants it needs and no finding of cdk-nag."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks

from app import build_app
from lambdas.common import env
from stacks.config import ConfigError
from stacks.pipeline_stack import STACK_NAME
from tests.unit.stacks.conftest import Synthesized
from tests.unit.stacks.synth import (
    STEP_HANDLERS,
    environment,
    flatten,
    function_statements,
    pipeline,
    pipeline_template,
    resources_for,
    role_statements,
    synth_context,
)
from tests.unit.stacks.test_pipeline_stack import sagemaker_role_id

SCRIPT_DIR = "tests/unit/stacks/fixtures/evaluation_script"
OWN_IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/evaluate:2"
# The minimal pipeline (built-in Linear Learner on raw data) judged by a script in SageMaker's scikit-learn image.
SCORED = pipeline(name="scored", evaluation={"script": {"source_dir": SCRIPT_DIR}})
# The script behind preprocessing, in an image of one's own, beside a batch transform (whose transform jobs the
# evaluation does not share).
PREPPED = pipeline(
    name="prepped",
    preprocessing={"source_dir": "examples/churn/preprocessing"},
    batch_transform={},
    evaluation={"script": {"source_dir": SCRIPT_DIR, "image_uri": OWN_IMAGE}},
)
ARN = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
# The steps that check the holdout is there, start, wait for, read and clean up after the evaluation.
KNOWING_STEPS = {"CheckData", "StartEvaluation", "GetStatus", "EvaluateModel", "CleanUp"}
SCIKIT_LEARN_IMAGE = (
    "<FindInMap <AWS::Region>>.dkr.ecr.<AWS::Region>.<AWS::URLSuffix>/sagemaker-scikit-learn:1.2-1-cpu-py3"
)
CODE_URI = re.compile(
    r"\{'Fn::Sub': 's3://cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}/[0-9a-f]{64}\.gz'\}"
)
PROCESSING_JOB_STATE_CHANGE = "SageMaker Processing Job State Change"
TRANSFORM_JOB_STATE_CHANGE = "SageMaker Transform Job State Change"


@pytest.fixture(scope="module")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Both pipelines in the app as app.py builds it (both cdk-nag packs registered), synthesized once."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(synth_context(pipelines=[SCORED, PREPPED]), outdir=str(outdir))
    return Synthesized(app=app, assembly=app.synth())


def stack_template(synthesized: Synthesized, raw: dict[str, Any]) -> Template:
    return Template.from_json(synthesized.templates[STACK_NAME.format(pipeline=raw["name"])])


@pytest.fixture(scope="module")
def scored(synthesized_app: Synthesized) -> Template:
    return stack_template(synthesized_app, SCORED)


@pytest.fixture(scope="module")
def prepped(synthesized_app: Synthesized) -> Template:
    return stack_template(synthesized_app, PREPPED)


def spec(template: Template, step: str) -> dict[str, Any]:
    """The step's EVALUATION variable, its intrinsics rendered as <...>."""
    value: dict[str, Any] = json.loads(flatten(environment(template, step)[env.EVALUATION]))
    return value


def flat_resources(statements: list[dict[str, Any]], action: str) -> list[str]:
    return [flatten(arn) for arn in resources_for(statements, action)]


def rules(template: Template) -> dict[str, dict[str, Any]]:
    """The SageMaker state-change rules by detail type."""
    found = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["aws.sagemaker"]}}}
    )
    return {rule["Properties"]["EventPattern"]["detail-type"][0]: rule["Properties"] for rule in found.values()}


def test_the_script_is_known_to_the_steps_of_the_evaluation_by_one_variable(scored: Template) -> None:
    knowing = {step for step in STEP_HANDLERS if env.EVALUATION in environment(scored, step)}

    assert knowing == KNOWING_STEPS
    assert len({json.dumps(environment(scored, step)[env.EVALUATION]) for step in KNOWING_STEPS}) == 1


def test_the_variable_holds_the_script_its_image_and_where_its_evaluation_goes(scored: Template) -> None:
    settings = spec(scored, "StartEvaluation")

    script = settings.pop("script")
    assert settings == {
        "kind": "script",
        "task": "regression",  # Linear Learner's default predictor_type
        "instance_type": "ml.m5.large",
        "output_prefix": "evaluations/scored",
        "max_wait_seconds": 3600,
    }
    code_uri = script.pop("code_uri")
    assert CODE_URI.fullmatch(code_uri), code_uri
    # An environment-agnostic stack finds the scikit-learn image's account in a per-region mapping.
    assert script == {
        "entry_point": "evaluate.py",
        "image": SCIKIT_LEARN_IMAGE,
        "volume_size_gb": 30,
    }
    assert "ScikitLearnRegistries" in scored.to_json()["Mappings"]


def test_check_data_holds_out_the_newest_day_for_the_script(scored: Template) -> None:
    assert json.loads(environment(scored, "CheckData")[env.HOLDOUT]) == {"days": 1}


def test_start_evaluation_may_start_processing_jobs_and_create_the_model_but_no_transform_job(
    scored: Template,
) -> None:
    statements = function_statements(scored, "StartEvaluation")

    for action in (
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:ListTags",
    ):
        assert flat_resources(statements, action) == [f"{ARN}:processing-job/scored-*"], action
    assert flat_resources(statements, "sagemaker:CreateModel") == [f"{ARN}:model/scored-*"]
    assert flat_resources(statements, "sagemaker:DescribeEndpoint") == [f"{ARN}:endpoint/scored"]
    assert flat_resources(statements, "sagemaker:CreateTransformJob") == []
    (pass_role,) = [statement for statement in statements if "iam:PassRole" in statement["Action"]]
    assert pass_role["Resource"] == {"Fn::GetAtt": [sagemaker_role_id(scored), "Arn"]}


def test_start_evaluation_starts_no_transform_job_beside_a_batch_transform(prepped: Template) -> None:
    statements = function_statements(prepped, "StartEvaluation")

    assert flat_resources(statements, "sagemaker:CreateTransformJob") == []
    assert flat_resources(statements, "sagemaker:CreateProcessingJob") == [f"{ARN}:processing-job/prepped-*"]


@pytest.mark.parametrize(
    ("step", "actions"),
    [
        ("GetStatus", ["sagemaker:DescribeProcessingJob"]),
        ("AwaitStatusChange", ["sagemaker:DescribeProcessingJob"]),
        ("CleanUp", ["sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"]),
    ],
)
def test_the_loop_and_the_clean_up_reach_the_runs_processing_jobs(
    scored: Template, step: str, actions: list[str]
) -> None:
    statements = function_statements(scored, step)

    for action in actions:
        assert flat_resources(statements, action) == [f"{ARN}:processing-job/scored-*"], action
    assert flat_resources(statements, "sagemaker:DescribeTransformJob") == []


def test_processing_jobs_of_the_pipeline_that_ended_wake_the_listener_and_no_transform_job_rule_is_made(
    scored: Template,
) -> None:
    found = rules(scored)

    assert found[PROCESSING_JOB_STATE_CHANGE]["EventPattern"]["detail"] == {
        "ProcessingJobName": [{"prefix": "scored-"}],
        "ProcessingJobStatus": ["Completed", "Failed", "Stopped"],
    }
    assert TRANSFORM_JOB_STATE_CHANGE not in found


def test_a_batch_transform_still_gets_its_transform_job_rule(prepped: Template) -> None:
    assert {PROCESSING_JOB_STATE_CHANGE, TRANSFORM_JOB_STATE_CHANGE} <= set(rules(prepped))


def test_the_sagemaker_role_reads_the_source_lists_the_models_and_writes_the_evaluation(scored: Template) -> None:
    statements = role_statements(scored, sagemaker_role_id(scored))
    object_key = spec(scored, "StartEvaluation")["script"]["code_uri"].rsplit("/", 1)[1].removesuffix("'}")

    # exactly the source object, no wildcard of the assets bucket
    assets = [arn for arn in flat_resources(statements, "s3:GetObject") if "cdk-" in arn and "assets" in arn]
    assert len(assets) == 1, assets
    assert assets[0].endswith(f"/{object_key}"), assets
    # the models' artifacts, S3Prefix inputs SageMaker lists before it downloads them
    listings = [s["Condition"] for s in statements if "s3:ListBucket" in s["Action"]]
    assert {"StringLike": {"s3:prefix": ["models/scored", "models/scored/*"]}} in listings
    # evaluation.json, under the run's evaluation folder
    assert any(arn.endswith("/evaluations/scored/*") for arn in flat_resources(statements, "s3:PutObject"))


def test_evaluate_model_reads_the_scripts_evaluation_and_the_manifest_not_the_data(scored: Template) -> None:
    statements = function_statements(scored, "EvaluateModel")

    readable = flat_resources(statements, "s3:GetObject")
    assert any(arn.endswith("/evaluations/scored/*") for arn in readable), readable
    assert any(arn.endswith("/manifests/scored/*") for arn in readable), readable
    assert not any("/data/demo" in arn for arn in readable), readable
    assert any(arn.endswith("/evaluations/scored/*") for arn in flat_resources(statements, "s3:PutObject"))


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, NIST80053R5Checks], ids=lambda pack: pack.__name__)
def test_cdk_nag_reports_no_unsuppressed_finding(synthesized_app: Synthesized, pack: type[NagPack]) -> None:
    report = pack().validate_scope(synthesized_app.app)

    findings = [
        f"{violation.rule_name} ({violation.severity}) at {resource.construct_path}: {violation.description}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert report.success, "\n".join(findings)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            {"source_dir": SCRIPT_DIR, "entry_point": "score.py"},
            f"pipeline 'demo': evaluation.script.entry_point 'score.py' is not a file in {SCRIPT_DIR}",
        ),
        (
            {"source_dir": "tests/unit/stacks/fixtures/nowhere"},
            "pipeline 'demo': evaluation.script.source_dir 'tests/unit/stacks/fixtures/nowhere' is not a directory",
        ),
    ],
    ids=["no-entry-point", "no-source-dir"],
)
def test_a_missing_script_fails_the_synth_naming_the_field(script: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        pipeline_template(pipeline(evaluation={"script": script}))


# Behind preprocessing, in an image of one's own


def test_behind_preprocessing_start_evaluation_knows_the_preprocessing(prepped: Template) -> None:
    # The models it scores are inference pipelines: the preprocessing's container, then the algorithm's.
    preprocessing = environment(prepped, "StartPreprocessing")[env.PREPROCESSING]

    assert environment(prepped, "StartEvaluation")[env.PREPROCESSING] == preprocessing
    assert json.loads(environment(prepped, "CheckData")[env.HOLDOUT]) == {"days": 1}
    assert len({json.dumps(environment(prepped, step)[env.EVALUATION]) for step in KNOWING_STEPS}) == 1


def test_an_image_of_ones_own_runs_the_script_and_the_sagemaker_role_may_pull_it(prepped: Template) -> None:
    assert spec(prepped, "StartEvaluation")["script"]["image"] == OWN_IMAGE
    statements = role_statements(prepped, sagemaker_role_id(prepped))
    assert "arn:<AWS::Partition>:ecr:eu-west-1:111122223333:repository/team/evaluate" in flat_resources(
        statements, "ecr:BatchGetImage"
    )


def test_behind_preprocessing_the_sagemaker_role_reads_both_sources(prepped: Template) -> None:
    statements = role_statements(prepped, sagemaker_role_id(prepped))
    keys = {
        environment_spec["code_uri"].rsplit("/", 1)[1].removesuffix("'}")
        for environment_spec in (
            json.loads(flatten(environment(prepped, "StartPreprocessing")[env.PREPROCESSING])),
            spec(prepped, "StartEvaluation")["script"],
        )
    }

    assets = {arn.rsplit("/", 1)[1] for arn in flat_resources(statements, "s3:GetObject") if "assets" in arn}
    assert assets == keys
    assert len(keys) == 2
