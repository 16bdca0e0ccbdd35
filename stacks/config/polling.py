"""The `polling` section: how often the wait/poll loops check on SageMaker, and how long they wait at most."""

from __future__ import annotations

from pydantic import Field, StrictInt

from stacks.config.fields import Section
from stacks.history_budget import MAX_INTERVAL_SECONDS

# A year: Step Functions' longest execution.
_MAX_WAIT_SECONDS = 31_536_000


class PollingConfig(Section):
    interval_seconds: StrictInt = Field(default=60, ge=1, le=MAX_INTERVAL_SECONDS)
    max_training_wait_seconds: StrictInt = Field(default=86_400, ge=1, le=_MAX_WAIT_SECONDS)
    max_deployment_wait_seconds: StrictInt = Field(default=3_600, ge=1, le=_MAX_WAIT_SECONDS)
