"""The churn example's dataset: raw customer records with categories and gaps, generated here (never downloaded).

Each day is a CSV file with a header row, as an application would export it: categorical fields as text, some
fields empty, the label `churn` as `churns` or `stays`. Churn follows a fixed logistic rule of the fields, so a
model can learn it. A seeded generator makes every file the same from run to run and machine to machine.

`python -m demo.churn_data --pipeline churn --endpoint-url URL` uploads a week of it to the pipeline's
data prefix (the README's raw-records example).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from contract.outputs import DATA_BUCKET_NAME, DATA_PREFIX
from operator_cli.target import TargetError, add_target_flags, resolve_target, stack_outputs

HEADER = ("churn", "plan", "region", "device", "monthly_spend", "tenure_months")
FIELDS = HEADER[1:]  # a raw request's columns, in order: what the endpoint takes
PLANS = ("basic", "plus", "pro")
REGIONS = ("north", "south", "east", "west")
DEVICES = ("android", "ios", "web")
_PLAN_EFFECT = {"basic": 1.0, "plus": 0.0, "pro": -1.0, "enterprise": -2.0}
_DEVICE_EFFECT = {"android": 0.3, "ios": -0.3, "web": 0.5, "": 0.0}
_MISSING_RATE = 0.05
_SEED = 20_261_122


@dataclass(frozen=True)
class RawFile:
    """One day of raw records, as it lands in S3: `<prefix>/YYYY-MM-DD.csv`."""

    day: date
    key: str
    body: bytes
    rows: int


@dataclass(frozen=True)
class RawRecord:
    """One record as an application sends it: the fields, in FIELDS order, as text ("" when missing)."""

    values: tuple[str, ...]
    churn: str

    def csv(self) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(self.values)
        return out.getvalue()

    def json(self) -> dict[str, str]:
        return dict(zip(FIELDS, self.values, strict=True))


def churn_days(
    *, days: int, end: date, prefix: str, rows_per_day: int = 80, plans: Sequence[str] = PLANS, seed: int = _SEED
) -> tuple[RawFile, ...]:
    """`days` daily files ending on `end` (inclusive), oldest first; `plans` are the plan values that occur."""
    if days < 1 or rows_per_day < 1:
        raise ValueError(f"days and rows_per_day must be positive, got {days} and {rows_per_day}")
    files = []
    for offset in range(days):
        day = end - timedelta(days=days - 1 - offset)
        generator = np.random.default_rng([seed, day.toordinal(), len(plans)])
        records = [_record(generator, plans) for _ in range(rows_per_day)]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows((record.churn, *record.values) for record in records)
        files.append(
            RawFile(
                day=day,
                key=f"{prefix.strip('/')}/{day.isoformat()}.csv",
                body=out.getvalue().encode(),
                rows=len(records),
            )
        )
    return tuple(files)


def sample_records(count: int, *, plans: Sequence[str] = PLANS, seed: int = _SEED + 1) -> tuple[RawRecord, ...]:
    """Records no training file holds: what the examples send to the endpoint."""
    generator = np.random.default_rng(seed)
    return tuple(_record(generator, plans) for _ in range(count))


def _record(generator: np.random.Generator, plans: Sequence[str]) -> RawRecord:
    plan = str(generator.choice(list(plans)))
    region = str(generator.choice(list(REGIONS)))
    device = str(generator.choice(list(DEVICES)))
    spend = round(float(generator.gamma(4.0, 12.0)), 2)
    tenure = int(generator.integers(1, 60))
    score = _PLAN_EFFECT.get(plan, 0.0) + _DEVICE_EFFECT[device] + 0.02 * (spend - 48) - 0.05 * (tenure - 30)
    churn = "churns" if generator.random() < 1 / (1 + math.exp(-score)) else "stays"
    values = [plan, region, device, f"{spend:.2f}", str(tenure)]
    for index in (2, 3):  # device and monthly_spend are sometimes not recorded
        if generator.random() < _MISSING_RATE:
            values[index] = ""
    return RawRecord(values=tuple(values), churn=churn)


def main(argv: Sequence[str] | None = None) -> int:
    """Upload `--days` daily files ending `--end` to the pipeline's data prefix; exit 1 when it cannot."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.churn_data",
        description="Upload the churn example's raw daily files (generated, seeded) to a pipeline's data prefix.",
    )
    add_target_flags(parser)
    parser.add_argument("--days", type=int, default=7, help="how many days of files (default 7)")
    parser.add_argument("--end", type=date.fromisoformat, help="YYYY-MM-DD: the last day (default: today, UTC)")
    parser.add_argument(
        "--plans",
        default=",".join(PLANS),
        help=f"the plan values that occur, comma-separated (default {','.join(PLANS)}; add one to see it learned)",
    )
    args = parser.parse_args(argv)
    try:
        target = resolve_target(endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
        outputs = stack_outputs(target, args.pipeline)
        bucket, prefix = outputs[DATA_BUCKET_NAME], outputs[DATA_PREFIX]
    except (TargetError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    end = args.end or datetime.now(UTC).date()
    plans = tuple(plan.strip() for plan in args.plans.split(",") if plan.strip())
    files = churn_days(days=args.days, end=end, prefix=prefix, plans=plans)
    s3 = target.s3()
    for raw in files:
        s3.put_object(Bucket=bucket, Key=raw.key, Body=raw.body)
    print(
        f"uploaded {len(files)} days ({sum(f.rows for f in files)} records, {files[0].day} to {files[-1].day}) "
        f"to s3://{bucket}/{prefix}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
