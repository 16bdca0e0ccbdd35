"""The `housekeeping` section: how many of a pipeline's newest models and endpoint configs stay."""

from __future__ import annotations

from pydantic import Field, StrictInt

from stacks.config.fields import Section

# Housekeeping: how many of a pipeline's newest models and endpoint configs stay (lambdas/prune_models).
# At least two: the serving one and one to roll back to, before the step's own protections.
DEFAULT_KEEP_LAST = 5
KEEP_LAST_MIN = 2
KEEP_LAST_MAX = 1000


class HousekeepingConfig(Section):
    keep_last: StrictInt = Field(default=DEFAULT_KEEP_LAST, ge=KEEP_LAST_MIN, le=KEEP_LAST_MAX)
