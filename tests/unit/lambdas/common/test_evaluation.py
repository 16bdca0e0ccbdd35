"""The EVALUATION variable as the stack writes it: the built-in evaluators' or the user's script's settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.common.errors import ConfigurationError
from lambdas.common.evaluation import EvaluationScript, EvaluationSettings

BUILTIN = {
    "kind": "builtin",
    "task": "binary",
    "algorithm": "linear-learner",
    "hyperparameters": {"predictor_type": "binary_classifier"},
    "accept": "application/jsonlines",
    "instance_type": "ml.m5.large",
    "output_prefix": "/evaluation/churn/",
    "max_wait_seconds": 3600,
}
CODE_URI = "s3://assets/0f3c9a.tar.gz"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPT_FIELDS = {"code_uri": CODE_URI, "entry_point": "evaluate.py", "image": IMAGE, "volume_size_gb": 30}
SCRIPT = {
    "kind": "script",
    "task": None,
    "instance_type": "ml.m5.xlarge",
    "output_prefix": "evaluation/churn",
    "max_wait_seconds": 7200,
    "script": SCRIPT_FIELDS,
}


def settings(spec: dict[str, Any]) -> EvaluationSettings | None:
    return EvaluationSettings.from_env({"EVALUATION": json.dumps(spec)})


def test_a_script_evaluation_names_the_script_and_no_built_in_reading() -> None:
    assert settings(SCRIPT) == EvaluationSettings(
        kind="script",
        task=None,
        instance_type="ml.m5.xlarge",
        output_prefix="evaluation/churn",
        max_wait_seconds=7200,
        script=EvaluationScript(code_uri=CODE_URI, entry_point="evaluate.py", image=IMAGE, volume_size_gb=30),
    )


def test_a_script_evaluation_keeps_the_models_task_when_known() -> None:
    evaluation = settings({**SCRIPT, "task": "regression"})

    assert evaluation is not None
    assert (evaluation.task, evaluation.uses_script) == ("regression", True)


@pytest.mark.parametrize("spec", [BUILTIN, {k: v for k, v in BUILTIN.items() if k != "kind"}], ids=["kind", "no-kind"])
def test_a_builtin_evaluation_is_read_with_or_without_its_kind(spec: dict[str, Any]) -> None:
    assert settings(spec) == EvaluationSettings(
        kind="builtin",
        task="binary",
        algorithm="linear-learner",
        hyperparameters={"predictor_type": "binary_classifier"},
        accept="application/jsonlines",
        instance_type="ml.m5.large",
        output_prefix="evaluation/churn",
        max_wait_seconds=3600,
    )


def test_without_the_variable_there_is_no_evaluation() -> None:
    assert EvaluationSettings.from_env({}) is None


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({**SCRIPT, "kind": "notebook"}, "'notebook'"),
        ({**BUILTIN, "task": None}, "'task'"),
        ({k: v for k, v in SCRIPT.items() if k != "script"}, "'script'"),
        ({**SCRIPT, "script": None}, "NoneType"),
        *[
            ({**SCRIPT, "script": {k: v for k, v in SCRIPT_FIELDS.items() if k != key}}, f"'{key}'")
            for key in SCRIPT_FIELDS
        ],
        ({**SCRIPT, "script": {**SCRIPT_FIELDS, "volume_size_gb": "thirty"}}, "thirty"),
        ({k: v for k, v in SCRIPT.items() if k != "instance_type"}, "'instance_type'"),
    ],
    ids=[
        "unknown-kind",
        "builtin-without-task",
        "script-without-script",
        "script-null",
        *[f"script-without-{key}" for key in SCRIPT_FIELDS],
        "script-volume-not-a-number",
        "script-without-instance-type",
    ],
)
def test_a_malformed_evaluation_is_a_configuration_error_naming_what(spec: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match="environment variable EVALUATION must be a JSON object") as raised:
        settings(spec)
    assert named in str(raised.value)
