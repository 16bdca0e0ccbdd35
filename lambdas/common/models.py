"""The workflow state, typed: one frozen dataclass per section the steps write and the state machine passes on.

Each task receives the whole state (`$`) and returns it with its own section added or replaced; the JSON shape
of every section is its dataclass's fields, in order, under the section's name (`SECTION`). `WorkflowState`
lists the sections a state may hold, so a test walks the ASL's Choice paths through these declarations.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Self

from lambdas.common.errors import InvalidStepEventError


class StateSection:
    """A dataclass read from and written to one section of the workflow state (`SECTION`).

    A field with a default may be absent (a state written before the field existed); every other field must be
    present, and every present field must hold its declared JSON type. Fields the dataclass does not declare are
    ignored, so a state written by a newer version of a step still reads.
    """

    SECTION: ClassVar[str]

    @classmethod
    def from_state(cls, raw: Any) -> Self:
        """Read the section's own object; raise InvalidStepEventError naming the fields missing or ill-typed."""
        if not isinstance(raw, Mapping):
            raise InvalidStepEventError(f"state field '{cls.SECTION}' must be a JSON object, got {_json_type(raw)}")
        declared = _declared(cls)
        missing = [f.name for f in declared if f.name not in raw and _required(f)]
        if missing:
            raise InvalidStepEventError(f"state field '{cls.SECTION}' lacks {', '.join(missing)}")
        hints = _hints(cls)
        values = {f.name: raw[f.name] for f in declared if f.name in raw}
        for name, value in values.items():
            if not fits(value, hints[name]):
                raise InvalidStepEventError(
                    f"state field '{cls.SECTION}.{name}' must be {_describe(hints[name])}, got {_json_type(value)}"
                )
        return cls(**values)

    @classmethod
    def read(cls, state: Mapping[str, Any]) -> Self:
        """Read the section from the whole state; raise InvalidStepEventError if the step that sets it has not run."""
        if not isinstance(state.get(cls.SECTION), Mapping):
            raise InvalidStepEventError(f"state field '{cls.SECTION}' is missing: the step that sets it has not run")
        return cls.from_state(state[cls.SECTION])

    @classmethod
    def read_optional(cls, state: Mapping[str, Any]) -> Self | None:
        """The section, or None while the step that sets it has not run (or never runs on this path)."""
        return None if state.get(cls.SECTION) is None else cls.from_state(state[cls.SECTION])

    def to_state(self) -> dict[str, Any]:
        fields: dict[str, Any] = asdict(self)  # type: ignore[call-overload]  # every subclass is a dataclass
        return fields


def fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value holds the declared type: a shallow check (a dict is a dict, whatever it holds)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    # bool is an int subclass; a flag is never a count, and JSON writes 2.0 as 2.
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if (origin or hint) is dict:
        return isinstance(value, dict)
    if (origin or hint) is list:
        return isinstance(value, list)
    return hint is Any


def _declared(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)  # type: ignore[arg-type]  # every subclass is a dataclass


def _required(declared: dataclasses.Field[Any]) -> bool:
    return declared.default is dataclasses.MISSING and declared.default_factory is dataclasses.MISSING


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    # The annotations are strings (postponed evaluation): resolve them once per class.
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _describe(hint: Any) -> str:
    args = typing.get_args(hint) if typing.get_origin(hint) in (types.UnionType, typing.Union) else (hint,)
    return " or ".join(_JSON_NAMES.get(typing.get_origin(arg) or arg, "a JSON value") for arg in args)


_JSON_NAMES: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    type(None): "null",
    dict: "an object",
    list: "an array",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return repr(value)


@dataclass(frozen=True)
class InputState(StateSection):
    """The execution's input as CheckData validated it: `{}` from the schedule, or what a person typed."""

    SECTION: ClassVar[str] = "input"

    force: bool
    window_days: int | None
    end_date: str | None
    trigger: str
    deploy: bool | None = None  # a backfill's request to deploy its model (None: as the run's kind decides)
    scheduled_time: str | None = None  # the schedule's tick this run was started for (UTC, ISO 8601), if any


@dataclass(frozen=True)
class RunState(StateSection):
    """What CheckData decided: the window, its data and manifest, and which branches the run takes."""

    SECTION: ClassVar[str] = "run"

    pipeline: str
    run_id: str
    trigger: str
    forced: bool
    window_start: str
    window_end: str
    window_days: int
    newest_data_date: str | None
    watermark_date: str | None
    has_new_data: bool
    reason: str
    file_count: int
    total_bytes: int
    manifest_uri: str | None
    skipped_count: int
    skipped_keys: list[dict[str, str]]
    list_requests: int
    # Keys under the data prefix in no layout (never read): the first 20, and how many there are.
    unrecognised_count: int = 0
    unrecognised_keys: list[str] = field(default_factory=list)
    # The window's files are all .csv.gz ("Gzip") or all plain ("None"): SageMaker's CompressionType for them.
    compression: str = "None"
    blocked_by: str | None = None  # the earlier run still going, when this one must not start
    watermark_missing: bool = False  # the parameter was deleted: treated as never trained
    # The previous run's durations, from the watermark: the poll loops wait less while the job cannot be done.
    expected_training_seconds: int | None = None
    expected_deployment_seconds: int | None = None
    preprocess: bool = False  # the run fits the pipeline's preprocessing before it trains
    batch_transform: bool = False  # after deploying, the run transforms the newest day's data
    # The window's held-out files (not in file_count and total_bytes, which count the training files); no
    # manifest when the pipeline holds nothing out or the run trains nothing.
    holdout_manifest_uri: str | None = None
    holdout_file_count: int = 0
    holdout_bytes: int = 0
    holdout_split: str | None = None  # how they were chosen, as evaluation.holdout says it
    # After training, the new and the production model are scored on the holdout (HoldoutEvaluationState).
    evaluate: bool = False
    # A backfill trains on data older than the watermark's day (a window that ends before it): its model is
    # registered, and deployed only when the input said "deploy": true; the watermark never moves back.
    backfill: bool = False
    deploy: bool = True  # false: an approved model is registered, not deployed (a backfill without "deploy")

    def manifest(self) -> str:
        """The manifest's URI; raise InvalidStepEventError when the run wrote none (it found no new data)."""
        if not self.manifest_uri:
            raise InvalidStepEventError("state field 'run.manifest_uri' is missing: the run wrote no manifest")
        return self.manifest_uri


@dataclass(frozen=True)
class PreprocessingState(StateSection):
    """What the workflow knows about the run's processing job; GetStatus returns the same shape, updated.

    `training_data_uri` is where the job writes the transformed training data, `model_artifact` the fitted
    preprocessing (model.tar.gz) that the pipeline model's first and last containers serve.
    """

    SECTION: ClassVar[str] = "preprocessing"

    job_name: str
    status: str
    failure_reason: str | None
    training_data_uri: str
    model_artifact: str
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int
    usage: dict[str, Any] | None = None  # the job's instances and time (lambdas/common/cost.py), from GetStatus


@dataclass(frozen=True)
class TrainingJobState(StateSection):
    """What the workflow knows about the run's training job; GetStatus returns the same shape, updated."""

    SECTION: ClassVar[str] = "training"

    job_name: str
    status: str
    secondary_status: str | None
    failure_reason: str | None
    model_artifact: str | None
    metrics: dict[str, float]
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int
    usage: dict[str, Any] | None = None  # the job's instances and time (lambdas/common/cost.py), from GetStatus


@dataclass(frozen=True)
class EvaluationState(StateSection):
    """The quality gate's verdict on the model and its version in the registry (EvaluateModel)."""

    SECTION: ClassVar[str] = "evaluation"

    metric: str | None
    direction: str | None
    value: float | None
    production_value: float | None
    production_model: str | None
    passed: bool
    reasons: list[str]
    notes: list[str]
    model_package_group: str
    model_package_arn: str
    model_package_version: int
    approval_status: str
    approval_timeout_seconds: int
    # The held-out evaluation, when it ran: both models scored on the same records (`metric`, `value` and
    # `production_value` are then the gate's reading of them); `report` is its evaluation.json.
    holdout_manifest: str | None = None
    holdout: list[str] = field(default_factory=list)  # the held-out files (the first 20)
    holdout_records: int | None = None
    candidate_metrics: dict[str, float] = field(default_factory=dict)
    production_metrics: dict[str, float] | None = None
    report: str | None = None


@dataclass(frozen=True)
class ApprovalState(StateSection):
    """A person's decision on the version, which ApprovalListener (or RequestApproval) resumes the run with."""

    SECTION: ClassVar[str] = "approval"

    status: str
    model_package_arn: str
    model_package_version: int
    description: str | None


@dataclass(frozen=True)
class DeploymentState(StateSection):
    """What the workflow knows about the rollout; DeployModel sets it, GetStatus updates it."""

    SECTION: ClassVar[str] = "deployment"

    endpoint_name: str
    endpoint_config_name: str
    model_name: str
    action: str
    status: str
    failure_reason: str | None
    serving_new_model: bool
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int
    # The config the endpoint served when DeployModel updated it (None: a new endpoint, or a retried attempt that
    # found the update under way): what a failed smoke test rolls back to.
    previous_endpoint_config: str | None = None
    # The variant's CurrentInstanceCount at the last status check (GetStatus; None before one, or not reported).
    instance_count: int | None = None


@dataclass(frozen=True)
class WatermarkState(StateSection):
    """The watermark UpdateParameters wrote: the parameter's new version and whether the run deployed."""

    SECTION: ClassVar[str] = "watermark"

    parameter: str
    newest_data_date: str
    previous_date: str | None
    version: int
    outcome: str  # "deployed", "rejected", or "registered" (a backfill's approved model, not deployed)
    moved: bool = True  # false: the watermark kept its day (a backfill never moves it back)


@dataclass(frozen=True)
class LineageState(StateSection):
    """Where RecordLineage wrote the run record, and the ARNs of the run's SageMaker Lineage entities."""

    SECTION: ClassVar[str] = "lineage"

    run_record: str
    dataset: str
    training: str
    model: str
    model_package: str | None
    deployment: str | None
    endpoint: str | None
    associations: int


@dataclass(frozen=True)
class PrunedState(StateSection):
    """What PruneModels deleted and why each remaining model or config stayed."""

    SECTION: ClassVar[str] = "pruned"

    keep_last: int
    deleted_endpoint_configs: list[str] = field(default_factory=list)
    deleted_models: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # name (config and model alike) -> why it stayed


@dataclass(frozen=True)
class CleanUpState(StateSection):
    """What CleanUp did with each of a failed run's resources."""

    SECTION: ClassVar[str] = "clean_up"

    run_id: str
    stopped_processing_job: str | None = None
    stopped_training_job: str | None = None
    stopped_transform_jobs: list[str] = field(default_factory=list)  # the held-out evaluation's
    stopped_evaluation_job: str | None = None  # the evaluation script's processing job
    deleted_model: str | None = None
    deleted_endpoint_config: str | None = None
    deleted_endpoint: str | None = None
    kept: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BatchTransformState(StateSection):
    """The transform job after deployment: the newest day's data through the deployed model, predictions beside."""

    SECTION: ClassVar[str] = "batch_transform"

    job_name: str
    status: str
    failure_reason: str | None
    day: str
    input_uri: str
    output_uri: str
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int
    usage: dict[str, Any] | None = None  # the job's instances and time (lambdas/common/cost.py), from GetStatus


# HoldoutEvaluationState.kind: the built-in evaluators' transform jobs, or the user's script's processing job.
TRANSFORM_EVALUATION, PROCESSING_EVALUATION = "transform", "processing"


@dataclass(frozen=True)
class HoldoutEvaluationState(StateSection):
    """The jobs scoring the new model (candidate) and the one the endpoint serves (production) on the run's holdout;
    `job_name` is the job the wait loop awaits now, the first of them still running.

    `kind` "transform": the built-in evaluators' transform job per model, each writing its answers to its output.
    `kind` "processing": the user's `script` scores both models in one processing job, `candidate_job`, which
    writes evaluation.json to `candidate_output_uri` (the production fields then name no job or output).
    """

    SECTION: ClassVar[str] = "holdout_evaluation"

    holdout_uri: str
    candidate_model: str
    candidate_job: str
    candidate_output_uri: str
    production_model: str | None
    production_job: str | None
    production_output_uri: str | None
    job_name: str
    status: str
    failure_reason: str | None
    started_at: str
    waited_seconds: int
    wait_exceeded: bool
    poll_seconds: int
    kind: str = TRANSFORM_EVALUATION
    script: str | None = None  # the evaluation script's file name, with kind "processing"
    usage: list[dict[str, Any]] = field(default_factory=list)  # each job's, from GetStatus

    def jobs(self) -> list[str]:
        return [self.candidate_job, *([self.production_job] if self.production_job else [])]

    @property
    def by_script(self) -> bool:
        return self.kind == PROCESSING_EVALUATION


@dataclass(frozen=True)
class CaughtError:
    """What a Catch writes at its ResultPath (Step Functions' own field names)."""

    Error: str  # Step Functions' name
    Cause: str | None = None  # Step Functions' name


@dataclass(frozen=True)
class FailureReportState:
    """NotifyFailure's report, from which the Fail state takes its error and cause."""

    error: str
    cause: str


@dataclass(frozen=True)
class WorkflowState:
    """Every section a state may hold; each appears once the step that writes it has run on the run's path.

    The steps read and write the sections above; the rest are written by the ASL itself: a Catch's error
    (`failure` keyed by the state that failed, the `*_error` of a step whose failure the run survives) and the
    failure report.
    """

    input: InputState | None = None
    run: RunState | None = None
    preprocessing: PreprocessingState | None = None
    training: TrainingJobState | None = None
    holdout_evaluation: HoldoutEvaluationState | None = None
    evaluation: EvaluationState | None = None
    approval: ApprovalState | None = None
    approval_timeout: CaughtError | None = None
    deployment: DeploymentState | None = None
    watermark: WatermarkState | None = None
    lineage: LineageState | None = None
    pruned: PrunedState | None = None
    batch_transform: BatchTransformState | None = None
    clean_up: CleanUpState | None = None
    failure: dict[str, CaughtError] | None = None
    failure_report: FailureReportState | None = None
    notification_error: CaughtError | None = None
    stop_error: CaughtError | None = None
    expire_error: CaughtError | None = None
    lineage_error: CaughtError | None = None
    prune_error: CaughtError | None = None
    transform_error: CaughtError | None = None
    clean_up_error: CaughtError | None = None
