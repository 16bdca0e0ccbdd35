"""What each state of a run did, in a few words: the facts the live view prints after a state's name."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from contract import steps
from lambdas.common.cost import JobUsage, human_seconds, usd_text
from operator_cli.states import StateRun, json_object

FACTS_MAX = 110
# CheckData's fact runs longer: after the decision it names the keys it did not read (20 of each kind at most).
CHECK_DATA_FACTS_MAX = 3000
METRICS_SHOWN = 2
# Metrics about the job rather than the model: left out of the one-line view.
_BOOKKEEPING_METRIC = re.compile(r"(progress|throughput|:final)$")


def state_facts(run: StateRun) -> str:
    """What is worth seeing about the state: the branch taken, the job, the status, the error."""
    if run.kind == "Choice":
        return f"→ {run.next_state}" if run.next_state else ""
    if run.error is not None:
        return _clip(f"{run.error}: {_readable_cause(run.cause)}" if run.cause else run.error)
    facts = _FACTS.get(run.name) or _facts_by_kind(run)
    text = facts(run)
    if run.attempts > 1:
        text = f"{text} (after {run.attempts - 1} retr{'y' if run.attempts == 2 else 'ies'})".strip()
    return _clip(text, CHECK_DATA_FACTS_MAX if run.name == steps.CHECK_DATA.state else FACTS_MAX)


def _check_data(run: StateRun) -> str:
    data = _section(run.output, "run")
    if not data:
        return ""
    files = data.get("file_count")
    window = f"{data.get('window_start')}…{data.get('window_end')}"
    newest, reason = data.get("newest_data_date"), str(data.get("reason") or "")
    text = f"{files} file{'' if files == 1 else 's'} in {window}"
    if held := data.get("holdout_file_count"):
        text += f" (+{held} held out)"
    if newest and str(newest) not in reason:
        text += f", newest {newest}"
    text = _clip(f"{text}: {reason}" if reason else text)
    skipped = [entry.get("key") for entry in data.get("skipped_keys") or [] if isinstance(entry, Mapping)]
    for count, names, what in (
        (data.get("skipped_count"), skipped, "skipped"),
        (data.get("unrecognised_count"), data.get("unrecognised_keys"), "in no layout"),
    ):
        if isinstance(count, int) and count:
            # The first 20, as the run's output lists them.
            shown = [str(name) for name in names] if isinstance(names, list) else []
            more = f" and {count - len(shown)} more" if count > len(shown) else ""
            text += f"; {count} {what}" + (f": {', '.join(shown)}{more}" if shown else "")
    return text


def _start_training(run: StateRun) -> str:
    job = _section(run.output, "training").get("job_name")
    return f"training job {job}" if job else ""


def _training_status(run: StateRun) -> str:
    training = _section(run.output, "training")
    status, secondary = training.get("status"), training.get("secondary_status")
    text = f"{status} ({secondary})" if secondary and secondary != status else str(status or "")
    metrics = training.get("metrics")
    if status == "Completed" and isinstance(metrics, Mapping):
        shown = list(model_metrics(metrics).items())[:METRICS_SHOWN]
        text += "".join(f", {name} {_number(value)}" for name, value in shown)
    return text + _billed(training)


def _billed(job: Mapping[str, Any]) -> str:
    """`, 35 s billable ($0.0011)` once the job's usage has its time (GetStatus records it); empty otherwise."""
    usage = JobUsage.from_json(job.get("usage"))
    if usage is None or usage.instance_seconds is None:
        return ""
    usd = usage.estimated_usd
    return f", {human_seconds(usage.instance_seconds)} billable" + (f" ({usd_text(usd)})" if usd is not None else "")


def model_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics about the model, by name: without progress, throughput and `:final` repeats."""
    return {name: value for name, value in sorted(metrics.items()) if not _BOOKKEEPING_METRIC.search(name)}


def _evaluation(run: StateRun) -> str:
    evaluation = _section(run.output, "evaluation")
    if not evaluation:
        return ""
    text = f"version {evaluation.get('model_package_version')} {evaluation.get('approval_status')}"
    if evaluation.get("metric"):
        current = evaluation.get("production_value")
        records = evaluation.get("holdout_records")
        text += (
            f": {evaluation['metric']} {_number(evaluation.get('value'))}"
            f" (production {_number(current) if current is not None else 'none'}"
            + (
                f", same {records} held-out records)"
                if records
                else ", same held-out data)"
                if evaluation.get("holdout_manifest")
                else ")"
            )
        )
    reasons = evaluation.get("reasons")
    if isinstance(reasons, list) and reasons:
        text += f"; {reasons[0]}"
    return text


def _start_evaluation(run: StateRun) -> str:
    evaluation = _section(run.output, "holdout_evaluation")
    if not evaluation:
        return ""
    production = evaluation.get("production_model")
    scored = f"new model {evaluation.get('candidate_model')}" + (f" and production {production}" if production else "")
    script = evaluation.get("script")
    return f"scoring {scored} on the holdout" + (
        f" with {script} (processing job {evaluation.get('candidate_job')})" if script else ""
    )


def _evaluation_status(run: StateRun) -> str:
    evaluation = _section(run.output, "holdout_evaluation")
    return str(evaluation.get("failure_reason") or evaluation.get("status") or "")


def _approval(run: StateRun) -> str:
    approval = _section(run.output, "approval")
    if not approval:
        return ""
    note = approval.get("description")
    return f"{approval.get('status')}" + (f": {note}" if note else "")


def _deploy(run: StateRun) -> str:
    deployment = _section(run.output, "deployment")
    if not deployment:
        return ""
    action = "create endpoint" if deployment.get("action") == "create" else "update endpoint"
    return f"{action} {deployment.get('endpoint_name')} with config {deployment.get('endpoint_config_name')}"


def _endpoint_status(run: StateRun) -> str:
    deployment = _section(run.output, "deployment")
    status = str(deployment.get("status") or "")
    if deployment.get("serving_new_model") is True:
        status += ", serving the new model"
    if deployment.get("failure_reason"):
        status += f": {deployment['failure_reason']}"
    return status


def _start_preprocessing(run: StateRun) -> str:
    preprocessing = _section(run.output, "preprocessing")
    return f"processing job {preprocessing['job_name']}" if preprocessing.get("job_name") else ""


def _job_status(section: str, completed: str, output_field: str) -> Callable[[StateRun], str]:
    """A GetStatus line for a job's section: its status, why it failed, or where a completed job's output is."""

    def facts(run: StateRun) -> str:
        job = _section(run.output, section)
        status = str(job.get("status") or "")
        if job.get("failure_reason"):
            return f"{status}: {job['failure_reason']}"
        return f"{status}, {completed} {job.get(output_field)}{_billed(job)}" if status == "Completed" else status

    return facts


def _start_transform(run: StateRun) -> str:
    transform = _section(run.output, "batch_transform")
    return f"transform job {transform['job_name']} over {transform.get('day')}" if transform.get("job_name") else ""


def _watermark(run: StateRun) -> str:
    watermark = _section(run.output, "watermark")
    if not watermark:
        return ""
    if watermark.get("moved") is False:
        moved = f"watermark stays at {watermark.get('newest_data_date')} (a backfill never moves it back)"
    else:
        moved = f"watermark {watermark.get('previous_date') or 'none'} → {watermark.get('newest_data_date')}"
    outcome = watermark.get("outcome")
    return moved + (f" (model {outcome})" if outcome in ("rejected", "registered") else "")


def _clean_up(run: StateRun) -> str:
    report = _section(run.output, "clean_up")
    removed = [
        f"{kind} {report[key]}"
        for kind, key in (
            ("stopped processing job", "stopped_processing_job"),
            ("stopped training job", "stopped_training_job"),
            ("deleted endpoint", "deleted_endpoint"),
            ("deleted endpoint config", "deleted_endpoint_config"),
            ("deleted model", "deleted_model"),
        )
        if report.get(key)
    ]
    return "; ".join(removed) if removed else ("nothing to remove" if report else "")


def _prune(run: StateRun) -> str:
    report = _section(run.output, "pruned")
    if not report:
        return ""
    deleted = [*report.get("deleted_endpoint_configs", []), *report.get("deleted_models", [])]
    if not deleted:
        return f"nothing to delete (keeping the newest {report.get('keep_last')})"
    configs, models = len(report.get("deleted_endpoint_configs", [])), len(report.get("deleted_models", []))
    return f"deleted {configs} endpoint config(s) and {models} model(s), keeping the newest {report.get('keep_last')}"


def _notification(run: StateRun) -> str:
    result = run.result if isinstance(run.result, Mapping) else {}
    if result.get("delivered") is True:
        return "Slack message posted"
    detail = result.get("detail")
    return f"Slack message not posted: {detail}" if detail else ""


def _facts_by_kind(run: StateRun) -> Callable[[StateRun], str]:
    if run.name in steps.NOTIFY_SLACK.states:
        return _notification
    if run.kind == "Pass":
        return _recorded_failure
    return lambda _: ""


def _recorded_failure(run: StateRun) -> str:
    """A Pass state on a failure path writes {Error, Cause} under `failure` (or `transform_error`): show it."""
    failure = _section(run.output, "failure")
    transform_error = _section(run.output, "transform_error")
    for detail in [*failure.values(), transform_error]:
        if isinstance(detail, Mapping) and detail.get("Error"):
            return f"{detail['Error']}: {detail.get('Cause')}"
    return ""


_FACTS: dict[str, Callable[[StateRun], str]] = {
    steps.CHECK_DATA.state: _check_data,
    steps.START_PREPROCESSING.state: _start_preprocessing,
    "GetPreprocessingStatus": _job_status("preprocessing", "training data", "training_data_uri"),
    steps.START_TRAINING_JOB.state: _start_training,
    "GetTrainingStatus": _training_status,
    steps.START_EVALUATION.state: _start_evaluation,
    "GetEvaluationStatus": _evaluation_status,
    steps.EVALUATE_MODEL.state: _evaluation,
    steps.REQUEST_APPROVAL.state: _approval,
    steps.DEPLOY_MODEL.state: _deploy,
    "GetEndpointStatus": _endpoint_status,
    steps.UPDATE_PARAMETERS.state: _watermark,
    steps.PRUNE_MODELS.state: _prune,
    steps.START_BATCH_TRANSFORM.state: _start_transform,
    "GetBatchTransformStatus": _job_status("batch_transform", "predictions in", "output_uri"),
    steps.CLEAN_UP.state: _clean_up,
}


def _section(state: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = state.get(name)
    return value if isinstance(value, Mapping) else {}


def _readable_cause(cause: str | None) -> str:
    """The errorMessage of a Lambda error's JSON cause, else the cause as written."""
    parsed = json_object(cause)
    message = parsed.get("errorMessage")
    return str(message) if message else str(cause or "")


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _clip(text: str, limit: int = FACTS_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
