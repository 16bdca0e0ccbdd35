"""The pipeline's price table, read and checked at synth: the prices of the instance types it uses go into GetStatus's
PRICES variable (lambdas/common/cost.py), so a run's cost is estimated where its jobs are described.

A table (contract/prices/sagemaker-us-east-1.json is the shipped one) maps each kind of instance use (training,
processing, transform, hosting) to instance types, each with `usd_per_hour`, the `date` it was read and its
`source`. A type the table lacks has no price: the run's cost for it shows as unknown, never a guess.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stacks.config import ConfigError, PipelineConfig
from stacks.paths import PROJECT_ROOT

TRAINING, PROCESSING, TRANSFORM, HOSTING = "training", "processing", "transform", "hosting"
KINDS = (TRAINING, PROCESSING, TRANSFORM, HOSTING)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")

PriceTable = dict[str, dict[str, float]]


def read_price_table(path: Path, *, where: str) -> PriceTable:
    """USD per instance-hour by kind and instance type, from a table file; raise ConfigError naming `where` (the
    field: `pipeline 'churn': cost.price_table 'prices.json'`) and what is wrong."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{where}: not valid JSON: {error}") from None
    if not isinstance(document, Mapping) or document.get("currency") != "USD":
        raise ConfigError(f'{where}: must be a JSON object with "currency": "USD" and "prices"')
    prices = document.get("prices")
    if not isinstance(prices, Mapping) or set(prices) - set(KINDS):
        raise ConfigError(f"{where}: prices must be an object whose keys are among {', '.join(KINDS)}")
    return {kind: _kind_prices(types, where=f"{where}: prices.{kind}") for kind, types in prices.items()}


def _kind_prices(types: Any, *, where: str) -> dict[str, float]:
    if not isinstance(types, Mapping):
        raise ConfigError(f"{where} must be an object of instance types")
    read: dict[str, float] = {}
    for instance_type, entry in types.items():
        here = f"{where}.{instance_type}"
        if not _INSTANCE_TYPE.match(str(instance_type)):
            raise ConfigError(f"{here}: not an instance type like ml.m5.large")
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{here} must be an object with usd_per_hour, date and source")
        price = entry.get("usd_per_hour")
        if not isinstance(price, int | float) or isinstance(price, bool) or not math.isfinite(price) or price < 0:
            raise ConfigError(f"{here}.usd_per_hour must be a number of at least 0, got {price!r}")
        # A price without its date and source cannot be checked or refreshed: the table must say both.
        if not isinstance(entry.get("date"), str) or not _DATE.match(entry["date"]):
            raise ConfigError(f"{here}.date must be the day the price was read, YYYY-MM-DD")
        if not isinstance(entry.get("source"), str) or not entry["source"].strip():
            raise ConfigError(f"{here}.source must say where the price was read")
        read[str(instance_type)] = float(price)
    return read


def instance_types(config: PipelineConfig) -> dict[str, set[str]]:
    """The instance types a pipeline's runs use, by kind (the endpoint runs between runs: no run pays for it)."""
    used: dict[str, set[str]] = {kind: set() for kind in (TRAINING, PROCESSING, TRANSFORM)}
    used[TRAINING].add(config.training.instance_type)
    if config.preprocessing is not None:
        used[PROCESSING].add(config.preprocessing.instance_type)
    if config.evaluation_script is not None:
        used[PROCESSING].add(config.evaluation.instance_type)
    if config.builtin_evaluation is not None:
        used[TRANSFORM].add(config.evaluation.instance_type)
    if config.batch_transform is not None:
        used[TRANSFORM].add(config.batch_transform.instance_type)
    return used


def pipeline_prices(config: PipelineConfig, *, project_root: Path = PROJECT_ROOT) -> PriceTable:
    """The prices of the instance types the pipeline uses, from its `cost.price_table`; raise ConfigError when the
    table is missing, outside the project or malformed."""
    name = config.cost.price_table
    where = f"pipeline {config.name!r}: cost.price_table {name!r}"
    root = project_root.resolve()
    path = (project_root / name).resolve()
    if not path.is_relative_to(root):
        raise ConfigError(f"{where} resolves to {path}, outside the project {root}")
    table = read_price_table(path, where=where)
    return {
        kind: {t: table[kind][t] for t in sorted(types) if t in table.get(kind, {})}
        for kind, types in instance_types(config).items()
    }


def prices_env(config: PipelineConfig, *, project_root: Path = PROJECT_ROOT) -> str:
    """GetStatus's PRICES variable: the pipeline's prices as compact JSON (a few dozen bytes of Lambda's 4 KB)."""
    return json.dumps(pipeline_prices(config, project_root=project_root), separators=(",", ":"), sort_keys=True)
