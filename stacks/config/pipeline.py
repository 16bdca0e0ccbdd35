"""One pipeline's configuration: its sections, the defaults it derives from its name, and the rules across them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictInt, ValidationInfo, field_validator, model_validator

from contract.evaluation import EVALUATION_METRICS, metrics_for, task_of
from contract.outputs import model_package_group
from stacks.config.alerts import AlertsConfig
from stacks.config.algorithm import AlgorithmConfig, Hyperparameters, json_encoded_for_script, with_algorithm_defaults
from stacks.config.batch_transform import BatchTransformConfig
from stacks.config.cost import CostConfig
from stacks.config.data_bucket import DataBucketConfig
from stacks.config.endpoint import EndpointConfig
from stacks.config.errors import FieldError
from stacks.config.evaluation import NO_HOLDOUT, BuiltinEvaluation, EvaluationConfig, EvaluationScriptConfig
from stacks.config.fields import Prefix, Rule, Section
from stacks.config.governance import QualityGateConfig, RegistryConfig
from stacks.config.housekeeping import HousekeepingConfig
from stacks.config.polling import PollingConfig
from stacks.config.preprocessing import PreprocessingConfig
from stacks.config.rollout import RolloutConfig
from stacks.config.schedule import Schedule
from stacks.config.schedule_delivery import ScheduleRetryConfig, TimeZoneName
from stacks.config.slack import SlackConfig
from stacks.config.smoke_test import SmokeTestConfig
from stacks.config.training import TrainingConfig, check_spot_fits, with_spot_training_wait
from stacks.config.triggers import TriggersConfig
from stacks.history_budget import history_budget_problem, other_waits

# Single hyphens only: run names derive from the pipeline name, and IAM scopes them by the prefix "<name>-".
_PIPELINE_NAME = re.compile(r"^[a-z](?:-?[a-z0-9])*$")
_PIPELINE_NAME_MAX_LENGTH = 32
PIPELINE_NAME_RULE = (
    f"1 to {_PIPELINE_NAME_MAX_LENGTH} lowercase letters, digits or single hyphens, starting with a letter and "
    "ending with a letter or digit"
)
PipelineName = Annotated[
    str, Field(pattern=_PIPELINE_NAME.pattern, max_length=_PIPELINE_NAME_MAX_LENGTH), Rule(PIPELINE_NAME_RULE)
]

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


_RETENTION_RULE = f"one of {', '.join(map(str, LOG_RETENTION_DAYS))}"


def _retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be {_RETENTION_RULE}, got {days}")
    return days


LogRetentionDays = Annotated[
    StrictInt,
    AfterValidator(_retention),
    Field(json_schema_extra={"enum": list(LOG_RETENTION_DAYS)}),
    Rule(_RETENTION_RULE),
]


def _named_after(prefix: str) -> Any:
    """A prefix's default: `<prefix>/<pipeline name>`."""
    return Field(
        default_factory=lambda data: f"{prefix}/{data['name']}",
        description=f"an S3 key prefix; default: {prefix}/<name>",
    )


class PipelineConfig(Section):
    """One continuously retrained model: its data, algorithm, training, endpoint, schedule and alerts."""

    name: PipelineName
    data_bucket: DataBucketConfig = Field(default_factory=DataBucketConfig)
    data_prefix: Prefix
    manifest_prefix: Prefix = _named_after("manifests")
    model_prefix: Prefix = _named_after("models")
    # where a run waiting for a person's approval keeps its task token
    approval_prefix: Prefix = _named_after("approvals")
    # where a wait/poll loop keeps its task token for SageMaker's state-change event
    wake_prefix: Prefix = _named_after("waits")
    runs_prefix: Prefix = _named_after("runs")  # run records (lineage): one JSON per run
    # the held-out evaluation's transform outputs and model-quality reports: <prefix>/<run>/
    evaluation_prefix: Prefix = _named_after("evaluations")
    schedule: Schedule = "rate(1 day)"
    schedule_timezone: TimeZoneName = "UTC"  # the zone a cron schedule's hours are read in, daylight saving included
    # EventBridge Scheduler's retries of a tick whose StartExecution failed, then its dead-letter queue
    schedule_retry: ScheduleRetryConfig = Field(default_factory=ScheduleRetryConfig)
    window_days: StrictInt = Field(default=7, ge=1, le=366)
    algorithm: AlgorithmConfig = Field(default_factory=AlgorithmConfig)
    hyperparameters: Hyperparameters = Field(default_factory=dict, validate_default=True)
    # validate_data's default depends on the algorithm (filled in by _data_check_of_the_algorithm)
    training: TrainingConfig = Field(default_factory=dict, validate_default=True)
    # the endpoint's name defaults to the pipeline's (filled in by _named_after_the_pipeline)
    endpoint: EndpointConfig = Field(default_factory=dict, validate_default=True)
    polling: PollingConfig = Field(default_factory=PollingConfig)
    slack: SlackConfig | None = None
    log_retention_days: LogRetentionDays = 30
    # the newest day of each window is held out and given to the training job as its validation channel
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    quality_gate: QualityGateConfig | None = None
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    rollout: RolloutConfig | None = None  # None: a plain UpdateEndpoint (blue/green, all at once, no alarms)
    housekeeping: HousekeepingConfig = Field(default_factory=HousekeepingConfig)
    alerts: AlertsConfig | None = None  # None: the alarms exist but notify nobody beyond the console
    triggers: TriggersConfig = Field(default_factory=TriggersConfig)
    # false: no requests to the endpoint after a deployment; the default sends five of the run's records
    smoke_test: SmokeTestConfig | Literal[False] = Field(default_factory=SmokeTestConfig)
    preprocessing: PreprocessingConfig | None = None  # None: the algorithm trains on the raw data as it is
    batch_transform: BatchTransformConfig | None = None  # None: no transform job after deploying
    cost: CostConfig = Field(default_factory=CostConfig)  # the price table a run's cost is estimated from

    @field_validator("hyperparameters", mode="before")
    @classmethod
    def _encoded_for_the_algorithm(cls, hyperparameters: Any, info: ValidationInfo) -> Any:
        algorithm = info.data.get("algorithm")
        return hyperparameters if algorithm is None else json_encoded_for_script(hyperparameters, algorithm)

    @field_validator("training", mode="before")
    @classmethod
    def _data_check_of_the_algorithm(cls, training: Any, info: ValidationInfo) -> Any:
        """The data is checked as CSV of numbers, label first, unless told otherwise: what the built-in algorithms
        read. A framework's script may read any format, so its data is not checked unless validate_data is true."""
        algorithm = info.data.get("algorithm")
        if isinstance(training, Mapping) and training.get("validate_data") is None and algorithm is not None:
            return {**training, "validate_data": algorithm.kind != "framework"}
        return training

    @field_validator("hyperparameters")
    @classmethod
    def _algorithm_defaults(cls, hyperparameters: Mapping[str, str], info: ValidationInfo) -> Mapping[str, str]:
        algorithm = info.data.get("algorithm")
        return hyperparameters if algorithm is None else with_algorithm_defaults(hyperparameters, algorithm)

    @field_validator("endpoint", "preprocessing", mode="before")
    @classmethod
    def _named_after_the_pipeline(cls, section: Any, info: ValidationInfo) -> Any:
        """The endpoint is the pipeline's name, the preprocessed data under preprocessed/<name>, unless given."""
        defaults = {"endpoint": ("name", "{}"), "preprocessing": ("output_prefix", "preprocessed/{}")}
        key, template = defaults[str(info.field_name)]
        name = info.data.get("name")
        if isinstance(section, Mapping) and section.get(key) is None and name is not None:
            return {**section, key: template.format(name)}
        return section

    @model_validator(mode="before")
    @classmethod
    def _nothing_held_out_behind_preprocessing(cls, data: Any) -> Any:
        """With preprocessing only an evaluation script reads a holdout (the processing job's output is the training
        job's only channel, and the built-in evaluators read label-first CSV): without one, every day trains."""
        if not isinstance(data, Mapping) or data.get("preprocessing") is None:
            return data
        evaluation = data.get("evaluation")
        if isinstance(evaluation, Mapping) and evaluation.get("script") is not None:
            return data
        if evaluation is None or (isinstance(evaluation, Mapping) and "holdout" not in evaluation):
            return {**data, "evaluation": {**(evaluation or {}), "holdout": NO_HOLDOUT}}
        return data

    @model_validator(mode="before")
    @classmethod
    def _training_wait_covers_spot(cls, data: Any) -> Any:
        return with_spot_training_wait(data)

    @model_validator(mode="after")
    def _fits_together(self) -> PipelineConfig:
        _check_prefixes(self)
        check_spot_fits(
            self.training,
            max_training_wait_seconds=self.polling.max_training_wait_seconds,
            builtin=self.algorithm.builtin if self.algorithm.kind == "builtin" else None,
        )
        problem = history_budget_problem(self.polling, waits=other_waits(self))
        if problem:
            raise ValueError(problem)
        if self.rollout is not None:
            _check_rollout_fits(self.rollout, self.polling)
        _check_holdout_fits(self)
        _check_serverless_fits(self)
        _check_evaluation_script(self)
        _check_gate_metric_defined(self)
        return self

    @property
    def builtin_evaluation(self) -> BuiltinEvaluation | None:
        """The held-out evaluation the built-in evaluators run for this pipeline; None when they cannot."""
        return None if _no_builtin_evaluation(self) else self._evaluation_of_builtin()

    @property
    def evaluation_script(self) -> EvaluationScriptConfig | None:
        """The user's evaluate.py that scores this pipeline's models on the holdout; None when there is none."""
        evaluation = self.evaluation
        return evaluation.script if evaluation.split is not None and evaluation.score_models else None

    @property
    def evaluates_models(self) -> bool:
        """Whether each run scores the new and the production model on its holdout (built-in or user's script)."""
        return self.evaluation_script is not None or self.builtin_evaluation is not None

    @property
    def model_task(self) -> str | None:
        """The task of a built-in algorithm's model (regression, binary, multiclass); None when unknown."""
        builtin = self.algorithm.builtin
        return task_of(builtin, self.hyperparameters) if builtin else None

    def _evaluation_of_builtin(self) -> BuiltinEvaluation | None:
        builtin, task = self.algorithm.builtin, self.model_task
        if not task or not builtin:
            return None
        answering = tuple(
            (k, self.hyperparameters[k]) for k in ("predictor_type", "objective") if k in self.hyperparameters
        )
        return BuiltinEvaluation(task=task, algorithm=builtin, answer_hyperparameters=answering)

    @property
    def model_package_group(self) -> str:
        """The registry's group of this pipeline's model versions."""
        return model_package_group(self.name)


def _check_prefixes(config: PipelineConfig) -> None:
    named = [
        ("data_prefix", config.data_prefix),
        ("manifest_prefix", config.manifest_prefix),
        ("model_prefix", config.model_prefix),
        ("approval_prefix", config.approval_prefix),
        ("wake_prefix", config.wake_prefix),
        ("runs_prefix", config.runs_prefix),
        ("evaluation_prefix", config.evaluation_prefix),
    ]
    if config.preprocessing is not None:
        named.append(("preprocessing.output_prefix", config.preprocessing.output_prefix))
    if config.batch_transform is not None:
        named.append(("batch_transform.predictions_prefix", config.batch_transform.predictions_prefix))
    for position, (key, prefix) in enumerate(named):
        for other_key, other in named[position + 1 :]:
            if _overlaps(prefix, other):
                raise FieldError(
                    other_key,
                    f"{other!r} overlaps {key} {prefix!r}; the data, manifests, models, approvals, wait tokens, run "
                    "records, preprocessed data and predictions need separate prefixes",
                )


def _overlaps(first: str, second: str) -> bool:
    """Tell whether one key prefix contains the other, comparing whole path segments."""
    a, b = first.split("/"), second.split("/")
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _no_builtin_evaluation(config: PipelineConfig) -> str | None:
    """Why the built-in evaluators do not score this pipeline's models on the holdout; None when they do."""
    if config.evaluation.script is not None:
        return "evaluation.script scores the models instead"
    if config.preprocessing is not None:
        return "the built-in evaluators score a built-in algorithm on CSV data, and this pipeline has preprocessing"
    if config.evaluation.split is None:
        return 'evaluation.holdout is "none"'
    if not config.evaluation.score_models:
        return "evaluation.score_models is false"
    builtin = config.algorithm.builtin
    if builtin is None:
        return f"the built-in evaluators score built-in algorithms, and this pipeline runs a {config.algorithm.kind}"
    if task_of(builtin, config.hyperparameters) is None:
        return f"the built-in evaluators do not score {builtin} with these hyperparameters (a ranking objective?)"
    return None


def _is_evaluation_metric(config: PipelineConfig, metric: str) -> bool:
    """An evaluation metric's name (`rmse`, ...) for a built-in algorithm: a script's gate names its own metrics."""
    defined = {definition.name for definition in config.algorithm.metric_definitions}
    return metric in EVALUATION_METRICS and metric not in defined and config.algorithm.kind == "builtin"


def _check_evaluation_script(config: PipelineConfig) -> None:
    """An evaluation script needs held-out data and evaluation jobs to run in."""
    if config.evaluation.script is None:
        return
    if config.evaluation.split is None:
        raise FieldError(
            "evaluation.script",
            'needs held-out data to score the models on, and evaluation.holdout is "none": hold out '
            '{"days": 1} or {"fraction": 0.1}',
        )
    if not config.evaluation.score_models:
        raise FieldError(
            "evaluation.script",
            "would never run: evaluation.score_models is false (no evaluation job); remove one of the two",
        )


def _check_script_gate(config: PipelineConfig, metric: str, direction: str) -> None:
    """A gate on the evaluation script's metric: any name the script reports, the known ones in their direction."""
    if metric in EVALUATION_METRICS and direction != EVALUATION_METRICS[metric][0]:
        wanted = EVALUATION_METRICS[metric][0]
        raise FieldError("quality_gate.direction", f"must be {wanted} for {metric!r}, got {direction!r}")


def _check_evaluation_gate(config: PipelineConfig, metric: str, direction: str) -> None:
    """A gate on an evaluation metric needs the built-in evaluation, for a task the metric applies to."""
    why_not = _no_builtin_evaluation(config)
    if why_not:
        raise FieldError(
            "quality_gate.metric",
            f"{metric!r} is a held-out evaluation metric, computed by the built-in evaluators; {why_not}: gate on "
            "a metric the training job reports",
        )
    evaluation = config.builtin_evaluation
    assert evaluation is not None
    wanted, tasks = EVALUATION_METRICS[metric]
    if evaluation.task not in tasks:
        raise FieldError(
            "quality_gate.metric",
            f"{metric!r} scores {' or '.join(sorted(tasks))} models; this pipeline's {evaluation.algorithm} trains "
            f"a {evaluation.task} model: use one of {', '.join(metrics_for(evaluation.task))}",
        )
    if direction != wanted:
        raise FieldError("quality_gate.direction", f"must be {wanted} for {metric!r}, got {direction!r}")


def _check_gate_metric_defined(config: PipelineConfig) -> None:
    """A gate on a metric the training job never reports fails every run at EvaluateModel (MetricMissingError)."""
    gate, algorithm = config.quality_gate, config.algorithm
    if gate is None:
        return
    if config.evaluation_script is not None and ":" not in gate.metric:
        # The script may report any metric (EvaluateModel's MetricMissingError lists those it did); a name with
        # a ":" is a training job's (`validation:rmse`), checked below.
        _check_script_gate(config, gate.metric, gate.direction)
        return
    if _is_evaluation_metric(config, gate.metric):
        _check_evaluation_gate(config, gate.metric, gate.direction)
        return
    evaluation = config.builtin_evaluation
    if gate.max_regression_percent is not None and evaluation is not None:
        raise FieldError(
            "quality_gate.max_regression_percent",
            f"compares {gate.metric!r} of two training jobs, each on its own data: gate on a held-out evaluation "
            f"metric instead ({', '.join(metrics_for(evaluation.task))}), which scores the new and the production "
            "model on this run's holdout",
        )
    if gate.max_regression_percent is not None and config.evaluation_script is not None:
        raise FieldError(
            "quality_gate.max_regression_percent",
            f"compares {gate.metric!r} of two training jobs, each on its own data: gate on a metric your "
            f"evaluation script ({config.evaluation_script.entry_point}) reports, which scores the new and the "
            "production model on this run's holdout",
        )
    if algorithm.kind == "image":
        return
    if algorithm.kind == "builtin":
        # A built-in reports validation:* metrics only for a validation channel (Linear Learner's and XGBoost's
        # metric definitions read them from that channel's log lines): the run's holdout, when the job reads it.
        why_not = _no_validation_channel(config)
        if gate.metric.startswith("validation:") and why_not:
            train_metric = "train:" + gate.metric.removeprefix("validation:")
            raise FieldError(
                "quality_gate.metric",
                f"{gate.metric!r} is never reported: {why_not}, so the job has one channel, train, and "
                f"{algorithm.builtin} reports train:* metrics only (like {train_metric!r})",
            )
        return
    names = [definition.name for definition in algorithm.metric_definitions]
    if gate.metric not in names:
        defined = ", ".join(repr(name) for name in names) or "none"
        raise FieldError(
            "quality_gate.metric",
            f"{gate.metric!r} is not one of algorithm.metric_definitions' names ({defined}): SageMaker records a "
            "framework script's metrics only from those definitions",
        )


def _no_validation_channel(config: PipelineConfig) -> str | None:
    """Why the training job gets no validation channel, None when it gets the run's holdout as one."""
    if config.preprocessing is not None:
        return "the preprocessing writes the job's only input (the holdout does not go through it)"
    if config.evaluation.split is None:
        return 'evaluation.holdout is "none"'
    return None


def _check_holdout_fits(config: PipelineConfig) -> None:
    """A time split must leave at least one day of the window to train on; a holdout nothing reads is refused."""
    split = config.evaluation.split
    if split is not None and config.preprocessing is not None and config.evaluation.script is None:
        raise FieldError(
            "evaluation.holdout",
            "would hold data out that nothing reads: with preprocessing the processing job's output is the training "
            "job's only channel, and the built-in evaluators score built-in algorithms on label-first CSV; give "
            'evaluation.script to score the models on it yourself, or leave it out (or "none") so that every day '
            "of the window trains",
        )
    if split is not None and split.days is not None and split.days >= config.window_days:
        raise FieldError(
            "evaluation.holdout.days",
            f"({split.days}) must be smaller than window_days ({config.window_days}): the newest "
            f"{split.days} day(s) of the window are held out and the rest trains the model; widen window_days, "
            'hold out fewer days, or set evaluation.holdout to "none" to train on the whole window',
        )


def _check_serverless_fits(config: PipelineConfig) -> None:
    """A serverless variant serves one container: SageMaker excludes inference pipelines from Serverless Inference
    (see stacks/config/serverless.py), and preprocessing makes the model one."""
    if config.endpoint.serverless is not None and config.preprocessing is not None:
        raise FieldError(
            "endpoint.serverless",
            "cannot serve this pipeline's model: with preprocessing it is a serial inference pipeline (the "
            "preprocessing, the algorithm and any postprocessing as containers of one model), and SageMaker "
            "Serverless Inference does not support inference pipelines; run the endpoint on instances (remove "
            "endpoint.serverless) or fold the preprocessing into the model",
        )


def _check_rollout_fits(rollout: RolloutConfig, polling: PollingConfig) -> None:
    """The run must wait for a rollout longer than the rollout takes, or it times out while SageMaker bakes."""
    if polling.max_deployment_wait_seconds > rollout.total_wait_seconds:
        return
    raise FieldError(
        "polling.max_deployment_wait_seconds",
        f"({polling.max_deployment_wait_seconds}) must be larger than the rollout's waits ({rollout.baking_periods} "
        f"baking period(s) of rollout.wait_seconds ({rollout.wait_seconds}) plus rollout.termination_wait_seconds "
        f"({rollout.termination_wait_seconds}) = {rollout.total_wait_seconds} s), or every guarded deployment ends "
        "DeploymentTimedOut",
    )
