"""The Linear Learner image in every region, from the table copied out of the SageMaker SDK."""

from __future__ import annotations

import json
import re

import pytest

from lambdas.common import env
from stacks.algorithms import LINEAR_LEARNER_REGISTRIES_FILE, linear_learner_registries
from stacks.config import ConfigError
from tests.unit.stacks.synth import environment, flatten, pipeline, pipeline_template


def test_registry_table_records_its_source_and_covers_the_regions() -> None:
    document = json.loads(LINEAR_LEARNER_REGISTRIES_FILE.read_text())
    table = linear_learner_registries()

    assert document["source"]["package"] == "sagemaker"
    assert document["source"]["version"].startswith("2.")
    assert (table.repository, table.tag) == ("linear-learner", "1")
    assert len(table.accounts) >= 25
    assert table.accounts["us-east-1"] == "382416733822"
    assert table.accounts["eu-west-1"] == "438346466558"
    assert table.accounts["cn-north-1"] == "390948362332"
    for region, account in table.accounts.items():
        assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region), region
        assert re.fullmatch(r"\d{12}", account), (region, account)


def test_a_stack_in_a_known_region_gets_that_regions_image_without_a_mapping() -> None:
    template = pipeline_template(pipeline(), region="eu-west-1")

    image = environment(template, "StartTrainingJob")[env.TRAINING_IMAGE]
    assert flatten(image) == "438346466558.dkr.ecr.eu-west-1.<AWS::URLSuffix>/linear-learner:1"
    assert "Mappings" not in template.to_json()


def test_a_stack_in_an_unknown_region_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match=r"^pipeline 'demo': region mars-north-1 has no Linear Learner image.*image_uri"
    ):
        pipeline_template(pipeline(), region="mars-north-1")
