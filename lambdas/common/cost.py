"""What a run's SageMaker jobs cost: each job's instance time as SageMaker describes it, priced from the pipeline's
price table (the stack puts the pipeline's part of it in PRICES: see stacks/pricing.py).

GetStatus records a `usage` in each job's section (`holdout_evaluation` holds a list: one job per model scored);
the run record, NotifySlack, UpdateParameters and the CLI read them back with `run_cost`.

SageMaker's own figures (DescribeTrainingJob, API reference): `TrainingTimeInSeconds` is the job's time on its
instances, `BillableTimeInSeconds` the billed part of it per instance (multiply by InstanceCount for the cluster),
and a Managed Spot job saves `1 - BillableTimeInSeconds / TrainingTimeInSeconds`. Processing and transform jobs
report no billable time: their start-to-end time is used, an estimate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError

TRAINING, PROCESSING, TRANSFORM, HOSTING = "training", "processing", "transform", "hosting"
KINDS = (TRAINING, PROCESSING, TRANSFORM, HOSTING)
# The state sections that hold a job's usage, in the order the run starts them.
USAGE_SECTIONS = ("preprocessing", "training", "holdout_evaluation", "batch_transform")
_SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class Prices:
    """USD per instance-hour by what the instance does (training, processing, transform, hosting) and its type."""

    per_hour: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Prices:
        """The PRICES variable (`{"training": {"ml.m5.large": 0.115}, ...}`); unset: no prices, every cost unknown.
        Raises ConfigurationError when it is not such an object."""
        raw = names.optional_str(env, names.PRICES)
        if raw is None:
            return cls()
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"environment variable {names.PRICES} is not valid JSON: {error}") from None
        if not isinstance(value, dict) or not all(
            kind in KINDS and isinstance(types, dict) and all(_price(price) for price in types.values())
            for kind, types in value.items()
        ):
            raise ConfigurationError(
                f"environment variable {names.PRICES} must map {', '.join(KINDS)} to objects of instance type: "
                "USD per hour"
            )
        return cls(
            per_hour={kind: {name: float(price) for name, price in types.items()} for kind, types in value.items()}
        )

    def of(self, kind: str, instance_type: str | None) -> float | None:
        """The price of an instance-hour, None when the table has none for this kind and type."""
        return self.per_hour.get(kind, {}).get(instance_type or "")


def _price(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


@dataclass(frozen=True)
class JobUsage:
    """One job's instances and time, and their price when the table has one."""

    kind: str
    job_name: str
    instance_type: str | None
    instance_count: int
    seconds: int | None  # time on its instances; None while the job runs
    billable_seconds: int | None  # per instance: SageMaker's BillableTimeInSeconds for training, else `seconds`
    spot: bool = False
    usd_per_hour: float | None = None

    @property
    def instance_seconds(self) -> int | None:
        """Billable seconds of all the job's instances."""
        return None if self.billable_seconds is None else self.billable_seconds * self.instance_count

    @property
    def estimated_usd(self) -> float | None:
        if self.instance_seconds is None or self.usd_per_hour is None:
            return None
        return self.instance_seconds / _SECONDS_PER_HOUR * self.usd_per_hour

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> JobUsage | None:
        """A recorded usage, None when it is not one (a state written before usages existed, or damaged)."""
        if (
            not isinstance(raw, Mapping)
            or not isinstance(raw.get("kind"), str)
            or not isinstance(raw.get("job_name"), str)
        ):
            return None
        return cls(
            kind=str(raw["kind"]),
            job_name=str(raw["job_name"]),
            instance_type=_text(raw.get("instance_type")),
            instance_count=_whole(raw.get("instance_count")) or 1,
            seconds=_whole(raw.get("seconds")),
            billable_seconds=_whole(raw.get("billable_seconds")),
            spot=raw.get("spot") is True,
            usd_per_hour=float(raw["usd_per_hour"]) if _price(raw.get("usd_per_hour")) else None,
        )


def training_usage(job: Mapping[str, Any], prices: Prices) -> JobUsage:
    """A DescribeTrainingJob answer's usage: its ResourceConfig, TrainingTimeInSeconds and BillableTimeInSeconds."""
    resources = job.get("ResourceConfig") or {}
    instance_type = _text(resources.get("InstanceType"))
    return JobUsage(
        kind=TRAINING,
        job_name=str(job["TrainingJobName"]),
        instance_type=instance_type,
        instance_count=_whole(resources.get("InstanceCount")) or 1,
        seconds=_whole(job.get("TrainingTimeInSeconds")),
        billable_seconds=_whole(job.get("BillableTimeInSeconds")),
        spot=job.get("EnableManagedSpotTraining") is True,
        usd_per_hour=prices.of(TRAINING, instance_type),
    )


def processing_usage(job: Mapping[str, Any], prices: Prices) -> JobUsage:
    """A DescribeProcessingJob answer's usage: its cluster and ProcessingStartTime to ProcessingEndTime."""
    cluster = (job.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    return _timed_usage(PROCESSING, str(job["ProcessingJobName"]), cluster, job, "Processing", prices)


def transform_usage(job: Mapping[str, Any], prices: Prices) -> JobUsage:
    """A DescribeTransformJob answer's usage: its TransformResources and TransformStartTime to TransformEndTime."""
    resources = job.get("TransformResources") or {}
    return _timed_usage(TRANSFORM, str(job["TransformJobName"]), resources, job, "Transform", prices)


def _timed_usage(
    kind: str, job_name: str, resources: Mapping[str, Any], job: Mapping[str, Any], prefix: str, prices: Prices
) -> JobUsage:
    """A job SageMaker bills from its `<prefix>StartTime` to its `<prefix>EndTime` on `resources`' instances (no
    spot: the billable time is the whole time)."""
    instance_type = _text(resources.get("InstanceType"))
    seconds = _between(job.get(f"{prefix}StartTime"), job.get(f"{prefix}EndTime"))
    return JobUsage(
        kind=kind,
        job_name=job_name,
        instance_type=instance_type,
        instance_count=_whole(resources.get("InstanceCount")) or 1,
        seconds=seconds,
        billable_seconds=seconds,
        usd_per_hour=prices.of(kind, instance_type),
    )


@dataclass(frozen=True)
class RunCost:
    """The run's jobs so far, and what they add up to."""

    jobs: tuple[JobUsage, ...]

    @property
    def ended(self) -> tuple[JobUsage, ...]:
        """The jobs whose time is known (a job still running has none yet)."""
        return tuple(job for job in self.jobs if job.instance_seconds is not None)

    @property
    def billable_seconds(self) -> int | None:
        """Billable instance-seconds of every ended job; None when no job has ended."""
        ended = self.ended
        return sum(job.instance_seconds or 0 for job in ended) if ended else None

    @property
    def estimated_usd(self) -> float | None:
        """The priced jobs' cost; None when no ended job has a price."""
        priced = [job.estimated_usd for job in self.ended if job.estimated_usd is not None]
        return sum(priced) if priced else None

    @property
    def unpriced(self) -> tuple[str, ...]:
        """`transform ml.m5.large` for each kind and type of an ended job the price table lacks, once."""
        missing = (
            f"{job.kind} {job.instance_type or 'of unknown type'}" for job in self.ended if job.usd_per_hour is None
        )
        return tuple(dict.fromkeys(missing))

    @property
    def spot_savings(self) -> float | None:
        """1 - billable / training time over the Managed Spot training jobs; None when none ran on spot."""
        spot = [job for job in self.ended if job.kind == TRAINING and job.spot and job.seconds]
        if not spot:
            return None
        return 1 - sum(job.billable_seconds or 0 for job in spot) / sum(job.seconds or 0 for job in spot)

    def to_json(self) -> dict[str, Any]:
        """The run record's `cost`: the totals and each job."""
        return {
            "billable_instance_seconds": self.billable_seconds,
            "estimated_usd": None if self.estimated_usd is None else round(self.estimated_usd, 6),
            "unpriced": list(self.unpriced),
            "spot_savings": None if self.spot_savings is None else round(self.spot_savings, 4),
            "jobs": [{**job.to_json(), "estimated_usd": _rounded(job.estimated_usd)} for job in self.jobs],
        }

    def summary(self) -> str | None:
        """`35 s billable, estimated $0.0011 (no price for transform ml.m5.large)`; None when no job has ended."""
        seconds = self.billable_seconds
        if seconds is None:
            return None
        text = f"{human_seconds(seconds)} billable"
        if (savings := self.spot_savings) is not None:
            text += f" (spot saved {savings:.0%})"
        usd = self.estimated_usd
        text += ", estimated " + ("unknown" if usd is None else usd_text(usd))
        if self.unpriced:
            text += f" (no price for {', '.join(self.unpriced)})"
        return text


def run_cost(state: Mapping[str, Any]) -> RunCost:
    """The usages recorded in a workflow state's job sections (none for a state written before they existed)."""
    return RunCost(jobs=tuple(_usages(state)))


def _usages(state: Mapping[str, Any]) -> Iterable[JobUsage]:
    for section in USAGE_SECTIONS:
        value = state.get(section)
        recorded = value.get("usage") if isinstance(value, Mapping) else None
        for raw in recorded if isinstance(recorded, list) else [recorded]:
            if (usage := JobUsage.from_json(raw)) is not None:
                yield usage


def usd_text(usd: float) -> str:
    """`$0.0011` below a dollar (a run's few minutes cost fractions of a cent), `$12.35` above."""
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def human_seconds(seconds: int) -> str:
    """`45 s`, `12 min 5 s`, `2 h 3 min`."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _between(start: Any, end: Any) -> int | None:
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return None
    return max(0, round((end - start).total_seconds()))


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _rounded(usd: float | None) -> float | None:
    return None if usd is None else round(usd, 6)
