"""The "what the run cost" section of the messages that end a run: each SageMaker job's instances, billed time and
estimated price (lambdas/common/cost.py), and the run's total.

A section block rather than more fields: a message shows at most ten fields, and the run's jobs vary in number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.common.cost import JobUsage, human_seconds, run_cost, usd_text
from lambdas.notify_slack import mrkdwn

# The events that end a run (or, for a deployed run, end it but for the batch transform, whose message adds it).
COST_EVENTS = frozenset(
    {
        "deployed",
        "batch_transform_completed",
        "batch_transform_failed",
        "model_rejected",
        "backfill_registered",
        "approval_timed_out",
        "failed",
    }
)
# A run has a handful of jobs; the section stays short however many there are.
MAX_JOBS_LISTED = 6


def cost_text(state: Mapping[str, Any], limit: int) -> str | None:
    """The section's mrkdwn, cut to `limit` characters; None when no job of the run has ended yet."""
    cost = run_cost(state)
    summary = cost.summary()
    if summary is None:
        return None
    lines = [f"• {_job_line(job)}" for job in cost.ended[:MAX_JOBS_LISTED]]
    if len(cost.ended) > MAX_JOBS_LISTED:
        lines.append(f"• and {len(cost.ended) - MAX_JOBS_LISTED} more jobs")
    text = ":moneybag: *What the run cost* (list prices, SageMaker instances only)\n" + "\n".join(lines)
    return mrkdwn.truncate(f"{text}\n*Total:* {mrkdwn.escape(summary)}", limit)


def _job_line(job: JobUsage) -> str:
    """`training job `x`: 1 ml.m5.large, 35 s billable, $0.0011`."""
    instances = f"{job.instance_count} {job.instance_type or 'instance(s) of unknown type'}"
    billable = f"{human_seconds(job.billable_seconds or 0)} billable"
    if job.spot and job.seconds:
        billable += f" of {human_seconds(job.seconds)} on spot"
    price = usd_text(job.estimated_usd) if job.estimated_usd is not None else "no price in the table"
    return f"{job.kind} job {mrkdwn.code(job.job_name)}: {mrkdwn.escape(instances)}, {billable}, {price}"
