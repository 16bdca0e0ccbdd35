"""The `training` section: the training job's resources and how the window's data is checked before it."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictInt

from stacks.config.fields import InstanceType, Section

# One GetObject per file when StartTrainingJob checks the data, within its 15 minutes (see its validation
# module); and CheckData lists 1,000 keys per request.
DEFAULT_MAX_FILES_PER_RUN = 100_000
MAX_FILES_PER_RUN_LIMIT = 1_000_000


class TrainingConfig(Section):
    instance_type: InstanceType = "ml.m5.large"
    instance_count: StrictInt = Field(default=1, ge=1, le=100)
    volume_size_gb: StrictInt = Field(default=30, ge=1, le=16_384)
    # CreateTrainingJob's StoppingCondition allows up to 28 days.
    max_runtime_seconds: StrictInt = Field(default=86_400, ge=1, le=2_419_200)
    validate_data: StrictBool = True  # StartTrainingJob checks every file is numeric CSV before training
    # CheckData refuses a window with more files
    max_files_per_run: StrictInt = Field(default=DEFAULT_MAX_FILES_PER_RUN, ge=1, le=MAX_FILES_PER_RUN_LIMIT)
