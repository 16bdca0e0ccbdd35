"""SageMaker Search on nested properties: `ModelArtifacts.S3ModelArtifacts`, `Metrics.<name>`, `HyperParameters.<name>`.

moto's Search matches a filter's Name against an attribute of its record (`TrainingJobName`) and rejects any other
name as unknown, so a dotted one always fails. The SageMaker Python SDK v2 searches a training job by its artifact
before it registers a model (`ModelCard.call_search_training_job`, from `estimator.register`). These filters are
matched here on the record Search returns, as the API reference's Filter page describes them
(docs.aws.amazon.com/sagemaker/latest/APIReference/API_Filter.html):
- `Metrics.<name>`: the training job's final value of that metric (FinalMetricDataList).
- any other dotted name: the property at that path of the record (`HyperParameters.learning_rate`).
- without an Operator, Equals; numbers compare as numbers when the Value and the property both parse as one;
  `In` takes a comma-separated list; Exists and NotExists take no Value.
moto keeps the other filters (plain names, `Tags.<key>`, `Parents.TrialName`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from moto.sagemaker.models import SageMakerModelBackend

_MISSING = object()
_MOTO_DOTTED_PREFIXES = ("Tags.", "Parents.")
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "GreaterThan": lambda actual, expected: actual > expected,
    "GreaterThanOrEqualTo": lambda actual, expected: actual >= expected,
    "LessThan": lambda actual, expected: actual < expected,
    "LessThanOrEqualTo": lambda actual, expected: actual <= expected,
}
_installed = False


def is_nested(name: str) -> bool:
    """True for a dotted property name moto cannot match (not a tag's, not Parents.TrialName)."""
    return "." in name and not name.startswith(_MOTO_DOTTED_PREFIXES)


def property_value(record: Mapping[str, Any], name: str) -> Any:
    """The value of the dotted property `name` in a Search record, or _MISSING when the record lacks it."""
    if name.startswith("Metrics."):
        metric = name.removeprefix("Metrics.")
        for datum in record.get("FinalMetricDataList") or ():
            if datum.get("MetricName") == metric:
                return datum.get("Value")
        return _MISSING
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def matches(record: Mapping[str, Any], search_filter: Mapping[str, Any]) -> bool:
    """Whether a Search record satisfies one filter on a nested property."""
    operator = search_filter.get("Operator") or "Equals"
    actual = property_value(record, str(search_filter["Name"]))
    if operator == "Exists":
        return actual is not _MISSING
    if operator == "NotExists":
        return actual is _MISSING
    if actual is _MISSING:
        return False
    expected = str(search_filter.get("Value", ""))
    if operator == "In":
        return str(actual) in {value.strip() for value in expected.split(",")}
    if operator == "Contains":
        return expected in str(actual)
    left, right = _comparable(actual, expected)
    if operator == "NotEquals":
        return bool(left != right)
    if operator in _ORDERINGS:
        return _ORDERINGS[operator](left, right)
    return bool(left == right)


def _comparable(actual: Any, expected: str) -> tuple[Any, Any]:
    """Both as numbers when both parse as one (a hyperparameter is a string), else both as strings."""
    try:
        return float(actual), float(expected)
    except (TypeError, ValueError):
        return str(actual), expected


def install() -> None:
    """Make moto's Search match nested properties; calling it again does nothing."""
    global _installed
    if _installed:
        return
    _installed = True
    original = SageMakerModelBackend.search

    @functools.wraps(original)
    def search(self: SageMakerModelBackend, resource: Any = None, search_expression: Any = None) -> Any:
        filters = list((search_expression or {}).get("Filters") or ())
        nested = [f for f in filters if is_nested(str(f.get("Name", "")))]
        if not nested:
            return original(self, resource, search_expression)
        rest = {**search_expression, "Filters": [f for f in filters if f not in nested]}
        result = original(self, resource, rest)
        result["Results"] = [
            found
            for found in result["Results"]
            if all(matches(next(iter(found.values())), search_filter) for search_filter in nested)
        ]
        return result

    SageMakerModelBackend.search = search  # type: ignore[method-assign]
