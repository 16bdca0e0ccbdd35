"""The `batch_transform` configuration: optional, typed, and refused at synth with the field's name when wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import BatchTransformConfig, ConfigError, PipelineConfig, parse_pipeline


def parse(batch_transform: Any, **fields: Any) -> PipelineConfig:
    return parse_pipeline({"name": "churn", "data_prefix": "data/churn", "batch_transform": batch_transform, **fields})


def test_a_pipeline_without_the_section_runs_no_transform() -> None:
    assert parse_pipeline({"name": "churn", "data_prefix": "data/churn"}).batch_transform is None


def test_an_empty_section_takes_the_documented_defaults() -> None:
    assert parse({}).batch_transform == BatchTransformConfig(
        instance_type="ml.m5.large",
        instance_count=1,
        predictions_prefix="predictions",
        input_filter="$[1:]",
        content_type="text/csv",
        accept="application/jsonlines",
        max_payload_mb=6,
        max_wait_seconds=3_600,
    )


def test_every_field_is_read_as_given() -> None:
    config = parse(
        {
            "instance_type": "ml.c5.xlarge",
            "instance_count": 3,
            "predictions_prefix": "scores/churn",
            "input_filter": "$[2:]",
            "content_type": "application/json",
            "accept": "text/csv",
            "max_payload_mb": 100,
            "max_wait_seconds": 7_200,
        }
    ).batch_transform

    assert config == BatchTransformConfig(
        instance_type="ml.c5.xlarge",
        instance_count=3,
        predictions_prefix="scores/churn",
        input_filter="$[2:]",
        content_type="application/json",
        accept="text/csv",
        max_payload_mb=100,
        max_wait_seconds=7_200,
    )


@pytest.mark.parametrize(
    ("given", "input_filter", "accept"),
    [
        ({}, "$[1:]", "application/jsonlines"),
        ({"input_filter": None}, None, "application/jsonlines"),
        ({"accept": None}, "$[1:]", None),
        ({"input_filter": None, "accept": None}, None, None),
    ],
    ids=["both-absent", "filter-null", "accept-null", "both-null"],
)
def test_null_sends_whole_records_or_takes_the_models_default_where_absent_takes_the_default(
    given: dict[str, Any], input_filter: str | None, accept: str | None
) -> None:
    config = parse(given).batch_transform

    assert config is not None
    assert (config.input_filter, config.accept) == (input_filter, accept)


@pytest.mark.parametrize(
    ("batch_transform", "message"),
    [
        ("yes", 'batch_transform must be an object, got "yes"'),
        ({"input_filter": "[1:]"}, 'batch_transform.input_filter must be a JSONPath like "$[1:]"'),
        ({"input_filter": 1}, 'batch_transform.input_filter must be a JSONPath like "$[1:]"'),
        ({"accept": "jsonlines"}, "batch_transform.accept must be a media type like application/jsonlines"),
        ({"accept": ""}, "batch_transform.accept must be a media type like application/jsonlines"),
        ({"content_type": "CSV"}, "batch_transform.content_type must be a media type like text/csv"),
        ({"instance_type": "m5.large"}, "batch_transform.instance_type must be an instance type"),
        ({"instance_count": 0}, "batch_transform.instance_count must be an integer between 1 and 100"),
        ({"max_payload_mb": 0}, "batch_transform.max_payload_mb must be an integer between 1 and 100"),
        ({"max_payload_mb": 101}, "batch_transform.max_payload_mb must be an integer between 1 and 100"),
        ({"max_wait_seconds": 0}, "batch_transform.max_wait_seconds must be an integer between 1 and 31536000"),
        ({"predictions_prefix": "/predictions"}, "batch_transform.predictions_prefix must not start or end with '/'"),
        ({"colour": "red"}, "unknown field 'batch_transform.colour'"),
    ],
)
def test_an_invalid_field_is_refused_naming_it(batch_transform: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"pipeline 'churn': {message}")):
        parse(batch_transform)


@pytest.mark.parametrize(
    ("predictions_prefix", "fields", "other"),
    [
        ("data/churn/predictions", {}, "data_prefix 'data/churn'"),
        ("data", {}, "data_prefix 'data/churn'"),
        ("models/churn", {"model_prefix": "models/churn"}, "model_prefix 'models/churn'"),
    ],
    ids=["inside-the-data", "around-the-data", "the-models"],
)
def test_a_predictions_prefix_overlapping_another_is_refused(predictions_prefix: str, fields: Any, other: str) -> None:
    # predictions under the data prefix would start a run and be read as training data
    with pytest.raises(
        ConfigError,
        match=re.escape(f"batch_transform.predictions_prefix {predictions_prefix!r} overlaps {other}"),
    ):
        parse({"predictions_prefix": predictions_prefix}, **fields)


def test_a_predictions_prefix_overlapping_the_preprocessed_data_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"batch_transform\.predictions_prefix 'out/pre' overlaps preprocessing"):
        parse(
            {"predictions_prefix": "out/pre"},
            preprocessing={"source_dir": "examples/churn/preprocessing", "output_prefix": "out"},
        )


def test_a_prefix_sharing_only_the_start_of_a_name_is_accepted() -> None:
    config = parse({"predictions_prefix": "data/churn-predictions"}).batch_transform

    assert config is not None
    assert config.predictions_prefix == "data/churn-predictions"
