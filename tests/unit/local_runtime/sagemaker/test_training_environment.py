"""The SM_* environment a training process is given, built from the job without running it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from local_runtime.sagemaker.containers import SCRIPT, TrainingContainer
from local_runtime.sagemaker.training_environment import training_environment
from local_runtime.sagemaker.training_input import JobLayout

CONTAINER = TrainingContainer(
    kind=SCRIPT, image_uri="sklearn:1", command=("python", "train.py"), program="train.py", submit_directory="s3://b/c"
)


def job(**changes: Any) -> SimpleNamespace:
    fields: dict[str, Any] = {
        "training_job_name": "churn-1",
        "arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1",
        "hyper_parameters": {"alpha": "0.5", "sagemaker_program": '"train.py"'},
        "input_data_config": [{"ChannelName": "validation"}, {"ChannelName": "train", "ContentType": "text/csv"}],
        "resource_config": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 3},
    }
    return SimpleNamespace(**{**fields, **changes})


def test_the_training_env_json_agrees_with_the_sm_variables(tmp_path: Path) -> None:
    # GIVEN a script-mode job with two channels on a three-instance request
    layout = JobLayout(tmp_path)

    # WHEN its environment is built
    env = training_environment(layout=layout, job=job(), region="us-east-1", container=CONTAINER)

    # THEN SM_TRAINING_ENV says what the separate variables say, on one host
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert training_env["channel_input_dirs"] == {
        "train": env["SM_CHANNEL_TRAIN"],
        "validation": env["SM_CHANNEL_VALIDATION"],
    }
    assert training_env["hyperparameters"] == json.loads(env["SM_HPS"]) == {"alpha": 0.5}
    assert env["SM_HP_ALPHA"] == "0.5"
    assert training_env["input_data_config"] == json.loads(env["SM_INPUT_DATA_CONFIG"])
    assert (training_env["module_name"], env["SM_MODULE_NAME"], env["SM_USER_ENTRY_POINT"]) == (
        "train",
        "train",
        "train.py",
    )
    assert training_env["hosts"] == json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert env["SM_CURRENT_INSTANCE_TYPE"] == training_env["current_instance_type"] == "ml.m5.xlarge"
    assert env["SM_NUM_CPUS"] == str(training_env["num_cpus"])


def test_the_callers_environment_overrides_the_toolkits(tmp_path: Path) -> None:
    # GIVEN a CreateTrainingJob Environment that sets one of the toolkit's variables
    extra = {"SM_LOG_LEVEL": "10", "MY_SETTING": "on"}

    # WHEN the environment is built
    env = training_environment(
        layout=JobLayout(tmp_path), job=job(), region="eu-west-1", container=CONTAINER, extra=extra
    )

    # THEN the caller's values win and the region is the job's
    assert (env["SM_LOG_LEVEL"], env["MY_SETTING"], env["AWS_REGION"]) == ("10", "on", "eu-west-1")
