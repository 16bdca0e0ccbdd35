"""CloudWatch's embedded metric format (EMF): the metrics a log line carries, extracted as CloudWatch Logs does.

On Lambda, a JSON line the function prints to stdout that is an EMF document becomes CloudWatch metrics with no
PutMetricData call (Powertools' Metrics prints them so). The rules, from the specification
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html:
- the line is one JSON object whose `_aws` member holds `Timestamp` (milliseconds since the epoch) and
  `CloudWatchMetrics`, an array of directives `{Namespace, Dimensions, Metrics}`;
- `Dimensions` is an array of dimension sets (at least one), each an array of at most 30 keys (it MAY be empty);
  every key names a member of the root whose value is a string of at most 1024 characters, and every set makes a
  metric of its own (the same values published once per set);
- `Metrics` holds at most 100 definitions `{Name, Unit?, StorageResolution?}` (Unit defaults to None, the
  resolution to 60); each name is a member of the root holding a number or an array of at most 100 numbers
  (an empty array gives no datapoint).
A document that breaks these rules yields no metric on AWS (CloudWatch Logs counts it in `AWS/Logs`
EMFValidationErrors and keeps the line as a plain log event).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SPECIFICATION = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html"
MAX_DIMENSION_KEYS = 30
MAX_DIMENSION_VALUE_LENGTH = 1024
MAX_METRICS_PER_DIRECTIVE = 100
MAX_VALUES_PER_METRIC = 100
DEFAULT_UNIT = "None"
DEFAULT_STORAGE_RESOLUTION = 60


class EmfError(ValueError):
    """A line that claims to be an EMF document (`_aws` at its root) but breaks the specification."""


@dataclass(frozen=True)
class ExtractedMetric:
    """One metric of one dimension set of an EMF document, with every value the document gives it."""

    namespace: str
    name: str
    unit: str
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    timestamp: datetime  # aware, UTC
    storage_resolution: int = DEFAULT_STORAGE_RESOLUTION


def extract_metrics(line: str) -> list[ExtractedMetric] | None:
    """The metrics CloudWatch extracts from one log line.

    None when the line is not an EMF document (not a JSON object, or no `_aws` member): a plain log line. Raises
    EmfError naming the first rule a document breaks, as CloudWatch then extracts nothing from it.
    """
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        root = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(root, dict) or "_aws" not in root:
        return None
    metadata = root["_aws"]
    if not isinstance(metadata, dict):
        raise EmfError("_aws must be an object")
    timestamp = _timestamp(metadata.get("Timestamp"))
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise EmfError("_aws.CloudWatchMetrics must be an array of metric directives")
    metrics: list[ExtractedMetric] = []
    for index, directive in enumerate(directives):
        metrics.extend(_directive(root, directive, f"_aws.CloudWatchMetrics[{index}]", timestamp))
    return metrics


def metric_data(metrics: Iterable[ExtractedMetric]) -> dict[str, list[dict[str, Any]]]:
    """The metrics as PutMetricData's MetricData, by namespace (timestamps naive UTC, as moto keeps them)."""
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for metric in metrics:
        if not metric.values:
            continue  # PutMetricData would read an empty Values as one 0
        by_namespace.setdefault(metric.namespace, []).append(
            {
                "MetricName": metric.name,
                "Dimensions": [{"Name": name, "Value": value} for name, value in metric.dimensions],
                "Values": list(metric.values),
                "Unit": metric.unit,
                "StorageResolution": metric.storage_resolution,
                "Timestamp": metric.timestamp.astimezone(UTC).replace(tzinfo=None),
            }
        )
    return by_namespace


def _timestamp(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EmfError(f"_aws.Timestamp must be a number of milliseconds since the epoch, got {value!r}")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _directive(root: Mapping[str, Any], directive: Any, where: str, timestamp: datetime) -> list[ExtractedMetric]:
    if not isinstance(directive, dict):
        raise EmfError(f"{where} must be an object")
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not namespace:
        raise EmfError(f"{where}.Namespace must be a non-empty string, got {namespace!r}")
    dimension_sets = _dimension_sets(root, directive.get("Dimensions"), f"{where}.Dimensions")
    definitions = directive.get("Metrics")
    if not isinstance(definitions, list):
        raise EmfError(f"{where}.Metrics must be an array of metric definitions")
    if len(definitions) > MAX_METRICS_PER_DIRECTIVE:
        raise EmfError(f"{where}.Metrics holds {len(definitions)} definitions, at most {MAX_METRICS_PER_DIRECTIVE}")
    metrics: list[ExtractedMetric] = []
    for index, definition in enumerate(definitions):
        name, unit, resolution = _definition(definition, f"{where}.Metrics[{index}]")
        values = _values(root, name)
        metrics.extend(
            ExtractedMetric(namespace, name, unit, dimensions, values, timestamp, resolution)
            for dimensions in dimension_sets
        )
    return metrics


def _dimension_sets(root: Mapping[str, Any], sets: Any, where: str) -> list[tuple[tuple[str, str], ...]]:
    if not isinstance(sets, list) or not sets:
        raise EmfError(f"{where} must be an array of at least one dimension set")
    resolved = []
    for index, keys in enumerate(sets):
        if not isinstance(keys, list) or not all(isinstance(key, str) and key for key in keys):
            raise EmfError(f"{where}[{index}] must be an array of dimension names")
        if len(keys) > MAX_DIMENSION_KEYS:
            raise EmfError(f"{where}[{index}] holds {len(keys)} dimension keys, at most {MAX_DIMENSION_KEYS}")
        dimensions = []
        for key in keys:
            value = root.get(key)
            if not isinstance(value, str):
                raise EmfError(f"dimension {key!r} ({where}[{index}]) needs a string member at the root, got {value!r}")
            if len(value) > MAX_DIMENSION_VALUE_LENGTH:
                raise EmfError(
                    f"dimension {key!r} is {len(value)} characters long, at most {MAX_DIMENSION_VALUE_LENGTH}"
                )
            dimensions.append((key, value))
        resolved.append(tuple(dimensions))
    return resolved


def _definition(definition: Any, where: str) -> tuple[str, str, int]:
    if not isinstance(definition, dict):
        raise EmfError(f"{where} must be an object")
    name = definition.get("Name")
    if not isinstance(name, str) or not name:
        raise EmfError(f"{where}.Name must be a non-empty string, got {name!r}")
    unit = definition.get("Unit", DEFAULT_UNIT)
    if not isinstance(unit, str):
        raise EmfError(f"{where}.Unit must be a string, got {unit!r}")
    resolution = definition.get("StorageResolution", DEFAULT_STORAGE_RESOLUTION)
    if isinstance(resolution, bool) or not isinstance(resolution, int):
        raise EmfError(f"{where}.StorageResolution must be an integer (1 or 60), got {resolution!r}")
    return name, unit, resolution


def _values(root: Mapping[str, Any], name: str) -> tuple[float, ...]:
    value = root.get(name)
    values: list[Any] = value if isinstance(value, list) else [value]
    if not all(_is_number(item) for item in values):
        raise EmfError(f"metric {name!r} needs a number or an array of numbers at the root, got {value!r}")
    if len(values) > MAX_VALUES_PER_METRIC:
        raise EmfError(f"metric {name!r} has {len(values)} values, at most {MAX_VALUES_PER_METRIC}")
    return tuple(float(item) for item in values)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
