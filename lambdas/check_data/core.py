"""CheckData: find the data files in the training window, compare with the watermark, write the manifest."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.names import SCHEDULED_TIME_FIELD, lease_key
from lambdas.check_data.holdout import HoldoutSplit
from lambdas.check_data.scheduled_time import format_utc, parse_scheduled_time
from lambdas.common import env as names
from lambdas.common.data_files import MAX_LISTED_KEYS, NO_COMPRESSION, Listing, compression_of

# Re-exported: the listing and the manifests are CheckData's, wherever their code lives.
from lambdas.common.data_files import DataFile as DataFile
from lambdas.common.data_files import ManifestConflictError as ManifestConflictError
from lambdas.common.data_files import list_window_files as list_window_files
from lambdas.common.data_files import write_manifest as write_manifest
from lambdas.common.errors import InvalidRunInputError, RetrainingError
from lambdas.common.events import Execution
from lambdas.common.lease import take_lease
from lambdas.common.models import InputState, RunState
from lambdas.common.names import run_resource_name
from lambdas.common.polling import positive_seconds
from lambdas.common.units import human_bytes

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_ssm import SSMClient
    from types_boto3_stepfunctions import SFNClient

MAX_WINDOW_DAYS = 366
# How many skipped keys the run's state lists; the count is always exact. Keeps the state far below 256 KiB.
MAX_REPORTED_SKIPPED_KEYS = MAX_LISTED_KEYS
# A training volume of N GB is counted as N * 10^9 bytes: SageMaker sizes it in GiB, and the difference
# (about 7 %) leaves room for the file system and the model the job writes.
BYTES_PER_VOLUME_GB = 10**9


class NoDataInWindowError(RetrainingError):
    """A forced run found no data file in its window: there is nothing to train on."""


class InvalidWatermarkError(RetrainingError):
    """The watermark parameter holds something this workflow did not write."""


class ManifestTooLargeError(RetrainingError):
    """The window holds more data than the training volume takes, or more files than a run may list."""


@dataclass(frozen=True)
class CheckDataSettings:
    pipeline: str
    bucket: str
    data_prefix: str
    manifest_prefix: str
    watermark_parameter: str
    window_days: int
    # The limits a manifest must fit; None leaves a limit unchecked.
    volume_size_gb: int | None = None
    max_files_per_run: int | None = None
    # The Slack token's secret, checked to exist before a run starts (None: Slack is not configured).
    slack_token_secret_name: str | None = None
    # The pipeline fits its preprocessing before training: the run goes to StartPreprocessing first.
    preprocess: bool = False
    # After deploying, the run transforms the newest day's data with the new model.
    batch_transform: bool = False
    # The part of the window held out from training (the job's validation channel); None: the run trains on all.
    holdout: HoldoutSplit | None = None
    # The built-in evaluators score the new and the production model on the holdout after training.
    evaluate: bool = False
    # The run lease's key (lambdas/common/lease.py): a run that trains takes it first. None: no guard (tests).
    lease_key: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CheckDataSettings:
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            bucket=names.require_str(env, names.DATA_BUCKET),
            data_prefix=names.require_str(env, names.DATA_PREFIX).strip("/"),
            manifest_prefix=names.require_str(env, names.MANIFEST_PREFIX).strip("/"),
            watermark_parameter=names.require_str(env, names.WATERMARK_PARAMETER),
            window_days=names.require_int(env, names.WINDOW_DAYS),
            volume_size_gb=names.require_int(env, names.TRAINING_VOLUME_SIZE_GB),
            max_files_per_run=names.require_int(env, names.MAX_FILES_PER_RUN),
            slack_token_secret_name=names.optional_str(env, names.SLACK_TOKEN_SECRET_NAME),
            preprocess=names.optional_str(env, names.PREPROCESSING) is not None,
            batch_transform=names.optional_str(env, names.BATCH_TRANSFORM) is not None,
            holdout=HoldoutSplit.from_env(env),
            evaluate=names.optional_str(env, names.EVALUATION) is not None,
            lease_key=lease_key(names.require_str(env, names.WAKE_PREFIX)),
        )


# The workflow's first state (ReadRunInput) puts the execution's input, whatever its JSON type, under this key.
RUN_INPUT_FIELD = "run_input"


def raw_run_input(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """The execution's input as ReadRunInput passed it on; InvalidRunInputError when it is not a JSON object.

    A state without `run_input` is the input itself (a step invoked directly, as the CLI's check does).
    """
    if set(state) != {RUN_INPUT_FIELD}:
        return state
    raw = state[RUN_INPUT_FIELD]
    if not isinstance(raw, Mapping):
        kind = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
            type(raw), "null"
        )
        shown = json.dumps(raw)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise InvalidRunInputError(
            f'the execution input must be a JSON object like {{"force": true}} or {{}}, got {kind}: {shown}'
        )
    return raw


@dataclass(frozen=True)
class RunInput:
    """The execution's input: `{}` from the schedule, or what a person typed in the console."""

    force: bool = False
    window_days: int | None = None
    end_date: date | None = None
    trigger: str = "manual"
    deploy: bool | None = None  # a backfill deploys only when asked (True); None: the run's kind decides
    # When the schedule's tick was due (EventBridge Scheduler's <aws.scheduler.scheduled-time>), in UTC: the window
    # ends on its day, however late or often Scheduler delivers the tick.
    scheduled_time: datetime | None = None

    # The console pre-fills new executions with {"Comment": "Insert your JSON here"}: accept and ignore it.
    _IGNORED_FIELDS = frozenset({"Comment"})

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> RunInput:
        """Validate the execution input; raise InvalidRunInputError naming the offending field."""
        known = {"force", "window_days", "end_date", "trigger", "deploy", SCHEDULED_TIME_FIELD}
        unknown = sorted(set(raw) - known - cls._IGNORED_FIELDS)
        if unknown:
            raise InvalidRunInputError(
                f"unknown field(s) in the execution input: {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
            )
        force = raw.get("force", False)
        if not isinstance(force, bool):
            raise InvalidRunInputError(f"field 'force' must be true or false, got {force!r}")
        deploy = raw.get("deploy")
        if deploy is not None and not isinstance(deploy, bool):
            raise InvalidRunInputError(f"field 'deploy' must be true or false, got {deploy!r}")
        window_days = raw.get("window_days")
        if window_days is not None and (
            isinstance(window_days, bool) or not isinstance(window_days, int) or not 1 <= window_days <= MAX_WINDOW_DAYS
        ):
            raise InvalidRunInputError(
                f"field 'window_days' must be an integer from 1 to {MAX_WINDOW_DAYS}, got {window_days!r}"
            )
        end_date = raw.get("end_date")
        parsed_end: date | None = None
        if end_date is not None:
            if not isinstance(end_date, str):
                raise InvalidRunInputError(f"field 'end_date' must be a YYYY-MM-DD string, got {end_date!r}")
            try:
                # Since Python 3.11 fromisoformat also reads 20261208 and 2026-W49-2: the field is YYYY-MM-DD only.
                if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", end_date):
                    raise ValueError(end_date)
                parsed_end = date.fromisoformat(end_date)
            except ValueError:
                raise InvalidRunInputError(f"field 'end_date' must be a date as YYYY-MM-DD, got {end_date!r}") from None
        trigger = raw.get("trigger", "manual")
        if not isinstance(trigger, str) or not trigger.strip() or len(trigger) > 64:
            raise InvalidRunInputError(f"field 'trigger' must be a short non-empty string, got {trigger!r}")
        scheduled_time = parse_scheduled_time(raw.get(SCHEDULED_TIME_FIELD))
        if scheduled_time is not None and parsed_end is not None:
            # Two answers to one question (the day the window ends): neither silently wins.
            raise InvalidRunInputError(
                f"fields 'end_date' and '{SCHEDULED_TIME_FIELD}' both set the window's end: give one of them (to "
                f"rerun a scheduled run's window, keep {SCHEDULED_TIME_FIELD}; to choose the day, give end_date)"
            )
        return cls(
            force=force,
            window_days=window_days,
            end_date=parsed_end,
            trigger=trigger,
            deploy=deploy,
            scheduled_time=scheduled_time,
        )

    @property
    def window_end(self) -> date | None:
        """The day the window ends on, if the input says: end_date, or the scheduled time's day in UTC."""
        if self.end_date is not None:
            return self.end_date
        return self.scheduled_time.date() if self.scheduled_time is not None else None

    def to_section(self) -> InputState:
        """The state's `input`: what the run was asked for, as validated."""
        return InputState(
            force=self.force,
            window_days=self.window_days,
            end_date=self.end_date.isoformat() if self.end_date else None,
            trigger=self.trigger,
            deploy=self.deploy,
            scheduled_time=format_utc(self.scheduled_time) if self.scheduled_time else None,
        )

    def to_state(self) -> dict[str, Any]:
        return self.to_section().to_state()


def check_data(
    run_input: RunInput,
    execution: Execution,
    *,
    s3: S3Client,
    ssm: SSMClient,
    sfn: SFNClient,
    settings: CheckDataSettings,
) -> RunState:
    """Decide whether this run trains, and on which files.

    A run that finds an earlier run of the pipeline still going stops here, before it writes anything.
    Raises NoDataInWindowError when a forced run finds nothing to train on, InvalidWatermarkError when the
    watermark is unreadable, ManifestTooLargeError (and writes no manifest) when the window's files exceed
    the training volume or the number of files a run may list, MixedCompressionError (and writes no manifest) when
    they mix .csv.gz and .csv.
    """
    window_days = run_input.window_days or settings.window_days
    # An execution's start date in UTC unless the input names the day: a scheduled tick's day stays its window's end
    # however late Scheduler delivers it.
    window_end = run_input.window_end or execution.start_time.date()
    window_start = window_end - timedelta(days=window_days - 1)
    window = (window_start, window_end)
    run_id = run_resource_name(settings.pipeline, execution)
    listing = list_window_files(s3, settings.bucket, settings.data_prefix, window_start, window_end)
    recorded = read_watermark(ssm, settings.watermark_parameter)
    watermark = recorded.newest
    newest = max((f.day for f in listing.files), default=None)

    has_new_data, reason = _decide(newest, watermark, force=run_input.force, settings=settings, window=window)
    backfill, reason = _judge_backfill(run_input, newest, watermark, has_new_data=has_new_data, reason=reason)
    if has_new_data and settings.lease_key is not None:
        # Only a run that trains takes the lease: one run of the pipeline trains at a time.
        blocked_by = take_lease(s3, sfn, settings.bucket, settings.lease_key, execution)
        if blocked_by is not None:
            return _blocked(run_input, settings, run_id=run_id, window=window, blocked_by=blocked_by)
    manifest_uri = holdout_uri = None
    compression = NO_COMPRESSION
    training: list[DataFile] = listing.files
    holdout: list[DataFile] = []
    if has_new_data:
        window_text = f"{window_start}…{window_end}"
        # Both channels are copied to the training volume: the limits apply to the whole window.
        check_manifest_limits(listing.files, settings, window=window_text)
        # Both channels are read with the window's one compression (StartTrainingJob sets it on each).
        compression = compression_of(listing.files, bucket=settings.bucket, what=f"the window {window_text}")
        if settings.holdout is not None:
            training, holdout = settings.holdout.split(
                listing.files, data_prefix=settings.data_prefix, window=window_text
            )
        manifest_key = f"{settings.manifest_prefix}/{run_id}"
        manifest_uri = write_manifest(s3, settings.bucket, f"{manifest_key}.manifest", settings.data_prefix, training)
        if holdout:
            holdout_uri = write_manifest(
                s3, settings.bucket, f"{manifest_key}.holdout.manifest", settings.data_prefix, holdout
            )
    return RunState(
        **_run_identity(run_input, settings, run_id=run_id, window=window),
        newest_data_date=newest.isoformat() if newest else None,
        watermark_date=watermark.isoformat() if watermark else None,
        has_new_data=has_new_data,
        reason=reason,
        file_count=len(training),
        total_bytes=sum(f.size for f in training),
        manifest_uri=manifest_uri,
        holdout_manifest_uri=holdout_uri,
        holdout_file_count=len(holdout),
        holdout_bytes=sum(f.size for f in holdout),
        holdout_split=settings.holdout.describe() if holdout and settings.holdout else None,
        evaluate=settings.evaluate and bool(holdout),
        **_listing_facts(listing),
        compression=compression,
        watermark_missing=not recorded.exists,
        expected_training_seconds=recorded.training_seconds,
        expected_deployment_seconds=recorded.deployment_seconds,
        preprocess=settings.preprocess,
        batch_transform=settings.batch_transform,
        backfill=backfill,
        deploy=run_input.deploy is True if backfill else True,
    )


def _judge_backfill(
    run_input: RunInput, newest: date | None, watermark: date | None, *, has_new_data: bool, reason: str
) -> tuple[bool, str]:
    """Whether the run is a backfill (it trains on data older than the watermark's day), and the reason it trains
    with that said; InvalidRunInputError when "deploy": false asks a run on new data not to deploy."""
    backfill = has_new_data and newest is not None and watermark is not None and newest < watermark
    if run_input.deploy is False and not backfill:
        raise InvalidRunInputError(
            f"field 'deploy' is false, but this run is no backfill (its newest data {newest} is not older than the "
            f"watermark {watermark}): a run on new data deploys its model when the gate passes"
        )
    if backfill:
        kept = "deployed when it passes" if run_input.deploy else 'registered, not deployed ("deploy": true deploys it)'
        reason += f"; a backfill (data older than the watermark {watermark}): the watermark stays, the model is {kept}"
    return backfill, reason


def _listing_facts(listing: Listing) -> dict[str, Any]:
    """What the run's section says of the listing: the keys of the window not read, those of no layout, the cost."""
    return {
        "skipped_count": len(listing.skipped),
        "skipped_keys": [asdict(s) for s in listing.skipped[:MAX_REPORTED_SKIPPED_KEYS]],
        "list_requests": listing.requests,
        "unrecognised_count": listing.unrecognised_count,
        "unrecognised_keys": listing.unrecognised,
    }


def _run_identity(
    run_input: RunInput, settings: CheckDataSettings, *, run_id: str, window: tuple[date, date]
) -> dict[str, Any]:
    """The fields every run's section starts with: which pipeline and run, how it started, its window."""
    window_start, window_end = window
    return {
        "pipeline": settings.pipeline,
        "run_id": run_id,
        "trigger": run_input.trigger,
        "forced": run_input.force,
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "window_days": (window_end - window_start).days + 1,
    }


def _blocked(
    run_input: RunInput, settings: CheckDataSettings, *, run_id: str, window: tuple[date, date], blocked_by: str
) -> RunState:
    """The run stopped before it wrote anything: an earlier run of the pipeline is still going."""
    return RunState(
        **_run_identity(run_input, settings, run_id=run_id, window=window),
        newest_data_date=None,
        watermark_date=None,
        has_new_data=False,
        reason=f"another run of the pipeline is in progress: {blocked_by.rsplit(':', 1)[-1]}",
        file_count=0,
        total_bytes=0,
        manifest_uri=None,
        skipped_count=0,
        skipped_keys=[],
        list_requests=0,
        blocked_by=blocked_by,
    )


def _decide(
    newest: date | None, watermark: date | None, *, force: bool, settings: CheckDataSettings, window: tuple[date, date]
) -> tuple[bool, str]:
    """Whether the run trains, and why; NoDataInWindowError when a forced run finds no file in the window."""
    window_start, window_end = window
    if newest is None:
        if force:
            raise NoDataInWindowError(
                f"forced run found no data file in s3://{settings.bucket}/{settings.data_prefix}/ "
                f"between {window_start} and {window_end}"
            )
        return False, f"no data files between {window_start} and {window_end}"
    if force:
        return True, "forced by the execution input"
    if watermark is None:
        return True, "never trained before"
    if newest > watermark:
        return True, f"data of {newest} is newer than the watermark {watermark}"
    return False, f"newest data {newest} is not newer than the watermark {watermark}"


def check_manifest_limits(files: list[DataFile], settings: CheckDataSettings, *, window: str) -> None:
    """Refuse a manifest the training job could not take, from the listing's sizes (no extra request).

    TrainingInputMode File copies the whole channel to each instance's ML storage volume before training.
    Raises ManifestTooLargeError naming the total, the file count, the limit and the field that sets it.
    """
    total = sum(f.size for f in files)
    count = f"{len(files):,} file{'' if len(files) == 1 else 's'}"
    if settings.max_files_per_run is not None and len(files) > settings.max_files_per_run:
        raise ManifestTooLargeError(
            f"the window {window} holds {count} ({human_bytes(total)}), more than the "
            f"{settings.max_files_per_run:,} a run may train on (training.max_files_per_run): raise "
            "training.max_files_per_run, shorten the window (window_days), or write fewer, larger files"
        )
    if settings.volume_size_gb is not None and total > settings.volume_size_gb * BYTES_PER_VOLUME_GB:
        raise ManifestTooLargeError(
            f"the window {window} holds {human_bytes(total)} in {count}, more than fits on the training "
            f"volume of {settings.volume_size_gb} GB (training.volume_size_gb), to which File input mode "
            "copies the whole channel: raise training.volume_size_gb or shorten the window (window_days)"
        )


@dataclass(frozen=True)
class RecordedWatermark:
    """The newest data date trained and deployed (None: never trained), and whether the parameter exists."""

    newest: date | None
    exists: bool
    training_seconds: int | None = None  # how long the last run's training and deployment took
    deployment_seconds: int | None = None


def read_watermark(ssm: SSMClient, parameter: str) -> RecordedWatermark:
    """Read the watermark; a deleted parameter reads as never trained."""
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return RecordedWatermark(newest=None, exists=False)
        raise
    try:
        parsed = json.loads(value)
        recorded = parsed.get("newest_data_date")
        return RecordedWatermark(
            newest=date.fromisoformat(recorded) if recorded else None,
            exists=True,
            training_seconds=positive_seconds(parsed.get("training_seconds")),
            deployment_seconds=positive_seconds(parsed.get("deployment_seconds")),
        )
    except (ValueError, AttributeError, TypeError):
        raise InvalidWatermarkError(
            f"parameter {parameter} does not hold a watermark written by this workflow: {value[:200]!r}"
        ) from None
