"""The price table, read and checked at synth: the shipped one, a pipeline's own, and the PRICES GetStatus gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract.steps import GET_STATUS
from stacks.config import ConfigError
from stacks.config.cost import DEFAULT_PRICE_TABLE
from stacks.paths import PROJECT_ROOT
from stacks.pricing import pipeline_prices, prices_env, read_price_table
from tests.unit.stacks.config.raw import parse_one
from tests.unit.stacks.synth import environment, pipeline, pipeline_template

ENTRY = {"usd_per_hour": 0.2, "date": "2026-10-01", "source": "my invoice"}


def table(tmp_path: Path, prices: Any, **fields: Any) -> str:
    (tmp_path / "prices.json").write_text(json.dumps({"currency": "USD", "prices": prices, **fields}))
    return "prices.json"


def test_the_shipped_table_is_valid_and_every_price_says_when_and_where_it_was_read() -> None:
    path = PROJECT_ROOT / DEFAULT_PRICE_TABLE
    read = read_price_table(path, where="shipped")
    document = json.loads(path.read_text())

    assert document["region"] == "us-east-1"
    assert set(read) == {"training", "processing", "transform", "hosting"}
    assert read["training"]["ml.m5.large"] == 0.115
    for kind in document["prices"].values():
        for entry in kind.values():
            assert entry["usage_type"].startswith("USE1-")
            assert entry["source"]


def test_a_pipeline_gets_the_prices_of_the_instance_types_its_runs_use(tmp_path: Path) -> None:
    # GIVEN a table with prices for training and processing types, and none for transform
    name = table(
        tmp_path,
        {"training": {"ml.m5.xlarge": ENTRY, "ml.c5.large": ENTRY}, "processing": {"ml.m5.large": ENTRY}},
    )
    config = parse_one(
        training={"instance_type": "ml.m5.xlarge"},
        batch_transform={"instance_type": "ml.m5.large"},
        cost={"price_table": name},
    )

    # WHEN the stack reads it / THEN only the pipeline's types are kept; a type without a price is left out
    assert pipeline_prices(config, project_root=tmp_path) == {
        "training": {"ml.m5.xlarge": 0.2},
        "processing": {},
        "transform": {},
    }


def test_the_default_table_prices_the_default_training_instance() -> None:
    assert json.loads(prices_env(parse_one())) == {
        "training": {"ml.m5.large": 0.115},
        "processing": {},
        "transform": {},
    }


@pytest.mark.parametrize(
    ("prices", "fields", "problem"),
    [
        ({"training": {}}, {"currency": "EUR"}, 'must be a JSON object with "currency": "USD"'),
        ({"gpu": {}}, {}, "prices must be an object whose keys are among training, processing"),
        ({"training": {"m5.large": ENTRY}}, {}, "prices.training.m5.large: not an instance type"),
        ({"training": {"ml.m5.large": {**ENTRY, "usd_per_hour": "0.1"}}}, {}, "usd_per_hour must be a number"),
        ({"training": {"ml.m5.large": {**ENTRY, "date": "October"}}}, {}, "date must be the day the price was read"),
        ({"training": {"ml.m5.large": {**ENTRY, "source": " "}}}, {}, "source must say where the price was read"),
    ],
)
def test_a_bad_table_fails_synth_naming_the_pipeline_the_field_and_the_problem(
    tmp_path: Path, prices: Any, fields: Any, problem: str
) -> None:
    config = parse_one(cost={"price_table": table(tmp_path, prices, **fields)})

    with pytest.raises(ConfigError, match=r"^pipeline 'churn': cost\.price_table 'prices\.json'") as caught:
        pipeline_prices(config, project_root=tmp_path)
    assert problem in str(caught.value)


def test_a_missing_table_fails_synth(tmp_path: Path) -> None:
    config = parse_one(cost={"price_table": "nowhere/prices.json"})

    with pytest.raises(ConfigError, match=r"cost\.price_table 'nowhere/prices\.json': no such file"):
        pipeline_prices(config, project_root=tmp_path)


def test_a_table_reached_through_a_link_outside_the_project_is_refused(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    table(outside, {})
    (project / "prices.json").symlink_to(outside / "prices.json")

    with pytest.raises(ConfigError, match="outside the project"):
        pipeline_prices(parse_one(cost={"price_table": "prices.json"}), project_root=project)


@pytest.mark.parametrize("path", ["/etc/prices.json", "../prices.json", "prices.csv"])
def test_the_config_takes_only_a_json_file_inside_the_project(path: str) -> None:
    with pytest.raises(ConfigError, match=r"pipeline 'churn': cost\.price_table must be the path of a \.json"):
        parse_one(cost={"price_table": path})


def test_get_status_is_given_the_pipelines_prices() -> None:
    template = pipeline_template(pipeline(name="churn"))

    assert json.loads(environment(template, GET_STATUS.name)["PRICES"]) == {
        "training": {"ml.m5.large": 0.115},
        "processing": {},
        "transform": {},
    }
