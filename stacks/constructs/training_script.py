"""A framework's script (Script Mode): `source_dir` shipped as `sourcedir.tar.gz`, and what the SageMaker Python
SDK would tell the training job and the model's container about it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from aws_cdk import Aws
from constructs import Construct

from stacks.config import PipelineConfig
from stacks.constructs.sagemaker_role import SageMakerExecutionRole
from stacks.constructs.source_archive import check_code_dir, source_asset
from stacks.paths import PROJECT_ROOT

# The SDK's default container_log_level (sagemaker/estimator.py, Framework.__init__: logging.INFO).
CONTAINER_LOG_LEVEL = logging.INFO
# Where the model's serving code is when it travels inside model.tar.gz, as the SDK sets it after repacking.
MODEL_CODE_DIRECTORY = "/opt/ml/model/code"
# Frameworks whose serving container loads the code from SAGEMAKER_SUBMIT_DIRECTORY, an S3 sourcedir.tar.gz: the
# SDK's SKLearnModel and XGBoostModel repack nothing (prepare_container_def with repack only under network
# isolation). PyTorchModel repacks the code into model.tar.gz's code/ (for every version served by the multi-model
# server, 1.2 on) and TensorFlowModel's serving container reads code/inference.py from the model: for those the
# training script must save its serving code under SM_MODEL_DIR/code, as this pipeline does not repack.
_CODE_FROM_S3 = frozenset({"sklearn", "xgboost"})


class TrainingScript(Construct):
    """The source directory as an asset the SageMaker role may read, with the script's hyperparameters and the
    model container's environment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        sagemaker: SageMakerExecutionRole,
        project_root: Path = PROJECT_ROOT,
    ) -> None:
        super().__init__(scope, construct_id)
        algorithm = config.algorithm
        if algorithm.framework is None or algorithm.entry_point is None or algorithm.source_dir is None:
            raise ValueError(f"pipeline {config.name!r} runs no framework script")
        self.framework = algorithm.framework
        self.entry_point = algorithm.entry_point
        self.user_environment = dict(algorithm.environment)
        source = check_script_dir(
            algorithm.source_dir, algorithm.entry_point, project_root=project_root, pipeline=config.name
        )
        # The training job downloads it with the SageMaker role; so does a serving container that loads it from S3.
        self.asset = source_asset(self, "Source", source=source, reader=sagemaker.role)

    @property
    def code_uri(self) -> str:
        return self.asset.s3_object_url

    def hyperparameters(self) -> dict[str, str]:
        """The Script Mode hyperparameters known at synth, JSON-encoded as the SDK's Framework sends every value
        (`_script_mode_hyperparam_update`, then `hyperparameters()`); StartTrainingJob adds sagemaker_job_name."""
        return {
            "sagemaker_program": json.dumps(self.entry_point),
            "sagemaker_submit_directory": json.dumps(self.code_uri),
            "sagemaker_container_log_level": json.dumps(CONTAINER_LOG_LEVEL),
            "sagemaker_region": json.dumps(Aws.REGION),
        }

    def model_environment(self) -> dict[str, str]:
        """The model container's environment: the caller's, then the variables the SDK's FrameworkModel sets
        (`_script_mode_env_vars`: plain strings, not JSON). TensorFlow Serving takes none of them."""
        if self.framework == "tensorflow":
            return dict(self.user_environment)
        directory = self.code_uri if self.framework in _CODE_FROM_S3 else MODEL_CODE_DIRECTORY
        return {
            **self.user_environment,
            "SAGEMAKER_PROGRAM": self.entry_point,
            "SAGEMAKER_SUBMIT_DIRECTORY": directory,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": str(CONTAINER_LOG_LEVEL),
            "SAGEMAKER_REGION": Aws.REGION,
        }


def check_script_dir(source_dir: str, entry_point: str, *, project_root: Path, pipeline: str) -> Path:
    """The source directory, once it is inside the project and holds the entry point; raise ConfigError naming the
    field otherwise."""
    return check_code_dir(
        source_dir, [("entry_point", entry_point)], where=f"pipeline {pipeline!r}: algorithm", project_root=project_root
    )
