"""What an operator can do about a run that ended "no new data": the same words in Slack and in `runs show`.

A corrected file for a day already trained is no newer than the watermark, so the next run ends NoNewData like
any day without data; only a forced run trains on those days again. CheckData's `run` section says which case
it was: data in the window that the watermark already covers (`newest_data_date` set), or no data file at all
(then a forced run fails with NoDataInWindowError, so --force is no help).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RETRAIN_COMMAND = "sagemaker-retraining runs start --pipeline {pipeline} --force --end-date {end} --window-days {days}"


@dataclass(frozen=True)
class NoNewDataHint:
    """Why the run trained nothing, and the command that trains on the same days (None when --force cannot help)."""

    text: str
    command: str | None = None

    def line(self) -> str:
        return f"{self.text}: {self.command}" if self.command else self.text


def no_new_data_hint(run: Mapping[str, Any]) -> NoNewDataHint | None:
    """The hint for CheckData's `run` section; None when the run trains or stopped because another run was going."""
    if run.get("has_new_data") is not False or run.get("blocked_by"):
        return None
    start, end, days = run.get("window_start"), run.get("window_end"), run.get("window_days")
    newest, watermark = run.get("newest_data_date"), run.get("watermark_date")
    if not newest:
        return NoNewDataHint(
            f"no data file dated {start} to {end} under the pipeline's data prefix, and a forced run fails on an "
            "empty window: check where the files are and how they are named (README: S3 data layout), or choose "
            "other days with --end-date"
        )
    text = (
        f"no data newer than the watermark day {watermark} (the window's newest is {newest}); to retrain on the "
        "same days (a corrected file), start a run with --force"
    )
    if isinstance(end, str) and isinstance(watermark, str) and end < watermark:  # ISO dates compare as text
        text += " (its window ends before the watermark day: a backfill, deployed only with --deploy)"
    return NoNewDataHint(text, RETRAIN_COMMAND.format(pipeline=run.get("pipeline"), end=end, days=days))
