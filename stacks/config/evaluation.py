"""The `evaluation` section: which of the window's files judge the model instead of training it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictFloat, StrictInt, model_validator

from contract.evaluation import ANSWER_FORMATS
from stacks.config.errors import FieldError
from stacks.config.fields import EcrImageUri, InstanceType, Rule, Section
from stacks.config.preprocessing import ScriptName, inside_the_project

# CheckData's longest window (lambdas/check_data/core.py MAX_WINDOW_DAYS) less the one day left to train on.
MAX_HOLDOUT_DAYS = 365
NO_HOLDOUT: Literal["none"] = "none"


class HoldoutConfig(Section):
    """The held-out part of each run's window, given to the training job as its `validation` channel.

    `days`: the newest N days with data (a time split: the model is judged on data newer than any it trained on).
    `fraction`: each file is held out when a hash of its key and `seed` falls below the fraction, so a file is held
    out in every run or in none, and no model of the pipeline ever trains on another run's held-out file.
    """

    rule: ClassVar[str] = '{"days": N}, {"fraction": f} (with an optional "seed") or "none"'

    days: StrictInt | None = Field(default=None, ge=1, le=MAX_HOLDOUT_DAYS)
    fraction: (
        Annotated[StrictFloat, Field(gt=0, lt=1, allow_inf_nan=False), Rule("a number above 0 and below 1, like 0.1")]
        | None
    ) = None
    seed: StrictInt | None = Field(default=None, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _one_kind(self) -> HoldoutConfig:
        if (self.days is None) == (self.fraction is None):
            raise FieldError("days", 'or fraction must be set, not both: {"days": 1} or {"fraction": 0.1}')
        if self.seed is not None and self.fraction is None:
            raise FieldError("seed", "only applies to a fraction split: a split by days takes no seed")
        return self

    def to_env(self) -> str:
        """CheckData's HOLDOUT variable."""
        if self.days is not None:
            return json.dumps({"days": self.days})
        return json.dumps({"fraction": self.fraction, "seed": self.seed or 0})


class EvaluationScriptConfig(Section):
    """The user's own evaluation: `entry_point` in `source_dir` (relative to the project root) runs in a SageMaker
    Processing job with the holdout and both models' artifacts, and writes `evaluation.json` with each model's
    metrics (the README's "Your own evaluate.py" says where everything is). `image` defaults to SageMaker's
    scikit-learn image."""

    source_dir: Annotated[str, Field(min_length=1), AfterValidator(inside_the_project)]
    entry_point: ScriptName = "evaluate.py"
    image: EcrImageUri | None = Field(default=None, alias="image_uri")
    volume_size_gb: StrictInt = Field(default=30, ge=1, le=16_384)


class EvaluationConfig(Section):
    """How each run judges its model: `holdout` is split off the window before training, or "none" to train on the
    whole window and judge the training job's own metrics. With a built-in algorithm on CSV data (no preprocessing),
    the candidate and the production model are scored on the holdout by transform jobs on `instance_type` (unless
    `score_models` is false); with `script`, the user's evaluate.py scores both in one processing job on
    `instance_type` instead. The run waits for the evaluation at most `max_wait_seconds`."""

    holdout: HoldoutConfig | Literal["none"] = Field(default_factory=lambda: HoldoutConfig(days=1))
    # false: no evaluation jobs (the training job's validation:* metrics only, nothing compared with production)
    score_models: StrictBool = True
    script: EvaluationScriptConfig | None = None  # None: the built-in evaluators (built-in algorithms only)
    instance_type: InstanceType = "ml.m5.large"
    max_wait_seconds: StrictInt = Field(default=3_600, ge=60, le=86_400)

    @property
    def split(self) -> HoldoutConfig | None:
        """The holdout, None when the run trains on every file of its window."""
        return None if self.holdout == NO_HOLDOUT else self.holdout  # type: ignore[return-value]


@dataclass(frozen=True)
class BuiltinEvaluation:
    """What the built-in evaluator scores: the model's task, the algorithm and the Accept its answers are read in."""

    task: str
    algorithm: str
    # The hyperparameters that say how the model answers (Linear Learner's predictor_type, XGBoost's objective).
    answer_hyperparameters: tuple[tuple[str, str], ...] = ()

    @property
    def accept(self) -> str:
        return ANSWER_FORMATS[self.algorithm]

    def to_env(self, config: EvaluationConfig, output_prefix: str) -> str:
        """The EVALUATION variable of the steps that start, wait for and read the evaluation."""
        return json.dumps(
            {
                "kind": "builtin",
                "task": self.task,
                "algorithm": self.algorithm,
                "hyperparameters": dict(self.answer_hyperparameters),
                "accept": self.accept,
                "instance_type": config.instance_type,
                "output_prefix": output_prefix,
                "max_wait_seconds": config.max_wait_seconds,
            }
        )
