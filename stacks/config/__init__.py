"""The pipelines' typed configuration, one module per section, validated at synth so a mistake fails before deploy."""

from stacks.config.alerts import MAX_ALERT_EMAILS, AlertsConfig
from stacks.config.algorithm import BUILTIN_ALGORITHMS, LINEAR_LEARNER, LINEAR_LEARNER_PREDICTOR_TYPES, AlgorithmConfig
from stacks.config.batch_transform import BatchTransformConfig
from stacks.config.data_bucket import DataBucketConfig
from stacks.config.endpoint import EndpointConfig
from stacks.config.errors import ConfigError
from stacks.config.fields import EcrImage
from stacks.config.governance import (
    APPROVAL_MODES,
    GATE_DIRECTIONS,
    MAX_APPROVAL_TIMEOUT_HOURS,
    QualityGateConfig,
    RegistryConfig,
)
from stacks.config.housekeeping import DEFAULT_KEEP_LAST, KEEP_LAST_MAX, KEEP_LAST_MIN, HousekeepingConfig
from stacks.config.loading import AppConfig, load_app_config, parse_pipeline, parse_pipelines
from stacks.config.pipeline import LOG_RETENTION_DAYS, PipelineConfig
from stacks.config.polling import PollingConfig
from stacks.config.preprocessing import PreprocessingConfig
from stacks.config.rollout import (
    ROLLOUT_ALARM_PERIOD_SECONDS,
    ROLLOUT_CANARY_PERCENT,
    ROLLOUT_EXECUTION_TIMEOUT_SECONDS,
    ROLLOUT_LINEAR_STEP_PERCENT,
    ROLLOUT_MAX_EVALUATION_PERIODS,
    ROLLOUT_MAX_WAIT_SECONDS,
    ROLLOUT_STRATEGIES,
    RolloutAlarmsConfig,
    RolloutConfig,
)
from stacks.config.slack import SlackConfig
from stacks.config.training import DEFAULT_MAX_FILES_PER_RUN, MAX_FILES_PER_RUN_LIMIT, TrainingConfig
from stacks.config.triggers import (
    MAX_EVENT_TRIGGERS,
    NEW_DATA_MAX_DELAY_SECONDS,
    NEW_DATA_QUIET_SECONDS,
    EventTriggerConfig,
    NewDataTriggerConfig,
    TriggersConfig,
)
from stacks.history_budget import (
    HISTORY_EVENTS_BUDGET,
    HISTORY_EVENTS_FIXED,
    HISTORY_EVENTS_PER_POLL,
    MAX_EXECUTION_SECONDS,
    PREPROCESSING_WAIT_MARGIN_SECONDS,
    RUN_STEPS_MARGIN_SECONDS,
    other_waits,
    polls_history_events,
    run_timeout_seconds,
)

__all__ = [
    "APPROVAL_MODES",
    "BUILTIN_ALGORITHMS",
    "DEFAULT_KEEP_LAST",
    "DEFAULT_MAX_FILES_PER_RUN",
    "GATE_DIRECTIONS",
    "HISTORY_EVENTS_BUDGET",
    "HISTORY_EVENTS_FIXED",
    "HISTORY_EVENTS_PER_POLL",
    "KEEP_LAST_MAX",
    "KEEP_LAST_MIN",
    "LINEAR_LEARNER",
    "LINEAR_LEARNER_PREDICTOR_TYPES",
    "LOG_RETENTION_DAYS",
    "MAX_ALERT_EMAILS",
    "MAX_APPROVAL_TIMEOUT_HOURS",
    "MAX_EVENT_TRIGGERS",
    "MAX_EXECUTION_SECONDS",
    "MAX_FILES_PER_RUN_LIMIT",
    "NEW_DATA_MAX_DELAY_SECONDS",
    "NEW_DATA_QUIET_SECONDS",
    "PREPROCESSING_WAIT_MARGIN_SECONDS",
    "ROLLOUT_ALARM_PERIOD_SECONDS",
    "ROLLOUT_CANARY_PERCENT",
    "ROLLOUT_EXECUTION_TIMEOUT_SECONDS",
    "ROLLOUT_LINEAR_STEP_PERCENT",
    "ROLLOUT_MAX_EVALUATION_PERIODS",
    "ROLLOUT_MAX_WAIT_SECONDS",
    "ROLLOUT_STRATEGIES",
    "RUN_STEPS_MARGIN_SECONDS",
    "AlertsConfig",
    "AlgorithmConfig",
    "AppConfig",
    "BatchTransformConfig",
    "ConfigError",
    "DataBucketConfig",
    "EcrImage",
    "EndpointConfig",
    "EventTriggerConfig",
    "HousekeepingConfig",
    "NewDataTriggerConfig",
    "PipelineConfig",
    "PollingConfig",
    "PreprocessingConfig",
    "QualityGateConfig",
    "RegistryConfig",
    "RolloutAlarmsConfig",
    "RolloutConfig",
    "SlackConfig",
    "TrainingConfig",
    "TriggersConfig",
    "load_app_config",
    "other_waits",
    "parse_pipeline",
    "parse_pipelines",
    "polls_history_events",
    "run_timeout_seconds",
]
