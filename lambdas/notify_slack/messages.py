"""What the notifications say: the event, the failure report and the Block Kit message built from state."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lambdas.common.events import Execution
from lambdas.notify_slack import mrkdwn
from lambdas.notify_slack.cost import COST_EVENTS, cost_text
from lambdas.notify_slack.no_new_data import no_new_data_hint

# Slack rejects a whole message (invalid_blocks) when one block breaks a limit, so every text is cut to fit.
HEADER_TEXT_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
MAX_FIELDS = 10
# The fallback text only feeds notifications and screen readers; Slack's own limit is far higher.
FALLBACK_TEXT_MAX = 3000
_LEFT_BEHIND = "This run's training or processing job, model or endpoint config may be left behind: check SageMaker."
# Room left for the cause in the failure section once the stage and error are written.
CAUSE_IN_MESSAGE_MAX = 2500
# A Fail state's Error and Cause are limited to 256 and 32,768 characters.
ERROR_MAX = 256
CAUSE_MAX = 32768

UNKNOWN_ERROR = "UnknownError"
UNKNOWN_STAGE = "Unknown"


class NotificationEvent(StrEnum):
    """The moments of a run the state machine reports; the ASL passes the value as `event`."""

    NO_NEW_DATA = "no_new_data"
    RUN_IN_PROGRESS = "run_in_progress"
    TRAINING_STARTED = "training_started"
    TRAINING_COMPLETED = "training_completed"
    DEPLOYMENT_STARTED = "deployment_started"
    DEPLOYED = "deployed"
    BATCH_TRANSFORM_COMPLETED = "batch_transform_completed"
    BATCH_TRANSFORM_FAILED = "batch_transform_failed"
    MODEL_REJECTED = "model_rejected"
    BACKFILL_REGISTERED = "backfill_registered"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_TIMED_OUT = "approval_timed_out"
    FAILED = "failed"


# The state each event follows, so a message names the same stage the console shows.
_STAGES = {
    NotificationEvent.NO_NEW_DATA: "CheckData",
    NotificationEvent.RUN_IN_PROGRESS: "CheckData",
    NotificationEvent.TRAINING_STARTED: "StartTrainingJob",
    NotificationEvent.TRAINING_COMPLETED: "GetTrainingStatus",
    NotificationEvent.DEPLOYMENT_STARTED: "DeployModel",
    NotificationEvent.DEPLOYED: "UpdateParameters",
    NotificationEvent.BATCH_TRANSFORM_COMPLETED: "GetBatchTransformStatus",
    NotificationEvent.BATCH_TRANSFORM_FAILED: "GetBatchTransformStatus",
    NotificationEvent.MODEL_REJECTED: "EvaluateModel",
    NotificationEvent.BACKFILL_REGISTERED: "UpdateParameters",
    NotificationEvent.APPROVAL_REQUESTED: "EvaluateModel",
    NotificationEvent.APPROVAL_TIMED_OUT: "WaitForApproval",
}

_HEADLINES = {
    NotificationEvent.NO_NEW_DATA: (":zzz:", "no new data, nothing to train"),
    NotificationEvent.RUN_IN_PROGRESS: (":no_entry_sign:", "another run is in progress, this one stopped"),
    NotificationEvent.TRAINING_STARTED: (":hourglass_flowing_sand:", "training started"),
    NotificationEvent.TRAINING_COMPLETED: (":white_check_mark:", "training completed"),
    NotificationEvent.DEPLOYMENT_STARTED: (":rocket:", "deployment started"),
    NotificationEvent.DEPLOYED: (":tada:", "new model deployed"),
    NotificationEvent.BATCH_TRANSFORM_COMPLETED: (":card_file_box:", "predictions for the newest day written"),
    NotificationEvent.BATCH_TRANSFORM_FAILED: (":warning:", "batch transform failed, the new model serves regardless"),
    NotificationEvent.MODEL_REJECTED: (":no_entry:", "new model rejected, the current one keeps serving"),
    NotificationEvent.BACKFILL_REGISTERED: (
        ":card_index_dividers:",
        "backfill registered, not deployed: the current model keeps serving",
    ),
    NotificationEvent.APPROVAL_REQUESTED: (":raised_hand:", "new model waits for approval"),
    NotificationEvent.APPROVAL_TIMED_OUT: (":hourglass:", "nobody approved the new model in time"),
    NotificationEvent.FAILED: (":rotating_light:", "run failed"),
}

# What each event's status says when the state has none (the step that sets it may not have run).
_DEFAULT_STATUS = {
    NotificationEvent.NO_NEW_DATA: "Skipped: no new data",
    NotificationEvent.RUN_IN_PROGRESS: "Skipped: another run in progress",
    NotificationEvent.TRAINING_STARTED: "InProgress",
    NotificationEvent.TRAINING_COMPLETED: "Completed",
    NotificationEvent.DEPLOYMENT_STARTED: "Updating",
    NotificationEvent.DEPLOYED: "InService",
    NotificationEvent.BATCH_TRANSFORM_COMPLETED: "Completed",
    NotificationEvent.BATCH_TRANSFORM_FAILED: "Failed",
    NotificationEvent.MODEL_REJECTED: "Rejected",
    NotificationEvent.BACKFILL_REGISTERED: "Registered",
    NotificationEvent.APPROVAL_REQUESTED: "PendingManualApproval",
    NotificationEvent.APPROVAL_TIMED_OUT: "Rejected: approval timed out",
    NotificationEvent.FAILED: "Failed",
}

# How a person answers an approval request besides the console, with the operator's command (operator_cli, which
# needs only boto3); {pipeline} and {version} are filled in.
APPROVE_COMMAND = "sagemaker-retraining approve --pipeline {pipeline} --version {version}"
REJECT_COMMAND = 'sagemaker-retraining reject --pipeline {pipeline} --version {version} --reason "..."'


@dataclass(frozen=True)
class FailureReport:
    """Which state failed, with which error and why; the execution's Fail state reports error and cause."""

    stage: str
    error: str
    cause: str

    def to_payload(self) -> dict[str, str]:
        return {"stage": self.stage, "error": self.error, "cause": self.cause}


@dataclass(frozen=True)
class SlackMessage:
    """A chat.postMessage body: Block Kit blocks and the plain text Slack shows in notifications."""

    text: str
    blocks: list[dict[str, Any]]


def failure_report(state: Mapping[str, Any]) -> FailureReport:
    """Read the failed state's name, error and readable cause from the state's `failure` section."""
    failure = state.get("failure")
    if not isinstance(failure, Mapping) or not failure:
        return FailureReport(
            stage=UNKNOWN_STAGE,
            error=UNKNOWN_ERROR,
            cause="the run failed without recording which state failed",
        )
    # Each Catch writes its state's own key and the first one ends the run, so there is normally one key;
    # should an execution's input have carried another, the last written is the one that ended this run.
    stage, detail = list(failure.items())[-1]
    if not isinstance(detail, Mapping):
        detail = {"Cause": detail}
    error = mrkdwn.text(detail.get("Error")) or UNKNOWN_ERROR
    cause = readable_cause(detail.get("Cause")) or f"{stage} failed with {error} and reported no cause"
    return FailureReport(
        stage=str(stage), error=mrkdwn.truncate(error, ERROR_MAX), cause=mrkdwn.truncate(cause, CAUSE_MAX)
    )


def readable_cause(cause: Any) -> str:
    """Return the `errorMessage` when the cause is a Lambda error's JSON, else the cause as text."""
    text = mrkdwn.text(cause) or ""
    if not text.startswith("{"):
        return text
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(parsed, Mapping):
        return mrkdwn.text(parsed.get("errorMessage")) or mrkdwn.text(parsed.get("errorType")) or text
    return text


def build_message(
    event: NotificationEvent,
    *,
    state: Mapping[str, Any],
    execution: Execution,
    pipeline: str,
    failure: FailureReport | None = None,
) -> SlackMessage:
    """Build the Block Kit message and its fallback text; facts missing from the state are left out."""
    training = mrkdwn.section(state, "training")
    emoji, headline = _HEADLINES[event]
    stage = failure.stage if failure is not None else _STAGES.get(event, UNKNOWN_STAGE)
    facts = _facts(event, state=state, pipeline=pipeline, stage=stage)
    url = execution.console_url

    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": mrkdwn.truncate(f"{emoji} {pipeline}: {headline}", HEADER_TEXT_MAX),
                "emoji": True,
            },
        }
    ]
    if failure is not None:
        blocks.append(_mrkdwn_section(_failure_text(failure)))
    if event is NotificationEvent.FAILED and isinstance(clean_up := state.get("clean_up_error"), Mapping):
        # CleanUp failed too: what it should have stopped or deleted may still be there.
        blocks.append(_mrkdwn_section(_caught_error_text(clean_up, "Clean-up failed", _LEFT_BEHIND)))
    blocks.append(
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": mrkdwn.truncate(f"*{label}*\n{value}", FIELD_TEXT_MAX)}
                for label, value in facts[:MAX_FIELDS]
            ],
        }
    )
    if event is NotificationEvent.NO_NEW_DATA and (hint := no_new_data_hint(mrkdwn.section(state, "run"))):
        command = f"\n{mrkdwn.code(hint.command)}" if hint.command else ""
        blocks.append(_mrkdwn_section(f":bulb: {mrkdwn.escape(hint.text)}{command}"))
    if (verdict := _verdict_text(event, state)) is not None:
        blocks.append(_mrkdwn_section(verdict))
    if event is NotificationEvent.APPROVAL_REQUESTED:
        blocks.append(_mrkdwn_section(_approval_instructions(mrkdwn.section(state, "evaluation"), pipeline)))
    metrics = _metrics_text(training)
    if metrics is not None:
        blocks.append(_mrkdwn_section(metrics))
    housekeeping = _housekeeping_text(state) if event is NotificationEvent.DEPLOYED else None
    if housekeeping is not None:
        blocks.append(_mrkdwn_section(housekeeping))
    if event is NotificationEvent.DEPLOYED and (lineage := _lineage_error_text(state)) is not None:
        blocks.append(_mrkdwn_section(lineage))
    if event is NotificationEvent.BATCH_TRANSFORM_COMPLETED:
        blocks.append(_mrkdwn_section(_predictions_text(mrkdwn.section(state, "batch_transform"))))
    if event is NotificationEvent.BATCH_TRANSFORM_FAILED:
        blocks.append(_mrkdwn_section(_transform_error_text(state)))
    if event in COST_EVENTS and (cost := cost_text(state, SECTION_TEXT_MAX)) is not None:
        blocks.append(_mrkdwn_section(cost))
    blocks.extend(_execution_blocks(execution))
    return SlackMessage(text=_fallback_text(event, pipeline, stage, facts, failure, url), blocks=blocks)


def _execution_blocks(execution: Execution) -> list[dict[str, Any]]:
    """The closing lines: which execution, when it started, and a button that opens it in the console."""
    url = execution.console_url
    started = execution.start_time.strftime("%Y-%m-%d %H:%M UTC")
    return [
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"Execution <{url}|{mrkdwn.escape(execution.name)}> started {started}"}
            ],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open execution"},
                    "url": url,
                    "action_id": "open_execution",
                }
            ],
        },
    ]


def _facts(event: NotificationEvent, *, state: Mapping[str, Any], pipeline: str, stage: str) -> list[tuple[str, str]]:
    """The message's fields, most important first: Slack shows at most ten."""
    run = mrkdwn.section(state, "run")
    training = mrkdwn.section(state, "training")
    deployment = mrkdwn.section(state, "deployment")
    facts = [
        ("Pipeline", mrkdwn.escape(pipeline)),
        ("Stage", mrkdwn.code(stage)),
        ("Status", mrkdwn.escape(_status(event, training=training, deployment=deployment))),
    ]
    if job := mrkdwn.text(training.get("job_name")):
        facts.append(("Training job", mrkdwn.code(job)))
    if endpoint := mrkdwn.text(deployment.get("endpoint_name")):
        action = mrkdwn.text(deployment.get("action"))
        facts.append(("Endpoint", mrkdwn.code(endpoint) + (f" ({mrkdwn.escape(action)})" if action else "")))
    if model := mrkdwn.text(deployment.get("model_name")):
        facts.append(("Model", mrkdwn.code(model)))
    if window := _window(run):
        facts.append(("Data window", window))
    if files := _files(run):
        facts.append(("Files", files))
    if event is NotificationEvent.NO_NEW_DATA:
        if newest := mrkdwn.text(run.get("newest_data_date")):
            facts.append(("Newest data", mrkdwn.escape(newest)))
        if recorded := mrkdwn.text(run.get("watermark_date")):
            facts.append(("Watermark", mrkdwn.escape(recorded)))
    if run.get("backfill") is True:
        deployed = "deploys when it passes" if run.get("deploy") is True else "registered only (deploy with --deploy)"
        day = mrkdwn.escape(mrkdwn.text(run.get("watermark_date")) or "")  # text only: a state value may be anything
        facts.append(("Backfill", f"data older than the watermark {day}: {deployed}"))
    if event is NotificationEvent.RUN_IN_PROGRESS and (blocking := mrkdwn.text(run.get("blocked_by"))):
        facts.append(("Running", mrkdwn.code(blocking.rsplit(":", 1)[-1])))
    if advanced := _watermark_change(mrkdwn.section(state, "watermark")):
        facts.append(("Watermark", advanced))
    if trigger := mrkdwn.text(run.get("trigger")):
        facts.append(("Trigger", mrkdwn.escape(trigger) + (" (forced)" if run.get("forced") is True else "")))
    return facts


def _status(event: NotificationEvent, *, training: Mapping[str, Any], deployment: Mapping[str, Any]) -> str:
    default = _DEFAULT_STATUS[event]
    if event in (NotificationEvent.TRAINING_STARTED, NotificationEvent.TRAINING_COMPLETED):
        status = mrkdwn.text(training.get("status")) or default
        secondary = mrkdwn.text(training.get("secondary_status"))
        return f"{status} ({secondary})" if secondary and secondary != status else status
    if event in (NotificationEvent.DEPLOYMENT_STARTED, NotificationEvent.DEPLOYED):
        status = mrkdwn.text(deployment.get("status")) or default
        return f"{status}, serving the new model" if deployment.get("serving_new_model") is True else status
    return default


def _window(run: Mapping[str, Any]) -> str | None:
    start, end = mrkdwn.text(run.get("window_start")), mrkdwn.text(run.get("window_end"))
    days = mrkdwn.whole(run.get("window_days"))
    span = f" ({days} days)" if days is not None else ""
    if start and end:
        return f"{mrkdwn.escape(start)} to {mrkdwn.escape(end)}{span}"
    return f"last {days} days" if days is not None else None


def _files(run: Mapping[str, Any]) -> str | None:
    count = mrkdwn.whole(run.get("file_count"))
    if count is None:
        return None
    text = f"{count} file{'' if count == 1 else 's'}"
    if (size := mrkdwn.whole(run.get("total_bytes"))) is not None:
        text += f", {mrkdwn.size(size)}"
    if held := mrkdwn.whole(run.get("holdout_file_count")):
        text += f"; {held} held out"
        if (held_bytes := mrkdwn.whole(run.get("holdout_bytes"))) is not None:
            text += f" ({mrkdwn.size(held_bytes)})"
        if split := mrkdwn.text(run.get("holdout_split")):
            text += f", {mrkdwn.escape(split)}"
    if skipped := mrkdwn.whole(run.get("skipped_count")):
        named = [entry.get("key") for entry in run.get("skipped_keys") or [] if isinstance(entry, Mapping)]
        text += f"; {skipped} skipped{mrkdwn.listed(named, skipped)}"
    if stray := mrkdwn.whole(run.get("unrecognised_count")):
        text += f"; {stray} in no layout, never read{mrkdwn.listed(run.get('unrecognised_keys'), stray)}"
    return text


def _watermark_change(watermark: Mapping[str, Any]) -> str | None:
    newest = mrkdwn.text(watermark.get("newest_data_date"))
    if newest is None:
        return None
    if watermark.get("moved") is False:
        return f"stays at {mrkdwn.escape(newest)} (a backfill never moves it back)"
    previous = mrkdwn.text(watermark.get("previous_date")) or "none"
    return f"{mrkdwn.escape(previous)} to {mrkdwn.escape(newest)}"


def _metrics_text(training: Mapping[str, Any]) -> str | None:
    metrics = training.get("metrics")
    if not isinstance(metrics, Mapping) or not metrics:
        return None
    lines = [
        f"• {mrkdwn.code(str(name))} {mrkdwn.number(value)}"
        for name, value in sorted(metrics.items(), key=lambda item: str(item[0]))
    ]
    return mrkdwn.truncate("*Metrics*\n" + "\n".join(lines), SECTION_TEXT_MAX)


def _verdict_text(event: NotificationEvent, state: Mapping[str, Any]) -> str | None:
    """The quality gate's comparison of the new model with production's, and who decided what."""
    evaluation = mrkdwn.section(state, "evaluation")
    if not evaluation or event in (NotificationEvent.TRAINING_STARTED, NotificationEvent.TRAINING_COMPLETED):
        return None
    lines = []
    if metric := mrkdwn.text(evaluation.get("metric")):
        production = evaluation.get("production_value")
        current = (
            f"{mrkdwn.number(production)} (`{mrkdwn.escape(mrkdwn.text(evaluation.get('production_model')) or '?')}`)"
            if production is not None
            else "none"
        )
        records = mrkdwn.whole(evaluation.get("holdout_records"))
        judged_on = f", both on the same {records} held-out records" if records else ""
        if not judged_on and evaluation.get("holdout_manifest"):
            judged_on = ", both on the same held-out data"  # an evaluation script that did not count the records
        lines.append(
            f"*Quality gate* on {mrkdwn.code(metric)} "
            f"({mrkdwn.escape(mrkdwn.text(evaluation.get('direction')) or '')}): "
            f"new {mrkdwn.number(evaluation.get('value'))}, current {current}{judged_on}"
        )
    reasons = evaluation.get("reasons")
    if isinstance(reasons, list) and reasons:
        lines.extend(f"• {mrkdwn.escape(str(reason))}" for reason in reasons)
    approval = mrkdwn.section(state, "approval")
    if decided := mrkdwn.text(approval.get("status")):
        note = mrkdwn.text(approval.get("description"))
        lines.append(f"*Review*: {mrkdwn.escape(decided)}" + (f": {mrkdwn.escape(note)}" if note else ""))
    if version := mrkdwn.whole(evaluation.get("model_package_version")):
        group = mrkdwn.text(evaluation.get("model_package_group")) or "registry"
        lines.append(
            f"*Registry*: {mrkdwn.code(group)} version {version}, {mrkdwn.escape(_status_of(evaluation, approval))}"
        )
    return "\n".join(lines) if lines else None


def _status_of(evaluation: Mapping[str, Any], approval: Mapping[str, Any]) -> str:
    return mrkdwn.text(approval.get("status")) or mrkdwn.text(evaluation.get("approval_status")) or "registered"


def _approval_instructions(evaluation: Mapping[str, Any], pipeline: str) -> str:
    version = mrkdwn.whole(evaluation.get("model_package_version")) or 0
    timeout = mrkdwn.whole(evaluation.get("approval_timeout_seconds"))
    within = ""
    if timeout:
        within = f" within {timeout // 3600} h" if timeout >= 3600 else f" within {timeout} s"
    approve = APPROVE_COMMAND.format(pipeline=pipeline, version=version)
    reject = REJECT_COMMAND.format(pipeline=pipeline, version=version)
    return (
        f"*Approve or reject it{within}* in SageMaker Studio's model registry, or:\n"
        f"```{mrkdwn.escape(approve)}\n{mrkdwn.escape(reject)}```\nUntil then the current model keeps serving."
    )


def _housekeeping_text(state: Mapping[str, Any]) -> str | None:
    """One line on PruneModels: what it deleted, or that it failed (the deployment stands either way)."""
    error = mrkdwn.section(state, "prune_error")
    if error:
        cause = readable_cause(error.get("Cause")) or mrkdwn.text(error.get("Error")) or UNKNOWN_ERROR
        return mrkdwn.truncate(
            f":broom: Housekeeping failed, nothing serving was touched: {mrkdwn.escape(cause)}", SECTION_TEXT_MAX
        )
    pruned = mrkdwn.section(state, "pruned")
    configs, models = pruned.get("deleted_endpoint_configs"), pruned.get("deleted_models")
    counts = [
        f"{len(names)} {noun}{'' if len(names) == 1 else 's'}"
        for names, noun in ((models, "old model"), (configs, "endpoint config"))
        if isinstance(names, list) and names
    ]
    if not counts:
        return None
    kept = f", kept the newest {pruned['keep_last']}" if mrkdwn.whole(pruned.get("keep_last")) is not None else ""
    return f":broom: Housekeeping deleted {' and '.join(counts)}{kept}"


def _predictions_text(transform: Mapping[str, Any]) -> str:
    """Where the transform job read the day's data and wrote its predictions."""
    job = mrkdwn.text(transform.get("job_name")) or "the transform job"
    day = mrkdwn.text(transform.get("day")) or "the newest day"
    source, target = mrkdwn.text(transform.get("input_uri")), mrkdwn.text(transform.get("output_uri"))
    text = f":card_file_box: Transform job {mrkdwn.code(job)} ran the model over {mrkdwn.escape(day)}"
    if source:
        text += f" ({mrkdwn.code(source)})"
    if target:
        text += f"; predictions in {mrkdwn.code(target)}"
    return mrkdwn.truncate(text, SECTION_TEXT_MAX)


def _transform_error_text(state: Mapping[str, Any]) -> str:
    """Why the batch transform after the deployment failed; the deployment and the watermark stand."""
    job = mrkdwn.text(mrkdwn.section(state, "batch_transform").get("job_name"))
    consequence = (
        "The new model is deployed and the watermark recorded; this run's predictions are missing or incomplete."
    )
    where = f" (transform job {mrkdwn.code(job)})" if job else ""
    return _caught_error_text(mrkdwn.section(state, "transform_error"), "Batch transform failed", consequence, where)


def _lineage_error_text(state: Mapping[str, Any]) -> str | None:
    """RecordLineage's error: the model serves, but its run record or SageMaker Lineage may be missing."""
    error = state.get("lineage_error")
    if not isinstance(error, Mapping):
        return None
    return _caught_error_text(error, "Lineage not recorded", "The new model serves regardless.")


def _caught_error_text(error: Mapping[str, Any], title: str, consequence: str, where: str = "") -> str:
    """A warning about a step's error a Catch recorded (`Error`, `Cause`) and what it means for the run."""
    name = mrkdwn.text(error.get("Error")) or UNKNOWN_ERROR
    cause = mrkdwn.truncate(readable_cause(error.get("Cause")) or "no cause reported", CAUSE_IN_MESSAGE_MAX)
    return f":warning: *{title}*{where} ({mrkdwn.escape(name)}): {mrkdwn.escape(cause)}\n{consequence}"


def _failure_text(failure: FailureReport) -> str:
    cause = mrkdwn.escape(mrkdwn.truncate(failure.cause, CAUSE_IN_MESSAGE_MAX))
    return f"*{mrkdwn.escape(failure.stage)}* failed with *{mrkdwn.escape(failure.error)}*\n```{cause}```"


def _fallback_text(
    event: NotificationEvent,
    pipeline: str,
    stage: str,
    facts: list[tuple[str, str]],
    failure: FailureReport | None,
    url: str,
) -> str:
    _, headline = _HEADLINES[event]
    lines = [f"{mrkdwn.escape(pipeline)}: {headline} ({stage})"]
    if failure is not None:
        lines.append(f"{mrkdwn.escape(failure.error)}: {mrkdwn.escape(failure.cause)}")
    else:
        lines.extend(f"{label}: {value}" for label, value in facts[2:5])
    lines.append(f"Execution: {url}")
    return mrkdwn.truncate("\n".join(lines), FALLBACK_TEXT_MAX)


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.truncate(text, SECTION_TEXT_MAX)}}
