"""Names of the environment variables the stack sets on the functions and the functions read.

Plain strings and nothing else: `lambdas/common/env.py` re-exports them beside its typed readers.
"""

PIPELINE_NAME = "PIPELINE_NAME"
DATA_BUCKET = "DATA_BUCKET"
DATA_PREFIX = "DATA_PREFIX"
MANIFEST_PREFIX = "MANIFEST_PREFIX"
MODEL_PREFIX = "MODEL_PREFIX"
RUNS_PREFIX = "RUNS_PREFIX"
WATERMARK_PARAMETER = "WATERMARK_PARAMETER"
WINDOW_DAYS = "WINDOW_DAYS"
# CheckData: JSON {"days": N} or {"fraction": f, "seed": s}, the part of the window held out; unset: none.
HOLDOUT = "HOLDOUT"
# The held-out evaluation (CheckData, StartEvaluation, GetStatus, EvaluateModel, CleanUp): JSON {task, algorithm,
# accept, instance_type, output_prefix, max_wait_seconds}; unset: the built-in evaluators do not score this pipeline.
EVALUATION = "EVALUATION"
TRAINING_IMAGE = "TRAINING_IMAGE"
INFERENCE_IMAGE = "INFERENCE_IMAGE"
SAGEMAKER_ROLE_ARN = "SAGEMAKER_ROLE_ARN"
TRAINING_INSTANCE_TYPE = "TRAINING_INSTANCE_TYPE"
TRAINING_INSTANCE_COUNT = "TRAINING_INSTANCE_COUNT"
TRAINING_VOLUME_SIZE_GB = "TRAINING_VOLUME_SIZE_GB"
TRAINING_MAX_RUNTIME_SECONDS = "TRAINING_MAX_RUNTIME_SECONDS"
# Managed Spot training (StartTrainingJob): StoppingCondition.MaxWaitTimeInSeconds; unset: on-demand instances.
TRAINING_SPOT_MAX_WAIT_SECONDS = "TRAINING_SPOT_MAX_WAIT_SECONDS"
MAX_FILES_PER_RUN = "MAX_FILES_PER_RUN"
VALIDATE_DATA = "VALIDATE_DATA"  # "true" or "false"
HYPERPARAMETERS = "HYPERPARAMETERS"  # JSON object of strings, CreateTrainingJob's HyperParameters
# A framework's script (StartTrainingJob): "true" adds the JSON-encoded sagemaker_job_name hyperparameter, as the
# SageMaker Python SDK does; the other Script Mode hyperparameters are in HYPERPARAMETERS. Unset: not Script Mode.
SCRIPT_MODE = "SCRIPT_MODE"
METRIC_DEFINITIONS = "METRIC_DEFINITIONS"  # JSON list of {"Name", "Regex"} (StartTrainingJob); unset: none
MODEL_ENVIRONMENT = "MODEL_ENVIRONMENT"  # JSON object, the model container's Environment (DeployModel, EvaluateModel)
# Preprocessing (StartPreprocessing, StartTrainingJob, DeployModel): JSON of the processing job's settings; unset: none.
PREPROCESSING = "PREPROCESSING"
MAX_PREPROCESSING_WAIT_SECONDS = "MAX_PREPROCESSING_WAIT_SECONDS"
# Batch transform after deployment (CheckData, StartBatchTransform): JSON of the job's settings; unset: none.
BATCH_TRANSFORM = "BATCH_TRANSFORM"
MAX_BATCH_TRANSFORM_WAIT_SECONDS = "MAX_BATCH_TRANSFORM_WAIT_SECONDS"
ENDPOINT_NAME = "ENDPOINT_NAME"
ENDPOINT_INSTANCE_TYPE = "ENDPOINT_INSTANCE_TYPE"
ENDPOINT_INSTANCE_COUNT = "ENDPOINT_INSTANCE_COUNT"
# DeployModel: JSON of the variant's ServerlessConfig ({"MemorySizeInMB", "MaxConcurrency", "ProvisionedConcurrency"});
# set for a serverless endpoint, in place of ENDPOINT_INSTANCE_TYPE and ENDPOINT_INSTANCE_COUNT.
ENDPOINT_SERVERLESS_CONFIG = "ENDPOINT_SERVERLESS_CONFIG"
# endpoint.autoscaling as JSON (min, max, target_invocations_per_instance, cooldowns); unset: not scaled
ENDPOINT_AUTOSCALING = "ENDPOINT_AUTOSCALING"
POLL_INTERVAL_SECONDS = "POLL_INTERVAL_SECONDS"
# GetStatus: JSON {"training": {"ml.m5.large": 0.115}, "processing": {...}, "transform": {...}, "hosting": {...}}, USD
# per instance-hour of the instance types the pipeline uses, from its price table; unset: every cost is unknown.
PRICES = "PRICES"
MAX_TRAINING_WAIT_SECONDS = "MAX_TRAINING_WAIT_SECONDS"
MAX_DEPLOYMENT_WAIT_SECONDS = "MAX_DEPLOYMENT_WAIT_SECONDS"
MODEL_PACKAGE_GROUP = "MODEL_PACKAGE_GROUP"
QUALITY_GATE = "QUALITY_GATE"  # JSON {metric, direction, threshold, max_regression_percent}; unset: no gate
APPROVAL_MODE = "APPROVAL_MODE"  # "automatic" or "manual"
APPROVAL_TIMEOUT_SECONDS = "APPROVAL_TIMEOUT_SECONDS"
APPROVAL_PREFIX = "APPROVAL_PREFIX"
WAKE_PREFIX = "WAKE_PREFIX"  # where a wait/poll loop keeps its task token for SageMaker's state-change event
# Guarded rollout (DeployModel): unset ROLLOUT_STRATEGY means a plain UpdateEndpoint.
ROLLOUT_STRATEGY = "ROLLOUT_STRATEGY"  # all_at_once, canary or linear
ROLLOUT_STEP_PERCENT = "ROLLOUT_STEP_PERCENT"  # canary size or linear step, percent of the new fleet's capacity
ROLLOUT_WAIT_SECONDS = "ROLLOUT_WAIT_SECONDS"  # each baking period
ROLLOUT_TERMINATION_WAIT_SECONDS = "ROLLOUT_TERMINATION_WAIT_SECONDS"
ROLLOUT_MAX_EXECUTION_SECONDS = "ROLLOUT_MAX_EXECUTION_SECONDS"  # optional
ROLLOUT_ALARM_NAMES = "ROLLOUT_ALARM_NAMES"  # comma-separated CloudWatch alarm names
KEEP_LAST = "KEEP_LAST"  # housekeeping: how many of the pipeline's models and endpoint configs to keep
SLACK_CHANNEL = "SLACK_CHANNEL"
SLACK_TOKEN_SECRET_NAME = "SLACK_TOKEN_SECRET_NAME"  # the secret's name, never the token
SLACK_API_URL = "SLACK_API_URL"  # only set to point slack-sdk at a local Slack-compatible server
SLACK_TIMEOUT_SECONDS = "SLACK_TIMEOUT_SECONDS"  # optional; the default suits slack.com
# TriggerRun (new data): the one-time schedule it keeps per pipeline, and what that schedule starts.
STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
SCHEDULE_GROUP = "SCHEDULE_GROUP"
SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"  # the role EventBridge Scheduler starts the execution with
SCHEDULE_KMS_KEY_ARN = "SCHEDULE_KMS_KEY_ARN"  # optional; unset: Scheduler's AWS owned key
QUIET_SECONDS = "QUIET_SECONDS"
MAX_DELAY_SECONDS = "MAX_DELAY_SECONDS"
# RunEnded (the reaper of runs that end outside the workflow): the functions it invokes to clean up and alert.
CLEAN_UP_FUNCTION = "CLEAN_UP_FUNCTION"
NOTIFY_SLACK_FUNCTION = "NOTIFY_SLACK_FUNCTION"
# SmokeTest: JSON {records, input_filter, content_type, accept, header}; unset: the smoke test is off.
SMOKE_TEST = "SMOKE_TEST"
