"""The pipelines' typed configuration, validated at synth time so a mistake fails before anything deploys."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from contract.outputs import model_package_group
from contract.polling import max_polls
from stacks.event_patterns import pattern_problem

LINEAR_LEARNER = "linear-learner"
BUILTIN_ALGORITHMS = (LINEAR_LEARNER,)
LINEAR_LEARNER_PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Step Functions fails an execution at 25,000 history events (a hard limit). One poll iteration costs about
# 15 events (AwaitStatusChange's callback task 6 + GetStatus 5 + Choice 2 + margin); the rest of a run about
# 100. The budget leaves headroom for Retry attempts, which add events too. How many polls a loop makes at
# most is the poll policy's (contract/polling.py): every 10 intervals for the first 2,400 intervals,
# then a 240th of the time waited.
HISTORY_EVENTS_PER_POLL = 15
HISTORY_EVENTS_FIXED = 100
HISTORY_EVENTS_BUDGET = 20_000
# SageMaker stops a processing job at its MaxRuntimeInSeconds; the workflow stops waiting this much later.
PREPROCESSING_WAIT_MARGIN_SECONDS = 900

# Single hyphens only: run names derive from the pipeline name, and IAM scopes them by the prefix "<name>-".
_PIPELINE_NAME = re.compile(r"^[a-z](?:-?[a-z0-9])*$")
_PIPELINE_NAME_MAX_LENGTH = 32
_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
# Keys are used verbatim in IAM resource ARNs: no wildcards (`*`, `?`) and no empty or dot segments.
_PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9_=][A-Za-z0-9._=-]*$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_ECR_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com(?P<cn>\.cn)?"
    r"/(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:(?P<digest>[a-f0-9]{64}))?$"
)
_SLACK_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9_-]{0,79}|[CDG][A-Z0-9]{8,})$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# A key ARN, not an alias: IAM authorizes kms:Decrypt on the key's own ARN.
_KMS_KEY_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key/"
    r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_TAG_KEY = re.compile(r"^[\w .:/=+@-]{1,128}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{0,256}$")
# An address SNS can deliver to: one @, no spaces, a dotted domain. SNS checks nothing more at deploy time; the
# subscription stays pending until its owner confirms it.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_EMAIL_MAX_LENGTH = 254
MAX_ALERT_EMAILS = 20


class ConfigError(ValueError):
    """The configuration is invalid; the message names the pipeline and the field."""


@dataclass(frozen=True)
class DataBucketConfig:
    """Where the data lives: a bucket the stack creates (`name` None) or an existing one, by name."""

    name: str | None = None

    @property
    def create(self) -> bool:
        return self.name is None


@dataclass(frozen=True)
class EcrImage:
    """An image in Amazon ECR, parsed from its URI so IAM can be scoped to its repository."""

    uri: str
    account: str
    region: str
    repository: str


@dataclass(frozen=True)
class AlgorithmConfig:
    """A built-in algorithm (`builtin`) or the caller's own training image and optional inference image."""

    builtin: str | None = LINEAR_LEARNER
    image: EcrImage | None = None
    inference_image: EcrImage | None = None

    @property
    def ecr_images(self) -> tuple[EcrImage, ...]:
        """The caller's images, whose repositories the SageMaker role must be able to pull from."""
        return tuple(image for image in (self.image, self.inference_image) if image is not None)


# A script in the preprocessing source directory: a plain file name, run as `python3 <name>` from that directory.
_SCRIPT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")


@dataclass(frozen=True)
class PreprocessingConfig:
    """The user's preprocessing: fitted on the window's raw data in a SageMaker Processing job every run.

    `source_dir` (relative to the project root) holds `entry_point`, which fits the transformation, writes the
    transformed training data and the fitted artifact, and serves as the first container of the pipeline model.
    `postprocess_entry_point`, in the same directory, serves as the last container (a class index back to its
    label, say). `image` defaults to SageMaker's scikit-learn image, the same version for fitting and serving.
    """

    source_dir: str
    entry_point: str = "preprocess.py"
    postprocess_entry_point: str | None = None
    image: EcrImage | None = None
    instance_type: str = "ml.m5.large"
    volume_size_gb: int = 30
    max_runtime_seconds: int = 3_600
    output_prefix: str = ""  # the transformed data and fitted artifact of each run: <prefix>/<run id>/

    @property
    def max_wait_seconds(self) -> int:
        """How long the run waits for the job: SageMaker stops it at max_runtime_seconds, the margin covers Stopping."""
        return self.max_runtime_seconds + PREPROCESSING_WAIT_MARGIN_SECONDS


@dataclass(frozen=True)
class BatchTransformConfig:
    """After each deployment, a transform job runs the newest day's data through the deployed model.

    Predictions go under `predictions_prefix`, mirroring the data's keys (`<prefix>/<data key>.out`).
    `input_filter` (DataProcessing.InputFilter) picks the columns the model is sent: the data files are label
    first, so by default the label is dropped; null sends whole records.
    """

    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    predictions_prefix: str = "predictions"
    input_filter: str | None = "$[1:]"
    content_type: str = "text/csv"
    accept: str | None = "application/jsonlines"
    max_payload_mb: int = 6
    max_wait_seconds: int = 3_600


# One GetObject per file when StartTrainingJob checks the data, within its 15 minutes (see its validation
# module); and CheckData lists 1,000 keys per request.
DEFAULT_MAX_FILES_PER_RUN = 100_000
MAX_FILES_PER_RUN_LIMIT = 1_000_000


@dataclass(frozen=True)
class TrainingConfig:
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_seconds: int = 86_400
    validate_data: bool = True  # StartTrainingJob checks every file is numeric CSV before training
    max_files_per_run: int = DEFAULT_MAX_FILES_PER_RUN  # CheckData refuses a window with more files


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    instance_type: str = "ml.m5.large"
    instance_count: int = 1


@dataclass(frozen=True)
class PollingConfig:
    interval_seconds: int = 60
    max_training_wait_seconds: int = 86_400
    max_deployment_wait_seconds: int = 3_600


@dataclass(frozen=True)
class SlackConfig:
    """Where alerts go. Only the name of the secret holding the bot token is configuration.

    `token_kms_key_arn` names the customer managed key the secret is encrypted with, if it is not Secrets
    Manager's default key (aws/secretsmanager, which needs no grant).
    """

    channel: str
    token_secret_name: str
    token_kms_key_arn: str | None = None


@dataclass(frozen=True)
class AlertsConfig:
    """Who hears of the pipeline's CloudWatch alarms outside Slack: email addresses, through an SNS topic."""

    email: tuple[str, ...]


# SageMaker's metric names: `channel:name` as the algorithm's metric definitions give them.
_METRIC_NAME = re.compile(r"^.{1,255}$")
GATE_DIRECTIONS = ("minimize", "maximize")
APPROVAL_MODES = ("automatic", "manual")
# Step Functions waits for a task token at most a year.
MAX_APPROVAL_TIMEOUT_HOURS = 8_760


@dataclass(frozen=True)
class QualityGateConfig:
    """When a trained model may replace the one in production, judged on one of its training job's metrics.

    `threshold` is absolute (at most it when minimizing, at least it when maximizing);
    `max_regression_percent` allows the new model to be worse than the production model by that much.
    """

    metric: str
    direction: str
    threshold: float | None = None
    max_regression_percent: float | None = None


@dataclass(frozen=True)
class RegistryConfig:
    """How a registered model version gets approved: at once, or by a person within the timeout."""

    approval: str = "automatic"
    approval_timeout_hours: int = 168

    @property
    def manual(self) -> bool:
        return self.approval == "manual"


# --- guarded rollout (UpdateEndpoint's DeploymentConfig) ---------------------------------------------------
ROLLOUT_STRATEGIES = ("all_at_once", "canary", "linear")
# SageMaker's documented limits: TrafficRoutingConfig.WaitIntervalInSeconds 0..3600; CanarySize at most 50% of the
# fleet; LinearStepSize 10..50%; BlueGreenUpdatePolicy.TerminationWaitInSeconds 0..3600 and
# MaximumExecutionTimeoutInSeconds 600..28800, larger than the waits; AutoRollbackConfig 1..10 alarms.
ROLLOUT_MAX_WAIT_SECONDS = 3_600
ROLLOUT_CANARY_PERCENT = (1, 50)
ROLLOUT_LINEAR_STEP_PERCENT = (10, 50)
ROLLOUT_EXECUTION_TIMEOUT_SECONDS = (600, 28_800)
# SageMaker publishes endpoint metrics every minute; CloudWatch caps EvaluationPeriods x Period at one day.
ROLLOUT_ALARM_PERIOD_SECONDS = 60
ROLLOUT_MAX_EVALUATION_PERIODS = 86_400 // ROLLOUT_ALARM_PERIOD_SECONDS


@dataclass(frozen=True)
class RolloutAlarmsConfig:
    """The CloudWatch alarms whose ALARM state rolls a deployment back, each over one-minute periods."""

    max_5xx_errors: int = 0  # alarm when a minute has more 5xx answers than this (0: any)
    max_model_latency_ms: int | None = 1_000  # alarm when a minute's average ModelLatency is above; None: no alarm
    evaluation_periods: int = 1  # consecutive breaching minutes before the alarm fires


@dataclass(frozen=True)
class RolloutConfig:
    """Blue/green traffic shifting with baking periods and automatic rollback on the stack's alarms."""

    strategy: str  # one of ROLLOUT_STRATEGIES
    wait_seconds: int = 300  # each baking period (WaitIntervalInSeconds)
    canary_percent: int | None = None  # canary only: the canary's share of the new fleet's capacity
    linear_step_percent: int | None = None  # linear only: each step's share of the new fleet's capacity
    termination_wait_seconds: int = 0  # after the last bake, before the old fleet is terminated
    max_execution_seconds: int | None = None  # MaximumExecutionTimeoutInSeconds; None: SageMaker's default
    alarms: RolloutAlarmsConfig = field(default_factory=RolloutAlarmsConfig)

    @property
    def baking_periods(self) -> int:
        """How many baking periods a rollout waits: one per traffic shift (the last one shifts the rest)."""
        if self.strategy == "canary":
            return 2
        if self.strategy == "linear" and self.linear_step_percent:
            return math.ceil(100 / self.linear_step_percent)
        return 1

    @property
    def total_wait_seconds(self) -> int:
        """The waits of a rollout that never trips an alarm: every baking period, then the termination wait."""
        return self.baking_periods * self.wait_seconds + self.termination_wait_seconds


# Housekeeping: how many of a pipeline's newest models and endpoint configs stay (lambdas/prune_models).
# At least two: the serving one and one to roll back to, before the step's own protections.
DEFAULT_KEEP_LAST = 5
KEEP_LAST_MIN = 2
KEEP_LAST_MAX = 1000


@dataclass(frozen=True)
class HousekeepingConfig:
    keep_last: int = DEFAULT_KEEP_LAST


# --- triggers beyond the schedule (stacks/constructs/triggers.py) ---------------------------------------------
# New data starts a run once uploads have been quiet for quiet_seconds, and at the latest max_delay_seconds
# after the first object of the burst, so a steady trickle still runs.
NEW_DATA_QUIET_SECONDS = (1, 86_400)
NEW_DATA_MAX_DELAY_SECONDS = (1, 7 * 86_400)
# Names go into the run's trigger ("event:<name>") and the rule's construct id.
_TRIGGER_NAME = re.compile(r"^[a-z](?:-?[a-z0-9])*$")
_TRIGGER_NAME_MAX_LENGTH = 32
MAX_EVENT_TRIGGERS = 10


@dataclass(frozen=True)
class NewDataTriggerConfig:
    quiet_seconds: int = 300
    max_delay_seconds: int = 3_600


@dataclass(frozen=True)
class EventTriggerConfig:
    """An upstream event (an EventBridge pattern) that starts one run per matching event."""

    name: str
    pattern: Mapping[str, Any]

    @property
    def trigger(self) -> str:
        """The run input's `trigger` for runs this event starts."""
        return f"event:{self.name}"


@dataclass(frozen=True)
class TriggersConfig:
    new_data: NewDataTriggerConfig | None = None
    events: tuple[EventTriggerConfig, ...] = ()


@dataclass(frozen=True)
class PipelineConfig:
    """One continuously retrained model: its data, algorithm, training, endpoint, schedule and alerts."""

    name: str
    data_prefix: str
    endpoint: EndpointConfig
    data_bucket: DataBucketConfig = field(default_factory=DataBucketConfig)
    manifest_prefix: str = ""
    model_prefix: str = ""
    approval_prefix: str = ""  # where a run waiting for a person's approval keeps its task token
    wake_prefix: str = ""  # where a wait/poll loop keeps its task token for SageMaker's state-change event
    runs_prefix: str = ""  # run records (lineage): one JSON per run
    schedule: str = "rate(1 day)"
    window_days: int = 7
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    hyperparameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    training: TrainingConfig = field(default_factory=TrainingConfig)
    polling: PollingConfig = field(default_factory=PollingConfig)
    slack: SlackConfig | None = None
    log_retention_days: int = 30
    quality_gate: QualityGateConfig | None = None
    registry: RegistryConfig = field(default_factory=RegistryConfig)

    @property
    def model_package_group(self) -> str:
        """The registry's group of this pipeline's model versions."""
        return model_package_group(self.name)

    rollout: RolloutConfig | None = None  # None: a plain UpdateEndpoint (blue/green, all at once, no alarms)
    housekeeping: HousekeepingConfig = field(default_factory=HousekeepingConfig)
    alerts: AlertsConfig | None = None  # None: the alarms exist but notify nobody beyond the console
    triggers: TriggersConfig = field(default_factory=TriggersConfig)
    preprocessing: PreprocessingConfig | None = None  # None: the algorithm trains on the raw data as it is
    batch_transform: BatchTransformConfig | None = None  # None: no transform job after deploying

    def __post_init__(self) -> None:
        # Derived defaults; a frozen dataclass sets them through object.__setattr__.
        if not self.manifest_prefix:
            object.__setattr__(self, "manifest_prefix", f"manifests/{self.name}")
        if not self.model_prefix:
            object.__setattr__(self, "model_prefix", f"models/{self.name}")
        if not self.approval_prefix:
            object.__setattr__(self, "approval_prefix", f"approvals/{self.name}")
        if not self.wake_prefix:
            object.__setattr__(self, "wake_prefix", f"waits/{self.name}")
        if not self.runs_prefix:
            object.__setattr__(self, "runs_prefix", f"runs/{self.name}")
        object.__setattr__(self, "hyperparameters", MappingProxyType(dict(self.hyperparameters)))


@dataclass(frozen=True)
class AppConfig:
    """Everything app.py builds: the pipelines and the tags put on every resource."""

    pipelines: tuple[PipelineConfig, ...]
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def load_app_config(
    *, pipelines: Any = None, config_file: Any = None, tags: Any = None, project_root: Path
) -> AppConfig:
    """Build the app's configuration from the context keys `pipelines`, `config_file` and `tags`.

    `config_file` names a JSON file, relative to `project_root`, holding `{"pipelines": [...]}`; when set it
    replaces the `pipelines` list (so `cdk synth -c config_file=prod.json` works although cdk.json holds an
    example list). Raises ConfigError naming the pipeline and the field of the first problem found.
    """
    if config_file is not None:
        pipelines = _read_config_file(config_file, project_root)
    if pipelines is None:
        raise ConfigError("no pipelines configured: set the context key 'pipelines' or 'config_file'")
    return AppConfig(pipelines=parse_pipelines(pipelines), tags=_parse_tags(tags))


def parse_pipelines(raw: Any) -> tuple[PipelineConfig, ...]:
    """Validate a list of raw pipeline objects; raise ConfigError for the first invalid one."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"pipelines must be a non-empty list of objects, got {_show(raw)}")
    configs = tuple(parse_pipeline(item, index=index) for index, item in enumerate(raw))
    _check_unique(configs)
    return configs


def parse_pipeline(raw: Any, *, index: int = 0) -> PipelineConfig:
    """Validate one raw pipeline object; raise ConfigError naming the pipeline and the field."""
    where = f"pipelines[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be an object, got {_show(raw)}")
    if "name" not in raw:
        raise ConfigError(f"{where}: name is required")
    name = raw["name"]
    if not isinstance(name, str) or len(name) > _PIPELINE_NAME_MAX_LENGTH or not _PIPELINE_NAME.match(name):
        raise ConfigError(
            f"{where}: name must be 1 to {_PIPELINE_NAME_MAX_LENGTH} lowercase letters, digits or single "
            f"hyphens, starting with a letter and ending with a letter or digit, got {_show(name)}"
        )
    fields = _Fields(raw, where=f"pipeline {name!r}")
    algorithm = _algorithm(fields.object("algorithm"))
    config = PipelineConfig(
        name=name,
        data_bucket=_data_bucket(fields.object("data_bucket")),
        data_prefix=fields.prefix("data_prefix", required=True),
        manifest_prefix=fields.prefix("manifest_prefix", default=f"manifests/{name}"),
        model_prefix=fields.prefix("model_prefix", default=f"models/{name}"),
        approval_prefix=fields.prefix("approval_prefix", default=f"approvals/{name}"),
        wake_prefix=fields.prefix("wake_prefix", default=f"waits/{name}"),
        runs_prefix=fields.prefix("runs_prefix", default=f"runs/{name}"),
        schedule=fields.schedule("schedule", default="rate(1 day)"),
        window_days=fields.integer("window_days", default=7, minimum=1, maximum=366),
        algorithm=algorithm,
        hyperparameters=_hyperparameters(fields, algorithm),
        training=_training(fields.object("training")),
        endpoint=_endpoint(fields.object("endpoint"), default_name=name),
        polling=_polling(fields.object("polling")),
        slack=_slack(fields.optional_object("slack")),
        log_retention_days=fields.choice("log_retention_days", default=30, choices=LOG_RETENTION_DAYS),
        quality_gate=_quality_gate(fields.optional_object("quality_gate")),
        registry=_registry(fields.object("registry")),
        rollout=_rollout(fields.optional_object("rollout")),
        housekeeping=_housekeeping(fields.object("housekeeping")),
        alerts=_alerts(fields.optional_object("alerts")),
        triggers=_triggers(fields.object("triggers")),
        preprocessing=_preprocessing(fields.optional_object("preprocessing"), pipeline=name),
        batch_transform=_batch_transform(fields.optional_object("batch_transform")),
    )
    fields.reject_unknown(frozenset({"name"}))
    _check_prefixes(config, where=fields.where)
    _check_history_budget(config.polling, where=fields.where, waits=other_waits(config))
    if config.rollout is not None:
        _check_rollout_fits(config.rollout, config.polling, where=fields.where)
    return config


class _Fields:
    """Reads the fields of one config object, names them in errors and remembers which it has read."""

    def __init__(self, raw: Mapping[str, Any], *, where: str, path: str = "") -> None:
        self.raw = raw
        self.where = where
        self.path = path
        self.read: set[str] = set()

    def label(self, key: str) -> str:
        return f"{self.path}{key}"

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: {self.label(key)} {message}")

    def get(self, key: str) -> Any:
        self.read.add(key)
        return self.raw.get(key)

    def object(self, key: str) -> _Fields:
        """The nested object at `key`, an empty one when absent (so its fields take their defaults)."""
        return self.optional_object(key) or _Fields({}, where=self.where, path=f"{self.label(key)}.")

    def optional_object(self, key: str) -> _Fields | None:
        """The nested object at `key`, None when absent."""
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be an object, got {_show(value)}")
        return _Fields(value, where=self.where, path=f"{self.label(key)}.")

    def string(self, key: str, *, default: str | None = None, required: bool = False) -> str:
        value = self.get(key)
        if value is None:
            if required or default is None:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"must be a non-empty string, got {_show(value)}")
        return value

    def matching(self, key: str, pattern: re.Pattern[str], rule: str, *, default: str | None = None) -> str:
        value = self.string(key, default=default)
        if not pattern.match(value):
            raise self.fail(key, f"must be {rule}, got {value!r}")
        return value

    def integer(self, key: str, *, default: int, minimum: int, maximum: int) -> int:
        value = self.get(key)
        if value is None:
            return default
        # bool is an int in Python; `true` in JSON is not a count.
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self.fail(key, f"must be an integer between {minimum} and {maximum}, got {_show(value)}")
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_show(value)}")
        return value

    def number(self, key: str, *, bounds: tuple[float, float] | None = None) -> float | None:
        """An optional finite number (JSON integer or float), within `bounds` if given; None when absent."""
        value = self.get(key)
        if value is None:
            return None
        finite = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
        if not finite or (bounds is not None and not bounds[0] <= value <= bounds[1]):
            within = f" between {bounds[0]:g} and {bounds[1]:g}" if bounds else ""
            raise self.fail(key, f"must be a finite number{within}, got {_show(value)}")
        return float(value)

    def one_of(self, key: str, choices: Sequence[str], *, default: str | None = None) -> str:
        value = self.string(key, default=default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def choice(self, key: str, *, default: int, choices: Sequence[int]) -> int:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or value not in choices:
            allowed = ", ".join(str(choice) for choice in choices)
            raise self.fail(key, f"must be one of {allowed}, got {_show(value)}")
        return int(value)

    def prefix(self, key: str, *, default: str | None = None, required: bool = False) -> str:
        value = self.string(key, default=default, required=required)
        if value.startswith("/") or value.endswith("/"):
            raise self.fail(key, f"must not start or end with '/', got {value!r}")
        if not all(_PREFIX_SEGMENT.match(part) for part in value.split("/")):
            raise self.fail(
                key,
                "must be '/'-separated segments of letters, digits and . _ = - "
                f"(no wildcards, empty or dot-only segments), got {value!r}",
            )
        return value

    def schedule(self, key: str, *, default: str) -> str:
        value = self.string(key, default=default)
        problem = _schedule_problem(value)
        if problem:
            raise self.fail(key, f"{problem}, got {value!r}")
        return value

    def reject_unknown(self, also_known: frozenset[str] = frozenset()) -> None:
        known = self.read | also_known
        for key in self.raw:
            if key not in known:
                close = difflib.get_close_matches(str(key), sorted(known), n=1)
                hint = f" (did you mean {self.label(close[0])!r}?)" if close else ""
                allowed = ", ".join(sorted(known))
                raise ConfigError(
                    f"{self.where}: unknown field {self.label(str(key))!r}{hint}; known fields: {allowed}"
                )


def _data_bucket(fields: _Fields) -> DataBucketConfig:
    create = fields.get("create")
    name = fields.get("name")
    fields.reject_unknown()
    if name is not None and create is not None:
        raise fields.fail("name", "and create are exclusive: give {'create': true} or {'name': '<bucket>'}")
    if name is None:
        if create not in (None, True):
            raise fields.fail("create", f"must be true (or give an existing bucket's name), got {_show(create)}")
        return DataBucketConfig()
    problem = _bucket_name_problem(name)
    if problem:
        raise fields.fail("name", f"{problem}, got {_show(name)}")
    return DataBucketConfig(name=name)


def _algorithm(fields: _Fields) -> AlgorithmConfig:
    builtin = fields.get("builtin")
    image_uri = fields.get("image_uri")
    inference_uri = fields.get("inference_image_uri")
    fields.reject_unknown()
    if builtin is not None and image_uri is not None:
        raise fields.fail("builtin", "and image_uri are exclusive: give one of them")
    if image_uri is None:
        if inference_uri is not None:
            raise fields.fail("inference_image_uri", "needs image_uri: a built-in algorithm serves its own image")
        if builtin is not None and builtin not in BUILTIN_ALGORITHMS:
            allowed = ", ".join(BUILTIN_ALGORITHMS)
            raise fields.fail("builtin", f"must be one of {allowed} (or use image_uri), got {_show(builtin)}")
        return AlgorithmConfig(builtin=LINEAR_LEARNER)
    image = _ecr_image(fields, "image_uri", image_uri)
    inference = _ecr_image(fields, "inference_image_uri", inference_uri) if inference_uri is not None else None
    return AlgorithmConfig(builtin=None, image=image, inference_image=inference)


def _ecr_image(fields: _Fields, key: str, value: Any) -> EcrImage:
    match = _ECR_IMAGE_URI.match(value) if isinstance(value, str) else None
    if match is None:
        raise fields.fail(
            key,
            "must be an ECR image URI like "
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-repo:tag (or @sha256:<digest>), "
            f"got {_show(value)}",
        )
    return EcrImage(
        uri=value,
        account=match["account"],
        region=match["region"],
        repository=match["repository"],
    )


def _hyperparameters(fields: _Fields, algorithm: AlgorithmConfig) -> dict[str, str]:
    raw = fields.get("hyperparameters")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise fields.fail("hyperparameters", f"must be an object, got {_show(raw)}")
    # SageMaker's CreateTrainingJob limits: 100 entries, keys up to 256 and values up to 2500 characters.
    if len(raw) > 100:
        raise fields.fail("hyperparameters", f"may hold at most 100 entries, got {len(raw)}")
    values: dict[str, str] = {}
    for key, value in raw.items():
        label = f"hyperparameters.{key}"
        if not key or len(key) > 256:
            raise fields.fail("hyperparameters", f"keys must be 1 to 256 characters, got {key!r}")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            raise fields.fail(label, f"must be a string, number or boolean, got {_show(value)}")
        if len(text) > 2500:
            raise fields.fail(label, "must be at most 2500 characters")
        values[key] = text
    if algorithm.builtin == LINEAR_LEARNER:
        values = {"predictor_type": "regressor", **values}
        if values["predictor_type"] not in LINEAR_LEARNER_PREDICTOR_TYPES:
            allowed = ", ".join(LINEAR_LEARNER_PREDICTOR_TYPES)
            raise fields.fail(
                "hyperparameters.predictor_type",
                f"must be one of {allowed}, got {values['predictor_type']!r}",
            )
    return values


def _training(fields: _Fields) -> TrainingConfig:
    config = TrainingConfig(
        instance_type=fields.matching(
            "instance_type", _INSTANCE_TYPE, "an instance type like ml.m5.large", default="ml.m5.large"
        ),
        instance_count=fields.integer("instance_count", default=1, minimum=1, maximum=100),
        volume_size_gb=fields.integer("volume_size_gb", default=30, minimum=1, maximum=16_384),
        max_runtime_seconds=fields.integer("max_runtime_seconds", default=86_400, minimum=1, maximum=2_419_200),
        validate_data=fields.boolean("validate_data", default=True),
        max_files_per_run=fields.integer(
            "max_files_per_run", default=DEFAULT_MAX_FILES_PER_RUN, minimum=1, maximum=MAX_FILES_PER_RUN_LIMIT
        ),
    )
    fields.reject_unknown()
    return config


def _preprocessing(fields: _Fields | None, *, pipeline: str) -> PreprocessingConfig | None:
    if fields is None:
        return None
    source_dir = fields.string("source_dir", required=True)
    if source_dir.startswith("/") or ".." in source_dir.split("/"):
        raise fields.fail("source_dir", f"must be a directory inside the project, got {_show(source_dir)}")
    script_rule = "a Python file name like preprocess.py (no directories)"
    entry_point = fields.matching("entry_point", _SCRIPT_NAME, script_rule, default="preprocess.py")
    postprocess = fields.get("postprocess_entry_point")
    if postprocess is not None:
        postprocess = fields.matching("postprocess_entry_point", _SCRIPT_NAME, script_rule)
    image_uri = fields.get("image_uri")
    config = PreprocessingConfig(
        source_dir=source_dir.rstrip("/"),
        entry_point=entry_point,
        postprocess_entry_point=postprocess,
        image=_ecr_image(fields, "image_uri", image_uri) if image_uri is not None else None,
        instance_type=fields.matching(
            "instance_type", _INSTANCE_TYPE, "an instance type like ml.m5.large", default="ml.m5.large"
        ),
        volume_size_gb=fields.integer("volume_size_gb", default=30, minimum=1, maximum=16_384),
        # CreateProcessingJob's StoppingCondition allows up to 7 days.
        max_runtime_seconds=fields.integer("max_runtime_seconds", default=3_600, minimum=1, maximum=604_800),
        output_prefix=fields.prefix("output_prefix", default=f"preprocessed/{pipeline}"),
    )
    fields.reject_unknown()
    return config


_MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


def _batch_transform(fields: _Fields | None) -> BatchTransformConfig | None:
    if fields is None:
        return None
    # Both may be null on purpose, so an absent key (the default) differs from null (none).
    input_filter, accept = fields.get("input_filter"), fields.get("accept")
    if "input_filter" not in fields.raw:
        input_filter = "$[1:]"
    if "accept" not in fields.raw:
        accept = "application/jsonlines"
    if input_filter is not None and (not isinstance(input_filter, str) or not input_filter.startswith("$")):
        raise fields.fail(
            "input_filter",
            f'must be a JSONPath like "$[1:]" (or null to send whole records), got {_show(input_filter)}',
        )
    if accept is not None and (not isinstance(accept, str) or not _MEDIA_TYPE.match(accept)):
        raise fields.fail("accept", f"must be a media type like application/jsonlines (or null), got {_show(accept)}")
    config = BatchTransformConfig(
        instance_type=fields.matching(
            "instance_type", _INSTANCE_TYPE, "an instance type like ml.m5.large", default="ml.m5.large"
        ),
        instance_count=fields.integer("instance_count", default=1, minimum=1, maximum=100),
        predictions_prefix=fields.prefix("predictions_prefix", default="predictions"),
        input_filter=input_filter,
        content_type=fields.matching("content_type", _MEDIA_TYPE, "a media type like text/csv", default="text/csv"),
        accept=accept,
        # CreateTransformJob's MaxPayloadInMB: 0 to 100; 0 sends records one by one without a limit (not offered).
        max_payload_mb=fields.integer("max_payload_mb", default=6, minimum=1, maximum=100),
        max_wait_seconds=fields.integer("max_wait_seconds", default=3_600, minimum=1, maximum=31_536_000),
    )
    fields.reject_unknown()
    return config


def _endpoint(fields: _Fields, *, default_name: str) -> EndpointConfig:
    config = EndpointConfig(
        name=fields.matching(
            "name",
            _SAGEMAKER_NAME,
            "a SageMaker name: up to 63 letters, digits or hyphens, starting and ending with a letter or digit",
            default=default_name,
        ),
        instance_type=fields.matching(
            "instance_type", _INSTANCE_TYPE, "an instance type like ml.m5.large", default="ml.m5.large"
        ),
        instance_count=fields.integer("instance_count", default=1, minimum=1, maximum=100),
    )
    fields.reject_unknown()
    return config


def _polling(fields: _Fields) -> PollingConfig:
    config = PollingConfig(
        interval_seconds=fields.integer("interval_seconds", default=60, minimum=1, maximum=3_600),
        max_training_wait_seconds=fields.integer(
            "max_training_wait_seconds", default=86_400, minimum=1, maximum=31_536_000
        ),
        max_deployment_wait_seconds=fields.integer(
            "max_deployment_wait_seconds", default=3_600, minimum=1, maximum=31_536_000
        ),
    )
    fields.reject_unknown()
    return config


def _slack(fields: _Fields | None) -> SlackConfig | None:
    if fields is None:
        return None
    config = SlackConfig(
        channel=fields.matching(
            "channel", _SLACK_CHANNEL, "a channel name like #ml-alerts or a channel id like C0123ABCD"
        ),
        token_secret_name=fields.matching(
            "token_secret_name",
            _SECRET_NAME,
            "the name of a Secrets Manager secret (letters, digits and /_+=.@-), not the token",
        ),
        token_kms_key_arn=None
        if fields.get("token_kms_key_arn") is None
        else fields.matching(
            "token_kms_key_arn",
            _KMS_KEY_ARN,
            "the ARN of the KMS key that encrypts the secret (arn:<partition>:kms:<region>:<account>:key/<id>)",
        ),
    )
    fields.reject_unknown()
    return config


def _quality_gate(fields: _Fields | None) -> QualityGateConfig | None:
    if fields is None:
        return None
    config = QualityGateConfig(
        metric=fields.matching("metric", _METRIC_NAME, "a training job metric name like validation:objective_loss"),
        direction=fields.one_of("direction", GATE_DIRECTIONS),
        threshold=fields.number("threshold"),
        max_regression_percent=fields.number("max_regression_percent", bounds=(0, 1000)),
    )
    fields.reject_unknown()
    if config.threshold is None and config.max_regression_percent is None:
        raise fields.fail(
            "threshold",
            "or max_regression_percent must be set: a gate with neither would pass every model",
        )
    return config


def _registry(fields: _Fields) -> RegistryConfig:
    config = RegistryConfig(
        approval=fields.one_of("approval", APPROVAL_MODES, default="automatic"),
        approval_timeout_hours=fields.integer(
            "approval_timeout_hours", default=168, minimum=1, maximum=MAX_APPROVAL_TIMEOUT_HOURS
        ),
    )
    fields.reject_unknown()
    return config


def _housekeeping(fields: _Fields) -> HousekeepingConfig:
    config = HousekeepingConfig(
        keep_last=fields.integer("keep_last", default=DEFAULT_KEEP_LAST, minimum=KEEP_LAST_MIN, maximum=KEEP_LAST_MAX)
    )
    fields.reject_unknown()
    return config


def _alerts(fields: _Fields | None) -> AlertsConfig | None:
    if fields is None:
        return None
    raw = fields.get("email")
    fields.reject_unknown()
    if not isinstance(raw, list) or not raw:
        raise fields.fail("email", f"must be a non-empty list of email addresses, got {_show(raw)}")
    if len(raw) > MAX_ALERT_EMAILS:
        raise fields.fail("email", f"may hold at most {MAX_ALERT_EMAILS} addresses, got {len(raw)}")
    seen: set[str] = set()
    for position, address in enumerate(raw):
        label = f"email[{position}]"
        if not isinstance(address, str) or len(address) > _EMAIL_MAX_LENGTH or not _EMAIL.match(address):
            raise fields.fail(label, f"must be an email address like ops@example.com, got {_show(address)}")
        if address.lower() in seen:
            raise fields.fail(label, f"repeats {address!r}: each address gets one subscription")
        seen.add(address.lower())
    return AlertsConfig(email=tuple(raw))


def _triggers(fields: _Fields) -> TriggersConfig:
    new_data = fields.optional_object("new_data")
    raw_events = fields.get("events")
    fields.reject_unknown()
    if raw_events is None:
        raw_events = []
    if not isinstance(raw_events, list) or len(raw_events) > MAX_EVENT_TRIGGERS:
        raise fields.fail("events", f"must be a list of at most {MAX_EVENT_TRIGGERS} objects, got {_show(raw_events)}")
    events: list[EventTriggerConfig] = []
    for index, raw in enumerate(raw_events):
        key = f"events[{index}]"
        if not isinstance(raw, Mapping):
            raise fields.fail(key, f"must be an object with name and pattern, got {_show(raw)}")
        events.append(_event_trigger(_Fields(raw, where=fields.where, path=f"{fields.label(key)}.")))
    names = [event.name for event in events]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise fields.fail(f"events[{index}].name", f"{name!r} is used by another event trigger")
    return TriggersConfig(new_data=_new_data_trigger(new_data), events=tuple(events))


def _new_data_trigger(fields: _Fields | None) -> NewDataTriggerConfig | None:
    if fields is None:
        return None
    low, high = NEW_DATA_QUIET_SECONDS
    quiet = fields.integer("quiet_seconds", default=300, minimum=low, maximum=high)
    low, high = NEW_DATA_MAX_DELAY_SECONDS
    max_delay = fields.integer("max_delay_seconds", default=3_600, minimum=low, maximum=high)
    fields.reject_unknown()
    if max_delay < quiet:
        raise fields.fail(
            "max_delay_seconds",
            f"({max_delay}) must be at least {fields.label('quiet_seconds')} ({quiet}): the run starts at the "
            "latest max_delay_seconds after the first new object, so a shorter delay would cut every quiet period",
        )
    return NewDataTriggerConfig(quiet_seconds=quiet, max_delay_seconds=max_delay)


def _event_trigger(fields: _Fields) -> EventTriggerConfig:
    name = fields.string("name")
    if len(name) > _TRIGGER_NAME_MAX_LENGTH or not _TRIGGER_NAME.match(name):
        raise fields.fail(
            "name",
            f"must be 1 to {_TRIGGER_NAME_MAX_LENGTH} lowercase letters, digits or single hyphens, starting with "
            f"a letter, got {name!r}",
        )
    pattern = fields.get("pattern")
    fields.reject_unknown()
    problem = pattern_problem(pattern)
    if problem:
        raise fields.fail("pattern", problem)
    return EventTriggerConfig(name=name, pattern=MappingProxyType(json.loads(json.dumps(pattern))))


def _rollout(fields: _Fields | None) -> RolloutConfig | None:
    if fields is None:
        return None
    strategy = fields.get("strategy")
    if strategy not in ROLLOUT_STRATEGIES:
        raise fields.fail("strategy", f"must be one of {', '.join(ROLLOUT_STRATEGIES)}, got {_show(strategy)}")
    sizes = {"canary": "canary_percent", "linear": "linear_step_percent"}
    for other_strategy, key in sizes.items():
        if other_strategy != strategy and fields.raw.get(key) is not None:
            raise fields.fail(key, f"applies to strategy {other_strategy!r} only, not {strategy!r}")
    canary = linear = None
    if strategy == "canary":
        low, high = ROLLOUT_CANARY_PERCENT
        canary = fields.integer("canary_percent", default=10, minimum=low, maximum=high)
    if strategy == "linear":
        low, high = ROLLOUT_LINEAR_STEP_PERCENT
        linear = fields.integer("linear_step_percent", default=20, minimum=low, maximum=high)
    timeout: int | None = None
    if fields.get("max_execution_seconds") is not None:
        low, high = ROLLOUT_EXECUTION_TIMEOUT_SECONDS
        timeout = fields.integer("max_execution_seconds", default=low, minimum=low, maximum=high)
    config = RolloutConfig(
        strategy=strategy,
        wait_seconds=fields.integer("wait_seconds", default=300, minimum=0, maximum=ROLLOUT_MAX_WAIT_SECONDS),
        canary_percent=canary,
        linear_step_percent=linear,
        termination_wait_seconds=fields.integer(
            "termination_wait_seconds", default=0, minimum=0, maximum=ROLLOUT_MAX_WAIT_SECONDS
        ),
        max_execution_seconds=timeout,
        alarms=_rollout_alarms(fields.object("alarms")),
    )
    fields.reject_unknown()
    if timeout is not None and timeout <= config.total_wait_seconds:
        raise fields.fail(
            "max_execution_seconds",
            f"({timeout}) must be larger than the rollout's waits: {config.baking_periods} baking period(s) of "
            f"{fields.label('wait_seconds')} ({config.wait_seconds}) plus "
            f"{fields.label('termination_wait_seconds')} ({config.termination_wait_seconds}) = "
            f"{config.total_wait_seconds} s",
        )
    return config


def _rollout_alarms(fields: _Fields) -> RolloutAlarmsConfig:
    latency: int | None = None
    if "max_model_latency_ms" not in fields.raw:
        latency = RolloutAlarmsConfig.max_model_latency_ms
    elif fields.get("max_model_latency_ms") is not None:  # an explicit null turns the latency alarm off
        latency = fields.integer("max_model_latency_ms", default=1_000, minimum=1, maximum=3_600_000)
    config = RolloutAlarmsConfig(
        max_5xx_errors=fields.integer("max_5xx_errors", default=0, minimum=0, maximum=1_000_000),
        max_model_latency_ms=latency,
        evaluation_periods=fields.integer(
            "evaluation_periods", default=1, minimum=1, maximum=ROLLOUT_MAX_EVALUATION_PERIODS
        ),
    )
    fields.reject_unknown()
    return config


def _check_rollout_fits(rollout: RolloutConfig, polling: PollingConfig, *, where: str) -> None:
    """The run must wait for a rollout longer than the rollout takes, or it times out while SageMaker bakes."""
    if polling.max_deployment_wait_seconds > rollout.total_wait_seconds:
        return
    raise ConfigError(
        f"{where}: polling.max_deployment_wait_seconds ({polling.max_deployment_wait_seconds}) must be larger than "
        f"the rollout's waits ({rollout.baking_periods} baking period(s) of rollout.wait_seconds "
        f"({rollout.wait_seconds}) plus rollout.termination_wait_seconds ({rollout.termination_wait_seconds}) = "
        f"{rollout.total_wait_seconds} s), or every guarded deployment ends DeploymentTimedOut"
    )


def polls_history_events(
    polling: PollingConfig, *, interval_seconds: int | None = None, other_waits: Sequence[int] = ()
) -> int:
    """Estimate the history events of a run that waits the maximum for training, deployment and `other_waits`
    (the preprocessing and batch transform loops' maximum waits, when the pipeline has them)."""
    interval = interval_seconds or polling.interval_seconds
    waits = (polling.max_training_wait_seconds, polling.max_deployment_wait_seconds, *other_waits)
    polls = sum(max_polls(wait, interval_seconds=interval) for wait in waits)
    return polls * HISTORY_EVENTS_PER_POLL + HISTORY_EVENTS_FIXED


# Step Functions ends a Standard workflow's execution after one year at most.
MAX_EXECUTION_SECONDS = 31_536_000
# What a run spends beyond its waits: the Lambda steps, their retries, stopping a job that ran past its wait.
RUN_STEPS_MARGIN_SECONDS = 6 * 3_600


def run_timeout_seconds(config: PipelineConfig) -> int:
    """The longest a run can take: every wait at its maximum (the optional loops and a person's approval too), an
    interval more for each loop (its last check may land up to an interval past the maximum), plus the steps'
    margin. The state machine's TimeoutSeconds: a run kept going past it by a fault ends TimedOut, which the
    runs-timed-out alarm reports, instead of running for Step Functions' year."""
    loops = (config.polling.max_training_wait_seconds, config.polling.max_deployment_wait_seconds, *other_waits(config))
    waits = sum(loops) + len(loops) * config.polling.interval_seconds
    if config.registry.manual:
        waits += config.registry.approval_timeout_hours * 3_600
    return min(waits + RUN_STEPS_MARGIN_SECONDS, MAX_EXECUTION_SECONDS)


def other_waits(config: PipelineConfig) -> tuple[int, ...]:
    """The maximum waits of the pipeline's optional loops: preprocessing, then batch transform."""
    waits = []
    if config.preprocessing is not None:
        waits.append(config.preprocessing.max_wait_seconds)
    if config.batch_transform is not None:
        waits.append(config.batch_transform.max_wait_seconds)
    return tuple(waits)


def _check_history_budget(polling: PollingConfig, *, where: str, waits: Sequence[int] = ()) -> None:
    events = polls_history_events(polling, other_waits=waits)
    if events <= HISTORY_EVENTS_BUDGET:
        return
    shortest = next(
        (
            interval
            for interval in range(polling.interval_seconds + 1, 3_601)
            if polls_history_events(polling, interval_seconds=interval, other_waits=waits) <= HISTORY_EVENTS_BUDGET
        ),
        None,
    )
    advice = (
        f"set polling.interval_seconds to at least {shortest}"
        if shortest
        else "lower polling.max_training_wait_seconds or polling.max_deployment_wait_seconds"
    )
    raise ConfigError(
        f"{where}: polling.max_training_wait_seconds ({polling.max_training_wait_seconds}) and "
        f"polling.max_deployment_wait_seconds ({polling.max_deployment_wait_seconds})"
        + (f" and the preprocessing or batch transform loops' ({', '.join(map(str, waits))} s)" if waits else "")
        + " polled every "
        f"polling.interval_seconds ({polling.interval_seconds}) could take about {events} Step Functions "
        f"history events, more than the budget of {HISTORY_EVENTS_BUDGET} under the hard limit of 25,000 "
        f"per execution: {advice}"
    )


def _check_prefixes(config: PipelineConfig, *, where: str) -> None:
    named = [
        ("data_prefix", config.data_prefix),
        ("manifest_prefix", config.manifest_prefix),
        ("model_prefix", config.model_prefix),
        ("approval_prefix", config.approval_prefix),
        ("wake_prefix", config.wake_prefix),
        ("runs_prefix", config.runs_prefix),
    ]
    if config.preprocessing is not None:
        named.append(("preprocessing.output_prefix", config.preprocessing.output_prefix))
    if config.batch_transform is not None:
        named.append(("batch_transform.predictions_prefix", config.batch_transform.predictions_prefix))
    for position, (key, prefix) in enumerate(named):
        for other_key, other in named[position + 1 :]:
            if _overlaps(prefix, other):
                raise ConfigError(
                    f"{where}: {other_key} {other!r} overlaps {key} {prefix!r}; "
                    "the data, manifests, models, approvals, wait tokens, run records, preprocessed data and "
                    "predictions need separate prefixes"
                )


def _overlaps(first: str, second: str) -> bool:
    """Tell whether one key prefix contains the other, comparing whole path segments."""
    a, b = first.split("/"), second.split("/")
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _check_unique(configs: Sequence[PipelineConfig]) -> None:
    names: set[str] = set()
    endpoints: dict[str, str] = {}
    for config in configs:
        if config.name in names:
            raise ConfigError(f"pipeline {config.name!r}: name is used by another pipeline")
        names.add(config.name)
    for config in configs:
        # IAM scopes a pipeline's training jobs, models and endpoint configs by "<name>-*": with pipelines
        # "churn" and "churn-v2", churn's functions could act on churn-v2's jobs.
        for other in names:
            if config.name.startswith(f"{other}-"):
                raise ConfigError(
                    f"pipeline {config.name!r}: name starts with {other!r} and a hyphen, the name of "
                    "another pipeline; SageMaker permissions are scoped by the prefix '<name>-', so pick "
                    "another name"
                )
        # SageMaker resource names are case-insensitive (their ARNs are lowercase).
        endpoint = config.endpoint.name.lower()
        if endpoint in endpoints:
            raise ConfigError(
                f"pipeline {config.name!r}: endpoint.name {config.endpoint.name!r} is already the endpoint "
                f"of pipeline {endpoints[endpoint]!r}"
            )
        endpoints[endpoint] = config.name


def _schedule_problem(expression: str) -> str | None:
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate[1]), rate[2]
        if value < 1:
            return "must be a rate of at least 1"
        if (value == 1) != (not unit.endswith("s")):
            singular = unit.rstrip("s")
            return f"must use '{singular}' for 1 and '{singular}s' otherwise, e.g. rate(1 {singular})"
        return None
    cron = _CRON.match(expression)
    if cron:
        parts = cron[1].split()
        if len(parts) != 6:
            return f"must be cron(minutes hours day-of-month month day-of-week year) with 6 fields, got {len(parts)}"
        if "?" not in (parts[2], parts[4]):
            return "must use '?' in day-of-month or day-of-week (EventBridge requires one of them)"
        return None
    return "must be 'rate(N minute|minutes|hour|hours|day|days)' or 'cron(<6 fields>)'"


def _bucket_name_problem(name: Any) -> str | None:
    rule = "must be a valid S3 bucket name"
    if not isinstance(name, str):
        return f"{rule} (a string)"
    if not _BUCKET_NAME.match(name):
        return f"{rule}: 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"
    if ".." in name or _IPV4.match(name):
        return f"{rule}: no adjacent dots and not shaped like an IP address"
    if name.startswith(_BUCKET_RESERVED_PREFIXES) or name.endswith(_BUCKET_RESERVED_SUFFIXES):
        return f"{rule}: it uses a prefix or suffix S3 reserves"
    return None


def _parse_tags(raw: Any) -> Mapping[str, str]:
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        raise ConfigError(f"tags must be an object of strings, got {_show(raw)}")
    for key, value in raw.items():
        if not isinstance(key, str) or not _TAG_KEY.match(key) or key.lower().startswith("aws:"):
            raise ConfigError(f"tags: key {key!r} is not a valid tag key")
        if not isinstance(value, str) or not _TAG_VALUE.match(value):
            raise ConfigError(f"tags.{key} must be a string of up to 256 characters, got {_show(value)}")
    return MappingProxyType(dict(raw))


def _read_config_file(config_file: Any, project_root: Path) -> Any:
    if not isinstance(config_file, str) or not config_file:
        raise ConfigError(f"config_file must be the path of a JSON file, got {_show(config_file)}")
    path = project_root / config_file
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config_file {config_file!r}: no such file under {project_root}") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"config_file {config_file!r}: invalid JSON: {error}") from None
    if not isinstance(document, Mapping) or set(document) != {"pipelines"}:
        raise ConfigError(f'config_file {config_file!r}: must hold exactly {{"pipelines": [...]}}')
    return document["pipelines"]


def _show(value: Any) -> str:
    """Render a config value in an error message the way it was written (JSON)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
