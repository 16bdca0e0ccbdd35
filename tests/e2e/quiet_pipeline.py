"""The gated, quiet pipeline with a local Slack that the CLI's e2e files (runs, predict) drive.

Synthesized once per worker process (synthesis costs seconds; a template is plain data) and deployed into a runtime
of each caller's own, so no run, day of data or model of one file is seen by another.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from local_runtime.deploy import DeployedPipeline
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, SlackTarget, synthesize
from local_runtime.slack_api import LocalSlackApi

PIPELINE = "ops"
STACK = f"SageMakerRetraining-{PIPELINE}"
TOKEN, CHANNEL, SECRET = "xoxb-ops-e2e", "#ml-alerts", "ops/slack-bot"
METRIC = "rmse"  # the held-out evaluation's
CONFIG: dict[str, Any] = {
    "name": PIPELINE,
    "data_prefix": f"data/{PIPELINE}",
    "window_days": 2,
    "hyperparameters": {"predictor_type": "regressor"},
    "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
    "slack": {"channel": CHANNEL, "token_secret_name": SECRET},
    "quality_gate": {"metric": METRIC, "direction": "minimize", "max_regression_percent": 50},
}


@functools.cache
def _template() -> dict[str, Any]:
    return synthesize({"pipelines": [CONFIG]})[STACK]


def template() -> dict[str, Any]:
    """The pipeline's template: a copy, so that no caller changes another's."""
    return copy.deepcopy(_template())


@contextmanager
def deployed_quiet_pipeline() -> Iterator[tuple[LocalRuntime, DeployedPipeline]]:
    """The pipeline deployed into a fresh runtime, posting to a local Slack; both stop on exit."""
    with LocalSlackApi(valid_token=TOKEN, channels=(CHANNEL,)) as slack, LocalRuntime() as runtime:
        deployed = runtime.deploy_template(
            template(),
            stack_name=STACK,
            slack=SlackTarget(api_url=slack.base_url, token=TOKEN),
            # The functions run in this process: their logs would mix with the command's output.
            function_environment=QUIET_FUNCTIONS,
        )
        yield runtime, deployed
