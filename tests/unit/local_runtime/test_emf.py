"""EMF lines are read as CloudWatch Logs reads them: metrics per dimension set, or nothing from a broken document."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from local_runtime.emf import EmfError, ExtractedMetric, extract_metrics, metric_data

TIMESTAMP_MS = 1_796_000_000_123
WHEN = datetime.fromtimestamp(TIMESTAMP_MS / 1000, tz=UTC)


def document(**changes: Any) -> dict[str, Any]:
    """The specification's example, with two dimension sets; `changes` replace root members."""
    return {
        "_aws": {
            "Timestamp": TIMESTAMP_MS,
            "CloudWatchMetrics": [
                {
                    "Namespace": "lambda-function-metrics",
                    "Dimensions": [["functionVersion"], []],
                    "Metrics": [{"Name": "time", "Unit": "Milliseconds"}, {"Name": "count"}],
                }
            ],
        },
        "functionVersion": "$LATEST",
        "time": 100,
        "count": [1, 2.5],
        "requestId": "989ffbf8",
        **changes,
    }


@pytest.mark.compatibility("cloudwatch:emf")
def test_a_powertools_metric_is_read_with_its_namespace_dimensions_unit_and_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the line Powertools prints for NotifySlack's failure metric
    metrics = EphemeralMetrics(namespace="SageMakerRetraining", service="notify_slack")
    metrics.add_dimension(name="pipeline", value="ops")
    metrics.add_metric(name="SlackNotificationFailed", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    line = capsys.readouterr().out.strip()

    # WHEN it is read
    extracted = extract_metrics(line)

    # THEN it is one metric, named and dimensioned as the stack's alarm watches it
    assert extracted is not None
    [metric] = extracted
    assert (metric.namespace, metric.name, metric.unit, metric.values) == (
        "SageMakerRetraining",
        "SlackNotificationFailed",
        "Count",
        (1.0,),
    )
    assert dict(metric.dimensions) == {"service": "notify_slack", "pipeline": "ops"}
    assert abs((datetime.now(UTC) - metric.timestamp).total_seconds()) < 60


def test_every_dimension_set_makes_a_metric_of_its_own() -> None:
    extracted = extract_metrics(json.dumps(document()))

    assert extracted == [
        ExtractedMetric(
            "lambda-function-metrics", "time", "Milliseconds", (("functionVersion", "$LATEST"),), (100.0,), WHEN
        ),
        ExtractedMetric("lambda-function-metrics", "time", "Milliseconds", (), (100.0,), WHEN),
        ExtractedMetric(
            "lambda-function-metrics", "count", "None", (("functionVersion", "$LATEST"),), (1.0, 2.5), WHEN
        ),
        ExtractedMetric("lambda-function-metrics", "count", "None", (), (1.0, 2.5), WHEN),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Slack notification sent",
        '{"level": "INFO", "message": "watermark advanced", "service": "update_parameters"}',
        "[1, 2]",
        "{not json",
        "",
    ],
)
def test_a_line_that_is_not_an_emf_document_is_a_plain_log_line(line: str) -> None:
    assert extract_metrics(line) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"_aws": []}, "_aws must be an object"),
        ({"_aws": {"CloudWatchMetrics": []}}, "_aws.Timestamp must be a number"),
        ({"_aws": {"Timestamp": TIMESTAMP_MS}}, "_aws.CloudWatchMetrics must be an array"),
        (
            {"functionVersion": 7},
            "dimension 'functionVersion' (_aws.CloudWatchMetrics[0].Dimensions[0]) needs a string",
        ),
        ({"functionVersion": "v" * 1025}, "dimension 'functionVersion' is 1025 characters long, at most 1024"),
        ({"time": "100"}, "metric 'time' needs a number or an array of numbers at the root, got '100'"),
        ({"time": True}, "metric 'time' needs a number"),
        ({"count": list(range(101))}, "metric 'count' has 101 values, at most 100"),
    ],
)
def test_a_document_that_breaks_the_specification_yields_an_error_naming_the_rule(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(EmfError, match=re.escape(message)):
        extract_metrics(json.dumps(document(**changes)))


@pytest.mark.parametrize(
    ("directive", "message"),
    [
        ({"Namespace": "", "Dimensions": [[]], "Metrics": []}, "Namespace must be a non-empty string"),
        ({"Namespace": "N", "Dimensions": [], "Metrics": []}, "Dimensions must be an array of at least one"),
        ({"Namespace": "N", "Dimensions": [[f"d{i}" for i in range(31)]], "Metrics": []}, "31 dimension keys"),
        ({"Namespace": "N", "Dimensions": [[]], "Metrics": [{"Name": "m"}] * 101}, "101 definitions, at most 100"),
        ({"Namespace": "N", "Dimensions": [[]], "Metrics": [{"Unit": "Count"}]}, "Metrics[0].Name must be"),
    ],
)
def test_a_directive_that_breaks_the_specification_yields_an_error(directive: dict[str, Any], message: str) -> None:
    line = json.dumps({"_aws": {"Timestamp": TIMESTAMP_MS, "CloudWatchMetrics": [directive]}, "m": 1})

    with pytest.raises(EmfError, match=re.escape(message)):
        extract_metrics(line)


def test_metric_data_groups_by_namespace_in_put_metric_datas_shape_and_skips_empty_values() -> None:
    metrics = [
        ExtractedMetric("A", "m", "Count", (("pipeline", "ops"),), (1.0, 2.0), WHEN),
        ExtractedMetric("B", "n", "None", (), (), WHEN),
        ExtractedMetric("B", "o", "Seconds", (), (3.0,), WHEN, storage_resolution=1),
    ]

    data = metric_data(metrics)

    assert data == {
        "A": [
            {
                "MetricName": "m",
                "Dimensions": [{"Name": "pipeline", "Value": "ops"}],
                "Values": [1.0, 2.0],
                "Unit": "Count",
                "StorageResolution": 60,
                "Timestamp": WHEN.replace(tzinfo=None),
            }
        ],
        "B": [
            {
                "MetricName": "o",
                "Dimensions": [],
                "Values": [3.0],
                "Unit": "Seconds",
                "StorageResolution": 1,
                "Timestamp": WHEN.replace(tzinfo=None),
            }
        ],
    }
