"""The `preprocessing` configuration: optional, typed, and refused at synth with the field's name when wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import ConfigError, PipelineConfig, PreprocessingConfig, parse_pipeline


def parse(preprocessing: Any, **fields: Any) -> PipelineConfig:
    return parse_pipeline({"name": "churn", "data_prefix": "data/churn", "preprocessing": preprocessing, **fields})


def test_a_pipeline_without_preprocessing_trains_on_the_raw_data() -> None:
    assert parse_pipeline({"name": "churn", "data_prefix": "data/churn"}).preprocessing is None


def test_only_the_source_directory_is_required_and_the_rest_takes_the_documented_defaults() -> None:
    assert parse({"source_dir": "examples/churn/preprocessing/"}).preprocessing == PreprocessingConfig(
        source_dir="examples/churn/preprocessing",
        entry_point="preprocess.py",
        postprocess_entry_point=None,
        instance_type="ml.m5.large",
        volume_size_gb=30,
        max_runtime_seconds=3_600,
        output_prefix="preprocessed/churn",
    )


def test_every_field_is_read_as_given() -> None:
    config = parse(
        {
            "source_dir": "prep",
            "entry_point": "fit_features.py",
            "postprocess_entry_point": "to_label.py",
            "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/prep:1",
            "instance_type": "ml.c5.xlarge",
            "volume_size_gb": 100,
            "max_runtime_seconds": 604_800,
            "output_prefix": "features/churn",
        }
    ).preprocessing

    assert config is not None
    assert (config.source_dir, config.entry_point, config.postprocess_entry_point) == (
        "prep",
        "fit_features.py",
        "to_label.py",
    )
    assert config.image is not None
    assert (config.image.account, config.image.region, config.image.repository) == (
        "123456789012",
        "eu-west-1",
        "prep",
    )
    assert (config.instance_type, config.volume_size_gb, config.max_runtime_seconds) == ("ml.c5.xlarge", 100, 604_800)
    assert config.output_prefix == "features/churn"


SCRIPT_RULE = "must be a Python file name like preprocess.py (no directories)"


@pytest.mark.parametrize(
    ("preprocessing", "message"),
    [
        ("yes", 'preprocessing must be an object, got "yes"'),
        ({}, "preprocessing.source_dir is required"),
        ({"source_dir": 5}, "preprocessing.source_dir must be a non-empty string"),
        ({"source_dir": "/abs/prep"}, "preprocessing.source_dir must be a directory inside the project"),
        ({"source_dir": "prep/../../etc"}, "preprocessing.source_dir must be a directory inside the project"),
        ({"source_dir": "prep", "entry_point": "sub/prep.py"}, f"preprocessing.entry_point {SCRIPT_RULE}"),
        ({"source_dir": "prep", "entry_point": "prep.sh"}, f"preprocessing.entry_point {SCRIPT_RULE}"),
        (
            {"source_dir": "prep", "postprocess_entry_point": "post"},
            f"preprocessing.postprocess_entry_point {SCRIPT_RULE}",
        ),
        ({"source_dir": "prep", "image_uri": "nginx:latest"}, "preprocessing.image_uri must be an ECR image URI"),
        ({"source_dir": "prep", "instance_type": "m5.large"}, "preprocessing.instance_type must be an instance type"),
        (
            {"source_dir": "prep", "volume_size_gb": 0},
            "preprocessing.volume_size_gb must be an integer between 1 and 16384",
        ),
        (
            {"source_dir": "prep", "max_runtime_seconds": 604_801},
            "preprocessing.max_runtime_seconds must be an integer between 1 and 604800",
        ),
        (
            {"source_dir": "prep", "output_prefix": "features/churn/"},
            "preprocessing.output_prefix must not start or end with '/'",
        ),
        ({"source_dir": "prep", "colour": "red"}, "unknown field 'preprocessing.colour'"),
    ],
)
def test_an_invalid_field_is_refused_naming_it(preprocessing: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"pipeline 'churn': {message}")):
        parse(preprocessing)


@pytest.mark.parametrize(
    ("output_prefix", "fields", "other"),
    [
        ("data/churn/preprocessed", {}, "data_prefix 'data/churn'"),
        ("data", {}, "data_prefix 'data/churn'"),
        ("manifests/churn", {"manifest_prefix": "manifests/churn"}, "manifest_prefix 'manifests/churn'"),
    ],
    ids=["inside-the-data", "around-the-data", "the-manifests"],
)
def test_an_output_prefix_overlapping_another_is_refused(output_prefix: str, fields: Any, other: str) -> None:
    # the processing job's outputs under the data prefix would be taken for new raw data by the next run
    with pytest.raises(ConfigError, match=re.escape(f"preprocessing.output_prefix {output_prefix!r} overlaps {other}")):
        parse({"source_dir": "prep", "output_prefix": output_prefix}, **fields)
