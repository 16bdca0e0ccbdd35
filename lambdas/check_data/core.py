"""CheckData: find the data files in the training window, compare with the watermark, write the manifest."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambdas.check_data.holdout import HoldoutSplit
from lambdas.check_data.overlap import earlier_running_execution
from lambdas.common import env as names
from lambdas.common.errors import InvalidRunInputError, RetrainingError
from lambdas.common.events import Execution
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
MAX_REPORTED_SKIPPED_KEYS = 20
_FLAT_KEY = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})\.csv$")
_HIVE_KEY = re.compile(r"^dt=(?P<day>\d{4}-\d{2}-\d{2})/(?P<file>[^/].*\.csv)$")
# A training volume of N GB is counted as N * 10^9 bytes: SageMaker sizes it in GiB, and the difference
# (about 7 %) leaves room for the file system and the model the job writes.
BYTES_PER_VOLUME_GB = 10**9


class NoDataInWindowError(RetrainingError):
    """A forced run found no data file in its window: there is nothing to train on."""


class ManifestConflictError(RetrainingError):
    """The run's manifest key holds another file list; manifests are never overwritten."""


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
        )


@dataclass(frozen=True)
class RunInput:
    """The execution's input: `{}` from the schedule, or what a person typed in the console."""

    force: bool = False
    window_days: int | None = None
    end_date: date | None = None
    trigger: str = "manual"

    # The console pre-fills new executions with {"Comment": "Insert your JSON here"}: accept and ignore it.
    _IGNORED_FIELDS = frozenset({"Comment"})

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> RunInput:
        """Validate the execution input; raise InvalidRunInputError naming the offending field."""
        known = {"force", "window_days", "end_date", "trigger"}
        unknown = sorted(set(raw) - known - cls._IGNORED_FIELDS)
        if unknown:
            raise InvalidRunInputError(
                f"unknown field(s) in the execution input: {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
            )
        force = raw.get("force", False)
        if not isinstance(force, bool):
            raise InvalidRunInputError(f"field 'force' must be true or false, got {force!r}")
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
                parsed_end = date.fromisoformat(end_date)
            except ValueError:
                raise InvalidRunInputError(f"field 'end_date' must be a date as YYYY-MM-DD, got {end_date!r}") from None
        trigger = raw.get("trigger", "manual")
        if not isinstance(trigger, str) or not trigger.strip() or len(trigger) > 64:
            raise InvalidRunInputError(f"field 'trigger' must be a short non-empty string, got {trigger!r}")
        return cls(force=force, window_days=window_days, end_date=parsed_end, trigger=trigger)

    def to_section(self) -> InputState:
        """The state's `input`: what the run was asked for, as validated."""
        return InputState(
            force=self.force,
            window_days=self.window_days,
            end_date=self.end_date.isoformat() if self.end_date else None,
            trigger=self.trigger,
        )

    def to_state(self) -> dict[str, Any]:
        return self.to_section().to_state()


@dataclass(frozen=True)
class DataFile:
    key: str
    day: date
    size: int


@dataclass(frozen=True)
class SkippedKey:
    key: str
    reason: str


@dataclass
class Listing:
    files: list[DataFile] = field(default_factory=list)
    skipped: list[SkippedKey] = field(default_factory=list)
    requests: int = 0


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
    the training volume or the number of files a run may list.
    """
    window_days = run_input.window_days or settings.window_days
    window_end = run_input.end_date or execution.start_time.date()
    window_start = window_end - timedelta(days=window_days - 1)
    window = (window_start, window_end)
    run_id = run_resource_name(settings.pipeline, execution)
    blocked_by = earlier_running_execution(sfn, execution)
    if blocked_by is not None:
        return _blocked(run_input, settings, run_id=run_id, window=window, blocked_by=blocked_by)
    listing = list_window_files(s3, settings.bucket, settings.data_prefix, window_start, window_end)
    recorded = read_watermark(ssm, settings.watermark_parameter)
    watermark = recorded.newest
    newest = max((f.day for f in listing.files), default=None)

    has_new_data, reason = _decide(newest, watermark, force=run_input.force, settings=settings, window=window)
    manifest_uri = holdout_uri = None
    training: list[DataFile] = listing.files
    holdout: list[DataFile] = []
    if has_new_data:
        window_text = f"{window_start}…{window_end}"
        # Both channels are copied to the training volume: the limits apply to the whole window.
        check_manifest_limits(listing.files, settings, window=window_text)
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
        skipped_count=len(listing.skipped),
        skipped_keys=[asdict(s) for s in listing.skipped[:MAX_REPORTED_SKIPPED_KEYS]],
        list_requests=listing.requests,
        watermark_missing=not recorded.exists,
        expected_training_seconds=recorded.training_seconds,
        expected_deployment_seconds=recorded.deployment_seconds,
        preprocess=settings.preprocess,
        batch_transform=settings.batch_transform,
    )


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


def list_window_files(s3: S3Client, bucket: str, prefix: str, start: date, end: date) -> Listing:
    """List the data files dated within [start, end] in both layouts.

    Keys sort by date in both layouts, so each listing starts right before the window (StartAfter) and
    stops at the first key past it: the requests follow the window's size, not the history's.
    """
    listing = Listing()
    base = f"{prefix}/"
    # <prefix>/YYYY-MM-DD.csv; keys of the dt= layout sort after every digit, so this stops before them.
    for key, size in _keys_from(s3, bucket, base, f"{base}{start.isoformat()}", listing):
        relative = key[len(base) :]
        if relative[:10] > end.isoformat():
            break
        _classify(listing, key, size, _FLAT_KEY.match(relative), start, end)
    # <prefix>/dt=YYYY-MM-DD/<any>.csv
    hive = f"{base}dt="
    for key, size in _keys_from(s3, bucket, hive, f"{hive}{start.isoformat()}", listing):
        relative = key[len(base) :]
        if relative[3:13] > end.isoformat():
            break
        _classify(listing, key, size, _HIVE_KEY.match(relative), start, end)
    return listing


def _keys_from(s3: S3Client, bucket: str, prefix: str, start_after: str, listing: Listing) -> Iterator[tuple[str, int]]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        kwargs.update({"ContinuationToken": token} if token else {"StartAfter": start_after})
        page = s3.list_objects_v2(**kwargs)
        listing.requests += 1
        for obj in page.get("Contents", []):
            yield obj["Key"], int(obj.get("Size", 0))
        if not page.get("IsTruncated"):
            return
        token = page["NextContinuationToken"]


def _classify(listing: Listing, key: str, size: int, match: re.Match[str] | None, start: date, end: date) -> None:
    if key.endswith("/"):
        return  # a "folder" placeholder made by the console, not data
    if match is None:
        listing.skipped.append(SkippedKey(key, "name has no YYYY-MM-DD date in a known layout or is not .csv"))
        return
    try:
        day = date.fromisoformat(match["day"])
    except ValueError:
        listing.skipped.append(SkippedKey(key, f"{match['day']} is not a valid date"))
        return
    if not start <= day <= end:
        return
    if size == 0:
        listing.skipped.append(SkippedKey(key, "file is empty"))
        return
    listing.files.append(DataFile(key=key, day=day, size=size))


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


def write_manifest(s3: S3Client, bucket: str, key: str, data_prefix: str, files: list[DataFile]) -> str:
    """Write a SageMaker manifest listing the files; return its S3 URI.

    The key is unique to the run, so earlier manifests stay as the record of what each run trained on.
    """
    base = f"{data_prefix}/"
    entries: list[Any] = [{"prefix": f"s3://{bucket}/{base}"}]
    entries.extend(f.key[len(base) :] for f in sorted(files, key=lambda f: f.key))
    body = json.dumps(entries).encode()
    try:
        # IfNoneMatch: S3 itself refuses to overwrite a manifest, whatever names a future change produces.
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*")
    except ClientError as error:
        if error.response["Error"]["Code"] != "PreconditionFailed":
            raise
        existing = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if existing != body:  # a retried attempt writes the same list; anything else is another run's
            raise ManifestConflictError(f"s3://{bucket}/{key} exists with other content; it is kept") from None
    return f"s3://{bucket}/{key}"
