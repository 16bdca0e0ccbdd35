"""A pipeline with preprocessing: its source shipped as a reproducible asset, its steps configured and granted."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from lambdas.common import env
from stacks.algorithms import scikit_learn_registries
from stacks.config import PREPROCESSING_WAIT_MARGIN_SECONDS, ConfigError, parse_pipeline
from stacks.constructs.preprocessing import check_source_dir, pack_source
from tests.unit.stacks.synth import (
    STEP_HANDLERS,
    environment,
    flatten,
    function_statements,
    pipeline,
    pipeline_template,
    resources_for,
    role_statements,
)
from tests.unit.stacks.test_pipeline_stack import sagemaker_role_id

SOURCE_DIR = "examples/churn/preprocessing"
PROCESSING_JOBS = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:processing-job/churn-*"
# The steps that start, train on, serve, register or clean up after the preprocessing.
# StartEvaluation creates the new model with its pipeline containers, as DeployModel does (which adopts it).
KNOWING_STEPS = {
    "CheckData",
    "StartPreprocessing",
    "StartTrainingJob",
    "StartEvaluation",
    "EvaluateModel",
    "DeployModel",
    "CleanUp",
}
PROCESSING_ACTIONS = (
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
)


def with_preprocessing(**preprocessing: Any) -> dict[str, Any]:
    return pipeline(name="churn", preprocessing={"source_dir": SOURCE_DIR, **preprocessing})


@pytest.fixture(scope="module")
def template() -> Template:
    return pipeline_template(with_preprocessing(postprocess_entry_point="postprocess.py", max_runtime_seconds=600))


@pytest.fixture(scope="module")
def plain() -> Template:
    return pipeline_template(pipeline(name="churn"))


def spec(template: Template, step: str) -> dict[str, Any]:
    """The step's PREPROCESSING variable, its intrinsics rendered as <...>."""
    value: dict[str, Any] = json.loads(flatten(environment(template, step)[env.PREPROCESSING]))
    return value


def state_machine_statements(template: Template) -> list[dict[str, Any]]:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    return role_statements(template, machine["Properties"]["RoleArn"]["Fn::GetAtt"][0])


def all_statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_preprocessing_is_known_to_the_steps_that_use_it_only(template: Template) -> None:
    knowing = {step for step in STEP_HANDLERS if env.PREPROCESSING in environment(template, step)}

    assert knowing == KNOWING_STEPS
    # every one of them reads the same settings
    assert len({environment(template, step)[env.PREPROCESSING].__repr__() for step in KNOWING_STEPS}) == 1


def test_the_variable_holds_the_job_and_serving_settings(template: Template) -> None:
    settings = spec(template, "StartPreprocessing")

    assert {key: settings[key] for key in settings if key not in ("code_uri", "image")} == {
        "entry_point": "preprocess.py",
        "postprocess_entry_point": "postprocess.py",
        "instance_type": "ml.m5.large",
        "volume_size_gb": 30,
        "max_runtime_seconds": 600,
        "output_prefix": "preprocessed/churn",
    }
    assert settings["code_uri"].endswith(".gz'}")
    assert "s3://cdk-" in settings["code_uri"]
    # An environment-agnostic stack finds the scikit-learn image's account in a per-region mapping.
    assert settings["image"] == (
        "<FindInMap <AWS::Region>>.dkr.ecr.<AWS::Region>.<AWS::URLSuffix>/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    mapping = template.to_json()["Mappings"]["ScikitLearnRegistries"]
    assert {region: row["account"] for region, row in mapping.items()} == scikit_learn_registries().accounts


def test_get_status_stops_waiting_a_margin_after_the_jobs_maximum_runtime(template: Template) -> None:
    variables = environment(template, "GetStatus")

    assert env.PREPROCESSING not in variables
    assert variables[env.MAX_PREPROCESSING_WAIT_SECONDS] == str(600 + PREPROCESSING_WAIT_MARGIN_SECONDS)


def test_start_preprocessing_may_start_only_the_pipelines_processing_jobs(template: Template) -> None:
    statements = function_statements(template, "StartPreprocessing")

    for action in (
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:AddTags",
        "sagemaker:ListTags",
    ):
        assert [flatten(arn) for arn in resources_for(statements, action)] == [PROCESSING_JOBS], action
    (pass_role,) = [statement for statement in statements if "iam:PassRole" in statement["Action"]]
    assert pass_role["Resource"] == {"Fn::GetAtt": [sagemaker_role_id(template), "Arn"]}


@pytest.mark.parametrize(
    ("step", "actions"),
    [
        ("GetStatus", ["sagemaker:DescribeProcessingJob"]),
        ("CleanUp", ["sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"]),
        ("AwaitStatusChange", ["sagemaker:DescribeProcessingJob"]),
    ],
)
def test_the_loop_and_the_clean_up_reach_the_pipelines_processing_jobs(
    template: Template, step: str, actions: list[str]
) -> None:
    statements = function_statements(template, step)

    for action in actions:
        assert [flatten(arn) for arn in resources_for(statements, action)] == [PROCESSING_JOBS], action


def test_the_sagemaker_role_reads_exactly_the_source_object(template: Template) -> None:
    statements = role_statements(template, sagemaker_role_id(template))
    code_uri = spec(template, "StartPreprocessing")["code_uri"]
    object_key = code_uri.rsplit("/", 1)[1].removesuffix("'}")

    readable = [flatten(arn) for arn in resources_for(statements, "s3:GetObject")]
    assets = [arn for arn in readable if "cdk-" in arn and "assets" in arn]
    assert len(assets) == 1, assets
    assert assets[0].endswith(f"/{object_key}"), assets
    assert "*" not in assets[0]


def test_the_sagemaker_role_writes_and_reads_the_preprocessed_data(template: Template) -> None:
    statements = role_statements(template, sagemaker_role_id(template))

    for action in ("s3:PutObject", "s3:GetObject"):
        assert any(flatten(arn).endswith("/preprocessed/churn/*") for arn in resources_for(statements, action))


def test_processing_jobs_of_the_pipeline_that_ended_wake_the_listener(template: Template) -> None:
    rules = template.find_resources(
        "AWS::Events::Rule",
        {"Properties": {"EventPattern": {"detail-type": ["SageMaker Processing Job State Change"]}}},
    )

    (rule,) = rules.values()
    assert rule["Properties"]["EventPattern"]["source"] == ["aws.sagemaker"]
    assert rule["Properties"]["EventPattern"]["detail"] == {
        "ProcessingJobName": [{"prefix": "churn-"}],
        "ProcessingJobStatus": ["Completed", "Failed", "Stopped"],
    }


def test_the_state_machine_may_stop_the_pipelines_processing_jobs(template: Template) -> None:
    statements = state_machine_statements(template)

    assert [flatten(arn) for arn in resources_for(statements, "sagemaker:StopProcessingJob")] == [PROCESSING_JOBS]


def test_a_pipeline_without_preprocessing_has_no_processing_permission_rule_or_variable(plain: Template) -> None:
    assert not any(env.PREPROCESSING in environment(plain, step) for step in STEP_HANDLERS)
    assert env.MAX_PREPROCESSING_WAIT_SECONDS not in environment(plain, "GetStatus")
    statements = all_statements(plain)
    for action in PROCESSING_ACTIONS:
        assert (
            resources_for(
                [{**s, "Action": s["Action"] if isinstance(s["Action"], list) else [s["Action"]]} for s in statements],
                action,
            )
            == []
        ), action
    assert (
        plain.find_resources(
            "AWS::Events::Rule",
            {"Properties": {"EventPattern": {"detail-type": ["SageMaker Processing Job State Change"]}}},
        )
        == {}
    )
    assert "ScikitLearnRegistries" not in plain.to_json().get("Mappings", {})


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2"])
def test_a_stack_in_a_known_region_gets_that_regions_scikit_learn_image(region: str) -> None:
    template = pipeline_template(with_preprocessing(), region=region)

    account = scikit_learn_registries().accounts[region]
    assert spec(template, "DeployModel")["image"] == (
        f"{account}.dkr.ecr.{region}.<AWS::URLSuffix>/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )


def test_an_image_of_ones_own_is_used_and_the_sagemaker_role_may_pull_it() -> None:
    image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/prep:3"
    template = pipeline_template(with_preprocessing(image_uri=image))

    assert spec(template, "StartPreprocessing")["image"] == image
    statements = role_statements(template, sagemaker_role_id(template))
    assert "arn:<AWS::Partition>:ecr:eu-west-1:111122223333:repository/team/prep" in [
        flatten(arn) for arn in resources_for(statements, "ecr:BatchGetImage")
    ]
    assert "ScikitLearnRegistries" not in template.to_json().get("Mappings", {})


@pytest.mark.parametrize(
    ("region", "account"),
    [("eu-west-1", "141502667606"), ("ap-southeast-2", "783357654285"), (None, "<FindInMap <AWS::Region>>")],
)
def test_built_in_xgboost_serves_behind_the_preprocessing_with_its_image_in_the_region(
    region: str | None, account: str
) -> None:
    # GIVEN a pipeline with preprocessing that trains built-in XGBoost (no region: an environment-agnostic stack)
    config = with_preprocessing(postprocess_entry_point="postprocess.py") | {
        "algorithm": {"builtin": "xgboost", "version": "1.7-1"},
        "hyperparameters": {"objective": "binary:logistic", "num_round": 20},
    }

    # WHEN it is synthesized
    template = pipeline_template(config, region=region)

    # THEN the steps that build the serving pipeline, DeployModel and EvaluateModel (its registry version), put
    # SageMaker's XGBoost image of the region between the scikit-learn containers of the preprocessing
    host = f"dkr.ecr.{region or '<AWS::Region>'}.<AWS::URLSuffix>"
    for step in ("DeployModel", "EvaluateModel"):
        variables = environment(template, step)
        assert flatten(variables[env.INFERENCE_IMAGE]) == f"{account}.{host}/sagemaker-xgboost:1.7-1", step
        assert spec(template, step)["image"].endswith(f".{host}/sagemaker-scikit-learn:1.2-1-cpu-py3"), step
        assert spec(template, step)["postprocess_entry_point"] == "postprocess.py", step
        assert env.MODEL_ENVIRONMENT not in variables  # the built-in needs no variable: text/csv is its default
    # ... and training reads the preprocessed data with XGBoost's image
    assert flatten(environment(template, "StartTrainingJob")[env.TRAINING_IMAGE]).endswith("/sagemaker-xgboost:1.7-1")


def test_a_stack_in_a_region_without_a_scikit_learn_image_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"region mars-north-1 has no scikit-learn image.*preprocessing\.image_uri"):
        pipeline_template(with_preprocessing(), region="mars-north-1")


def write_source(root: Path, *names: str) -> None:
    source = root / "prep"
    source.mkdir()
    for name in names:
        (source / name).write_text("print('fit')\n")


@pytest.mark.parametrize(
    ("files", "preprocessing", "message"),
    [
        ((), {"source_dir": "elsewhere"}, "preprocessing.source_dir 'elsewhere' is not a directory"),
        (("fit.py",), {"source_dir": "prep"}, "preprocessing.entry_point 'preprocess.py' is not a file in prep"),
        (
            ("preprocess.py",),
            {"source_dir": "prep", "postprocess_entry_point": "postprocess.py"},
            "preprocessing.postprocess_entry_point 'postprocess.py' is not a file in prep",
        ),
    ],
    ids=["no-source-dir", "no-entry-point", "no-postprocess-script"],
)
def test_a_missing_source_is_a_config_error_naming_the_field(
    tmp_path: Path, files: tuple[str, ...], preprocessing: dict[str, Any], message: str
) -> None:
    write_source(tmp_path, *files)
    config = parse_pipeline(pipeline(name="churn", preprocessing=preprocessing))
    assert config.preprocessing is not None

    with pytest.raises(ConfigError, match="^" + re.escape("pipeline 'churn': " + message)):
        check_source_dir(config.preprocessing, project_root=tmp_path, pipeline="churn")


def test_a_missing_source_fails_the_synth() -> None:
    with pytest.raises(ConfigError, match=re.escape("preprocessing.source_dir 'examples/nowhere' is not a directory")):
        pipeline_template(pipeline(name="churn", preprocessing={"source_dir": "examples/nowhere"}))


def test_the_source_archive_is_reproducible_and_holds_only_the_sources(tmp_path: Path) -> None:
    # GIVEN a source directory with a module, a data file, and the host's caches
    write_source(tmp_path, "preprocess.py", "helpers.py")
    source = tmp_path / "prep"
    (source / "lib").mkdir()
    (source / "lib" / "categories.json").write_text("[]")
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "preprocess.cpython-311.pyc").write_bytes(b"\0")
    (source / "stale.pyc").write_bytes(b"\0")
    (source / "preprocess.py").chmod(0o755)

    # WHEN it is packed twice
    first, second = pack_source(source), pack_source(source)

    # THEN the bytes are the same, the gzip header carries no time, and only the sources are inside
    assert first == second
    assert first[4:8] == b"\0\0\0\0"  # gzip MTIME
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["helpers.py", "lib/categories.json", "preprocess.py"]
        assert {m.mtime for m in members} == {0}
        assert {m.name: m.mode for m in members}["preprocess.py"] == 0o755
        assert {m.name: m.mode for m in members}["helpers.py"] == 0o644
        extracted = tar.extractfile("preprocess.py")
        assert extracted is not None
        assert extracted.read() == b"print('fit')\n"


def test_the_archive_changes_with_the_code(tmp_path: Path) -> None:
    write_source(tmp_path, "preprocess.py")
    before = pack_source(tmp_path / "prep")

    (tmp_path / "prep" / "preprocess.py").write_text("print('fit again')\n")

    assert pack_source(tmp_path / "prep") != before
