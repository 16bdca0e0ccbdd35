"""The `preprocessing` section: the user's transformation, fitted on each window's raw data in a Processing job."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StrictInt

from stacks.config.fields import EcrImageUri, InstanceType, Prefix, Rule, Section, derived_in_schema
from stacks.history_budget import PREPROCESSING_WAIT_MARGIN_SECONDS
from stacks.show import show

# A script in the preprocessing source directory: a plain file name, run as `python3 <name>` from that directory.
_SCRIPT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")
ScriptName = Annotated[
    str, Field(pattern=_SCRIPT_NAME.pattern), Rule("a Python file name like preprocess.py (no directories)")
]


def inside_the_project(source_dir: str) -> str:
    if source_dir.startswith("/") or ".." in source_dir.split("/"):
        raise ValueError(f"must be a directory inside the project, got {show(source_dir)}")
    return source_dir.rstrip("/")


class PreprocessingConfig(Section):
    """The user's preprocessing: fitted on the window's raw data in a SageMaker Processing job every run.

    `source_dir` (relative to the project root) holds `entry_point`, which fits the transformation, writes the
    transformed training data and the fitted artifact, and serves as the first container of the pipeline model.
    `postprocess_entry_point`, in the same directory, serves as the last container (a class index back to its
    label, say). `image` defaults to SageMaker's scikit-learn image, the same version for fitting and serving.
    """

    model_config = derived_in_schema(output_prefix="preprocessed/<pipeline name>")

    source_dir: Annotated[str, Field(min_length=1), AfterValidator(inside_the_project)]
    entry_point: ScriptName = "preprocess.py"
    postprocess_entry_point: ScriptName | None = None
    image: EcrImageUri | None = Field(default=None, alias="image_uri")
    instance_type: InstanceType = "ml.m5.large"
    volume_size_gb: StrictInt = Field(default=30, ge=1, le=16_384)
    # CreateProcessingJob's StoppingCondition allows up to 7 days.
    max_runtime_seconds: StrictInt = Field(default=3_600, ge=1, le=604_800)
    # the transformed data and fitted artifact of each run: <prefix>/<run id>/ (PipelineConfig fills it in)
    output_prefix: Prefix

    @property
    def max_wait_seconds(self) -> int:
        """How long the run waits for the job: SageMaker stops it at max_runtime_seconds, the margin covers Stopping."""
        return self.max_runtime_seconds + PREPROCESSING_WAIT_MARGIN_SECONDS
