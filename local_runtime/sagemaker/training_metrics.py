"""Which metric definitions a training job applies to its log, and the FinalMetricDataList they give."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)

# The first metric definition moto fills in on every job, overwriting the caller's.
_MOTO_CANNED_METRIC = "test:dcg"

Definitions = list[tuple[str, re.Pattern[str]]]


def applied_definitions(
    job_name: str,
    specification: Mapping[str, Any],
    request: Mapping[str, Any],
    builtin: Sequence[Mapping[str, str]] | None,
) -> tuple[dict[str, Any], Definitions]:
    """The AlgorithmSpecification to show (the definitions that apply: a built-in's own, else the caller's) and
    those definitions compiled; one that does not compile is left out with a warning."""
    shown = dict(specification)
    requested = (request.get("AlgorithmSpecification") or {}).get("MetricDefinitions")
    if builtin:
        definitions = [dict(item) for item in builtin]
    elif requested is not None:
        definitions = list(requested)
    else:
        stored = shown.get("MetricDefinitions") or []
        definitions = [item for item in stored if item.get("Name") != _MOTO_CANNED_METRIC]
    if definitions:
        shown["MetricDefinitions"] = definitions
    else:
        shown.pop("MetricDefinitions", None)
    compiled: Definitions = []
    for item in definitions:
        try:
            compiled.append((str(item["Name"]), re.compile(str(item["Regex"]))))
        except (KeyError, re.error) as error:
            logger.warning("training job %s: metric definition %r ignored: %s", job_name, item, error)
    return shown, compiled


def final_metrics(
    metrics: Mapping[str, tuple[float, datetime]], definitions: Definitions
) -> list[dict[str, Any]] | None:
    """FinalMetricDataList: the last value of each defined metric, in the definitions' order; None without any."""
    order = [name for name, _ in definitions]
    return [
        {"MetricName": name, "Value": metrics[name][0], "Timestamp": metrics[name][1]}
        for name in dict.fromkeys(order)
        if name in metrics
    ] or None
