"""The functions' metrics: namespace, names and dimensions, which the stack's alarms and dashboard watch.

Fixed in code rather than passed in the environment: Powertools reads them when a module is imported, not per
call. One module for both sides, so a metric and what watches it cannot drift apart.
"""

from __future__ import annotations

METRICS_NAMESPACE = "SageMakerRetraining"

# Powertools puts the service (the step's folder name) on every metric; the handlers add the pipeline, so one
# account's pipelines keep their metrics apart.
SERVICE_DIMENSION = "service"
PIPELINE_DIMENSION = "pipeline"

SLACK_NOTIFICATION_FAILED = "SlackNotificationFailed"  # NotifySlack: a message Slack did not take

# One datapoint per run that reached UpdateParameters (lambdas/update_parameters): the dashboard's figures.
RUN_DATA_FILES = "RunDataFiles"
RUN_TRAINING_SECONDS = "RunTrainingSeconds"
RUN_DEPLOYMENT_SECONDS = "RunDeploymentSeconds"
# SageMaker instance-seconds billed for the run's jobs up to then (preprocessing, training, evaluation).
RUN_BILLABLE_SECONDS = "RunBillableSeconds"
# The quality gate's metric of a model that went into service, with the metric's name as a dimension.
DEPLOYED_MODEL_METRIC = "DeployedModelMetric"
# An autoscaled endpoint's instances (its variant's CurrentInstanceCount) when GetStatus sees it serve a run's model.
ENDPOINT_INSTANCES = "EndpointInstances"
MODEL_METRIC_DIMENSION = "metric"


def metric_dimensions(step: str, pipeline: str) -> dict[str, str]:
    """The dimensions a step's metrics carry: Powertools' service (the step's folder) and the pipeline."""
    return {SERVICE_DIMENSION: step, PIPELINE_DIMENSION: pipeline}
