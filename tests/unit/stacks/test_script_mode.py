"""Built-in XGBoost, a framework's script and an own image's extras, as the synthesized template deploys them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from lambdas.common import env
from stacks.config import ConfigError, parse_pipeline
from stacks.constructs.training_script import check_script_dir
from stacks.pipeline_stack import PipelineStack
from tests.unit.stacks.synth import (
    environment,
    flatten,
    pipeline,
    pipeline_template,
    resources_for,
    role_statements,
    synth_context,
)
from tests.unit.stacks.test_pipeline_stack import sagemaker_role_id

SOURCE_DIR = "examples/churn/preprocessing"  # any directory of the project holding a script
OWN_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1"
METRICS = [{"Name": "validation:f1", "Regex": r"f1=([0-9.]+)"}]


def script(**algorithm: Any) -> dict[str, Any]:
    return {"framework": "sklearn", "version": "1.2-1", "source_dir": SOURCE_DIR, "entry_point": "preprocess.py"} | (
        algorithm
    )


@pytest.fixture(scope="module")
def sklearn() -> Template:
    return pipeline_template(
        pipeline(
            algorithm=script(environment={"MODEL_SERVER_WORKERS": "2"}, metric_definitions=METRICS),
            hyperparameters={"kernel": "rbf", "C": 0.5},
        ),
        region="eu-west-1",
    )


def decoded(template: Template, step: str, variable: str) -> Any:
    """A JSON variable of the step, its intrinsics rendered as <...>."""
    return json.loads(flatten(environment(template, step)[variable]))


def test_a_framework_trains_and_serves_with_its_images_in_the_region(sklearn: Template) -> None:
    # sklearn.json of the SageMaker Python SDK: account 141502667606 in eu-west-1, tag <version>-cpu-py3.
    image = "141502667606.dkr.ecr.eu-west-1.<AWS::URLSuffix>/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert flatten(environment(sklearn, "StartTrainingJob")[env.TRAINING_IMAGE]) == image
    assert flatten(environment(sklearn, "DeployModel")[env.INFERENCE_IMAGE]) == image


def test_the_script_mode_hyperparameters_are_json_encoded_as_the_sdk_sends_them(sklearn: Template) -> None:
    hyperparameters = decoded(sklearn, "StartTrainingJob", env.HYPERPARAMETERS)

    values = {key: json.loads(value) for key, value in hyperparameters.items()}
    submit_directory = values.pop("sagemaker_submit_directory")
    assert values == {
        "kernel": "rbf",
        "C": 0.5,
        "sagemaker_program": "preprocess.py",
        "sagemaker_container_log_level": 20,
        "sagemaker_region": "<AWS::Region>",
    }
    assert re.fullmatch(r"s3://cdk-[a-z0-9]+-assets-.+/[0-9a-f]{64}\.gz", submit_directory), submit_directory
    # The job's name is added per run by StartTrainingJob.
    assert environment(sklearn, "StartTrainingJob")[env.SCRIPT_MODE] == "true"


def test_metric_definitions_reach_the_training_step(sklearn: Template) -> None:
    assert decoded(sklearn, "StartTrainingJob", env.METRIC_DEFINITIONS) == METRICS


def test_a_scripts_data_is_not_checked_as_csv_by_default(sklearn: Template) -> None:
    assert environment(sklearn, "StartTrainingJob")[env.VALIDATE_DATA] == "false"


def test_the_model_serves_the_code_from_s3_with_the_sdks_variables(sklearn: Template) -> None:
    served = decoded(sklearn, "DeployModel", env.MODEL_ENVIRONMENT)
    submit_directory = json.loads(
        decoded(sklearn, "StartTrainingJob", env.HYPERPARAMETERS)["sagemaker_submit_directory"]
    )

    assert served == {
        "MODEL_SERVER_WORKERS": "2",
        "SAGEMAKER_PROGRAM": "preprocess.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": submit_directory,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "<AWS::Region>",
    }
    # The registry's version holds the same container as the endpoint.
    assert decoded(sklearn, "EvaluateModel", env.MODEL_ENVIRONMENT) == served


def test_the_sagemaker_role_reads_exactly_the_code_object(sklearn: Template) -> None:
    statements = role_statements(sklearn, sagemaker_role_id(sklearn))
    submit_directory = json.loads(
        decoded(sklearn, "StartTrainingJob", env.HYPERPARAMETERS)["sagemaker_submit_directory"]
    )
    object_key = submit_directory.rsplit("/", 1)[1]

    assets = [flatten(arn) for arn in resources_for(statements, "s3:GetObject") if "assets" in flatten(arn)]
    assert len(assets) == 1, assets
    assert assets[0].endswith(f"/{object_key}")
    assert "*" not in assets[0]


def test_built_in_xgboost_runs_sagemakers_image_for_both_scopes() -> None:
    template = pipeline_template(
        pipeline(algorithm={"builtin": "xgboost", "version": "1.7-1"}, hyperparameters={"num_round": 10}),
        region="us-east-1",
    )

    # xgboost.json of the SDK: account 683313688378 in us-east-1, tag the version alone.
    image = "683313688378.dkr.ecr.us-east-1.<AWS::URLSuffix>/sagemaker-xgboost:1.7-1"
    training = environment(template, "StartTrainingJob")
    assert flatten(training[env.TRAINING_IMAGE]) == image
    assert flatten(environment(template, "DeployModel")[env.INFERENCE_IMAGE]) == image
    assert json.loads(training[env.HYPERPARAMETERS]) == {"num_round": "10"}
    assert not {env.SCRIPT_MODE, env.METRIC_DEFINITIONS} & set(training)
    assert env.MODEL_ENVIRONMENT not in environment(template, "DeployModel")


def test_an_environment_agnostic_stack_looks_xgboost_up_in_one_mapping() -> None:
    template = pipeline_template(pipeline(algorithm={"builtin": "xgboost"}, hyperparameters={"num_round": 10}))

    mappings = template.to_json()["Mappings"]
    assert list(mappings) == ["Xgboost305TrainingRegistries"]
    assert mappings["Xgboost305TrainingRegistries"]["eu-west-1"] == {"account": "141502667606"}
    image = flatten(environment(template, "DeployModel")[env.INFERENCE_IMAGE])
    assert image.endswith("/sagemaker-xgboost:3.0-5")


def test_pytorch_picks_the_processor_of_each_instance_type_and_serves_the_models_code() -> None:
    template = pipeline_template(
        pipeline(
            algorithm=script(framework="pytorch", version="2.6.0"),
            training={"instance_type": "ml.g5.xlarge"},
            endpoint={"instance_type": "ml.c5.large"},
        ),
        region="eu-west-1",
    )

    assert flatten(environment(template, "StartTrainingJob")[env.TRAINING_IMAGE]).endswith(
        "/pytorch-training:2.6.0-gpu-py312"
    )
    assert flatten(environment(template, "DeployModel")[env.INFERENCE_IMAGE]).endswith(
        "/pytorch-inference:2.6.0-cpu-py312"
    )
    # The SDK repacks PyTorch's code into model.tar.gz's code/; the script saves it there itself here.
    assert decoded(template, "DeployModel", env.MODEL_ENVIRONMENT)["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"


def test_tensorflow_serving_gets_no_script_variables() -> None:
    template = pipeline_template(
        pipeline(algorithm=script(framework="tensorflow", version="2.19.0")), region="eu-west-1"
    )

    assert flatten(environment(template, "DeployModel")[env.INFERENCE_IMAGE]).endswith(
        "763104351884.dkr.ecr.eu-west-1.<AWS::URLSuffix>/tensorflow-inference:2.19.0-cpu"
    )
    assert env.MODEL_ENVIRONMENT not in environment(template, "DeployModel")


def test_an_own_image_gets_its_metric_definitions_and_environment() -> None:
    template = pipeline_template(
        pipeline(algorithm={"image_uri": OWN_IMAGE, "environment": {"LOG": "debug"}, "metric_definitions": METRICS})
    )

    assert decoded(template, "StartTrainingJob", env.METRIC_DEFINITIONS) == METRICS
    assert decoded(template, "DeployModel", env.MODEL_ENVIRONMENT) == {"LOG": "debug"}
    assert env.SCRIPT_MODE not in environment(template, "StartTrainingJob")


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        (
            pipeline(algorithm=script(framework="pytorch", version="2.3.0")),
            "us-isof-east-1",
            "pipeline 'demo': region us-isof-east-1 has no pytorch 2.3.0 inference image in pytorch_images.json; "
            "choose another algorithm.version",
        ),
        (
            pipeline(algorithm={"builtin": "xgboost"}, hyperparameters={"num_round": 1}),
            "mars-north-1",
            "pipeline 'demo': region mars-north-1 has no xgboost 3.0-5 training image",
        ),
        (
            pipeline(algorithm=script(), training={"instance_type": "ml.p3.2xlarge"}),
            "eu-west-1",
            "pipeline 'demo': training.instance_type ml.p3.2xlarge runs on gpu and sklearn 1.2-1 has training "
            "images for cpu only",
        ),
        (
            pipeline(
                algorithm=script(framework="pytorch", version="2.6.0"), endpoint={"instance_type": "ml.inf2.xlarge"}
            ),
            "eu-west-1",
            "pipeline 'demo': endpoint.instance_type ml.inf2.xlarge runs on inf and pytorch 2.6.0 has inference images "
            "for cpu, gpu only",
        ),
        (
            pipeline(algorithm=script(source_dir="examples/nowhere")),
            "eu-west-1",
            "pipeline 'demo': algorithm.source_dir 'examples/nowhere' is not a directory",
        ),
        (
            pipeline(algorithm=script(entry_point="train.py")),
            "eu-west-1",
            f"pipeline 'demo': algorithm.entry_point 'train.py' is not a file in {SOURCE_DIR}",
        ),
    ],
    ids=["region-lacks-inference-image", "unknown-region", "gpu-for-cpu-only", "inferentia", "no-dir", "no-entry"],
)
def test_what_sagemaker_cannot_run_fails_the_synth_naming_the_field(
    raw: dict[str, Any], region: str, message: str
) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        pipeline_template(raw, region=region)


def test_a_source_dir_that_resolves_outside_the_project_is_refused(tmp_path: Path) -> None:
    # GIVEN a project whose models/ is a link to a directory elsewhere
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (elsewhere / "train.py").write_text("print('train')\n")
    (project / "models").symlink_to(elsewhere)

    with pytest.raises(ConfigError, match=r"^pipeline 'churn': algorithm.source_dir 'models' resolves to .*outside"):
        check_script_dir("models", "train.py", project_root=project, pipeline="churn")


def test_a_source_dir_inside_the_project_with_its_entry_point_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "models" / "churn").mkdir(parents=True)
    (tmp_path / "models" / "churn" / "train.py").write_text("print('train')\n")

    assert (
        check_script_dir("models/churn", "train.py", project_root=tmp_path, pipeline="churn")
        == (tmp_path / "models" / "churn").resolve()
    )


def test_an_environment_over_lambdas_4_kb_fails_synth_naming_the_function_and_its_largest_variable() -> None:
    # GIVEN 40 metric definitions (the API's maximum) with long regexes: StartTrainingJob's environment grows past
    # what Lambda accepts, which CloudFormation would only report at deploy time
    metrics = [
        {"Name": f"validation:metric_{i:02d}", "Regex": f"metric_{i:02d}={'[0-9.e+-]' * 20}([0-9.]+)"}
        for i in range(40)
    ]

    # WHEN the app is synthesized THEN synth fails, naming the function, the limit and the variable to shorten
    app = App(context=synth_context())
    PipelineStack(app, "Pipeline", config=parse_pipeline(pipeline(algorithm=script(metric_definitions=metrics))))
    with pytest.raises(Exception, match=r"StartTrainingJob.*over Lambda's 4096-byte limit.*METRIC_DEFINITIONS"):
        app.synth()


def test_forty_short_metric_definitions_fit_in_the_functions_environment() -> None:
    metrics = [{"Name": f"validation:m{i}", "Regex": f"m{i}=([0-9.]+)"} for i in range(40)]

    template = pipeline_template(pipeline(algorithm=script(metric_definitions=metrics)), region="eu-west-1")

    assert len(decoded(template, "StartTrainingJob", env.METRIC_DEFINITIONS)) == 40
