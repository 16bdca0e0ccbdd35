"""One CloudWatch dashboard per pipeline: its runs, how long the steps take, the model and the data over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract.metrics import (
    DEPLOYED_MODEL_METRIC,
    METRICS_NAMESPACE,
    MODEL_METRIC_DIMENSION,
    RUN_BILLABLE_SECONDS,
    RUN_DATA_FILES,
    RUN_DEPLOYMENT_SECONDS,
    RUN_TRAINING_SECONDS,
    metric_dimensions,
)
from stacks.config import PipelineConfig
from stacks.constructs.alarms import STATES_NAMESPACE
from stacks.constructs.endpoint_instances import deployed_instances, serving_instances

DASHBOARD_NAME = "sagemaker-retraining-{pipeline}"
# Run counts per day; per-run figures on an hour's grid, where at most one run ends (runs never overlap).
RUNS_PERIOD = Duration.days(1)
FIGURES_PERIOD = Duration.hours(1)
DEFAULT_RANGE = Duration.days(28)
EXECUTION_OUTCOMES = (
    ("ExecutionsStarted", "started"),
    ("ExecutionsSucceeded", "succeeded"),
    ("ExecutionsFailed", "failed"),
    ("ExecutionsTimedOut", "timed out"),
    ("ExecutionsAborted", "aborted"),
)
FULL, HALF, HEIGHT = 24, 12, 6


class PipelineDashboard(Construct):
    """Runs by outcome and run time; each function's duration; training and deployment time and the instance
    time SageMaker billed, the deployed model's quality gate metric and the data files of each run (UpdateParameters'
    metrics); the alarms' states.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        state_machine: sfn.StateMachine,
        functions: Mapping[str, lambda_.IFunction],
        alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._run_dimensions = metric_dimensions("update_parameters", config.name)
        executions = {"StateMachineArn": state_machine.state_machine_arn}
        runs = _graph(
            "Runs per day",
            [
                cloudwatch.Metric(
                    namespace=STATES_NAMESPACE,
                    metric_name=metric_name,
                    dimensions_map=executions,
                    statistic=cloudwatch.Stats.SUM,
                    period=RUNS_PERIOD,
                    label=label,
                )
                for metric_name, label in EXECUTION_OUTCOMES
            ],
        )
        run_time = _graph(
            "Run time (start to end, minutes)",
            [
                cloudwatch.MathExpression(
                    expression="duration / 60000",
                    using_metrics={
                        "duration": cloudwatch.Metric(
                            namespace=STATES_NAMESPACE,
                            metric_name="ExecutionTime",
                            dimensions_map=executions,
                            statistic=cloudwatch.Stats.MAXIMUM,
                            period=FIGURES_PERIOD,
                        )
                    },
                    label="run time",
                    period=FIGURES_PERIOD,
                )
            ],
        )
        steps = _graph(
            "Step durations (Lambda, average ms)",
            [
                function.metric_duration(statistic=cloudwatch.Stats.AVERAGE, period=FIGURES_PERIOD, label=step)
                for step, function in functions.items()
            ],
        )
        waits = _graph(
            "Training, deployment and billed instance time per run (seconds)",
            [
                self._run_metric(RUN_TRAINING_SECONDS, "training"),
                self._run_metric(RUN_DEPLOYMENT_SECONDS, "deployment"),
                # SageMaker's billed instance-seconds of the run's jobs (a spot job's are fewer than its run time)
                self._run_metric(RUN_BILLABLE_SECONDS, "billable (all jobs)"),
            ],
        )
        data_files = _graph("Data files per run", [self._run_metric(RUN_DATA_FILES, "data files")])
        rows: list[list[cloudwatch.IWidget]] = [
            [self._header(state_machine)],
            [runs, run_time],
            [steps, waits],
            [self._model_widget(), data_files],
            *([[self._instances_widget()]] if config.endpoint.autoscaling is not None else []),
        ]
        if alarms:
            rows.append([cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=FULL)])
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=DASHBOARD_NAME.format(pipeline=config.name),
            default_interval=DEFAULT_RANGE,
            widgets=rows,
        )

    def _run_metric(self, metric_name: str, label: str, **extra: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={**self._run_dimensions, **extra},
            statistic=cloudwatch.Stats.MAXIMUM,
            period=FIGURES_PERIOD,
            label=label,
        )

    def _model_widget(self) -> cloudwatch.IWidget:
        gate = self._config.quality_gate
        if gate is None:
            return cloudwatch.TextWidget(
                markdown=(
                    "### Deployed model\n"
                    "No `quality_gate` is configured, so no metric names the model's quality. Configure one "
                    "(its `metric`, e.g. `train:objective_loss`) and each deployed model's value is charted "
                    "here; the run records under the runs prefix hold every metric meanwhile."
                ),
                width=HALF,
                height=HEIGHT,
            )
        annotations = []
        if gate.threshold is not None:
            annotations.append(cloudwatch.HorizontalAnnotation(value=gate.threshold, label="quality gate threshold"))
        return cloudwatch.GraphWidget(
            title=f"Deployed model: {gate.metric} ({gate.direction})",
            left=[self._run_metric(DEPLOYED_MODEL_METRIC, gate.metric, **{MODEL_METRIC_DIMENSION: gate.metric})],
            left_annotations=annotations,
            left_y_axis=cloudwatch.YAxisProps(show_units=False),
            width=HALF,
            height=HEIGHT,
        )

    def _instances_widget(self) -> cloudwatch.IWidget:
        """An autoscaled endpoint's instances between its minimum and maximum (see endpoint_instances.py)."""
        config = self._config
        scaling = config.endpoint.autoscaling
        assert scaling is not None
        return cloudwatch.GraphWidget(
            title=f"Endpoint {config.endpoint.name}: instances (autoscaling {scaling.min} to {scaling.max})",
            left=[serving_instances(config), deployed_instances(config, period=FIGURES_PERIOD)],
            left_annotations=[
                cloudwatch.HorizontalAnnotation(value=scaling.min, label="autoscaling.min"),
                cloudwatch.HorizontalAnnotation(value=scaling.max, label="autoscaling.max"),
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
            width=FULL,
            height=HEIGHT,
        )

    def _header(self, state_machine: sfn.StateMachine) -> cloudwatch.IWidget:
        config = self._config
        return cloudwatch.TextWidget(
            markdown=(
                f"## Retraining pipeline `{config.name}`\n"
                f"Schedule `{config.schedule}`, a window of {config.window_days} days, endpoint "
                f"`{config.endpoint.name}`, state machine `{state_machine.state_machine_name}`. "
                "Per-run figures come from the UpdateParameters step: a run that stopped earlier (no new data, "
                "a failure) has none."
            ),
            width=FULL,
            height=2,
        )


def _graph(title: str, metrics: Sequence[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
    """A half-width graph of counts or durations: its axis starts at zero and shows no unit."""
    return cloudwatch.GraphWidget(
        title=title,
        left=list(metrics),
        left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
        width=HALF,
        height=HEIGHT,
    )
