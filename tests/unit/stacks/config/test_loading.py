"""Loading the app's configuration: the pipelines list or file, the rules across pipelines, and the tags."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stacks.config import ConfigError, load_app_config, parse_pipelines
from tests.unit.stacks.config.raw import churn


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"data_prefix": "data/x"}, "pipelines[0]: name is required"),
        ({"name": "Churn", "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32 lowercase letters"),
        ({"name": "1churn", "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ({"name": "churn-", "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ({"name": "ch--urn", "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ({"name": "c" * 33, "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ({"name": 7, "data_prefix": "d"}, "pipelines[0]: name must be 1 to 32"),
        ("churn", "pipelines[0] must be an object"),
    ],
)
def test_missing_or_invalid_name_is_reported_by_position(raw: Any, expected: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(expected)):
        parse_pipelines([raw])


def test_position_counts_from_zero_across_the_list() -> None:
    with pytest.raises(ConfigError, match=r"^pipelines\[2\]: name is required$"):
        parse_pipelines([churn(), churn(name="fraud"), {"data_prefix": "data/x"}])


@pytest.mark.parametrize("raw", [None, [], {}, "churn", {"pipelines": []}])
def test_pipelines_must_be_a_non_empty_list(raw: Any) -> None:
    with pytest.raises(ConfigError, match=r"^pipelines must be a non-empty list"):
        parse_pipelines(raw)


def test_pipeline_names_must_be_unique() -> None:
    with pytest.raises(ConfigError, match=r"^pipeline 'churn': name is used by another pipeline$"):
        parse_pipelines([churn(), churn(data_prefix="other")])


def test_endpoint_names_must_be_unique_ignoring_case() -> None:
    with pytest.raises(ConfigError, match=r"^pipeline 'fraud': endpoint\.name 'CHURN' is already the endpoint"):
        parse_pipelines([churn(), churn(name="fraud", endpoint={"name": "CHURN"})])


def test_a_pipeline_name_must_not_extend_another_with_a_hyphen() -> None:
    # "churn-*" in churn's IAM policies would match churn-v2's training jobs
    with pytest.raises(ConfigError, match=r"^pipeline 'churn-v2': name starts with 'churn' and a hyphen"):
        parse_pipelines([churn(), churn(name="churn-v2")])


def test_two_valid_pipelines_are_parsed_in_order() -> None:
    configs = parse_pipelines([churn(), churn(name="fraud", data_prefix="data/fraud")])

    assert [config.name for config in configs] == ["churn", "fraud"]


def test_config_file_replaces_the_pipelines_list(tmp_path: Path) -> None:
    # GIVEN a config file next to (not in) the context's example list
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "prod.json").write_text(json.dumps({"pipelines": [churn()]}))

    # WHEN loaded by its path relative to the project root
    config = load_app_config(
        pipelines=[{"name": "demo", "data_prefix": "data/demo"}],
        config_file="config/prod.json",
        project_root=tmp_path,
    )

    # THEN the file's pipelines are used
    assert [pipeline.name for pipeline in config.pipelines] == ["churn"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "config_file 'pipelines.json': no such file"),
        ("{not json", "config_file 'pipelines.json': invalid JSON"),
        (json.dumps([churn()]), "config_file 'pipelines.json': must hold exactly"),
        (json.dumps({"pipelines": [churn()], "extra": 1}), "config_file 'pipelines.json': must hold exactly"),
        (json.dumps({"pipelines": [churn(window_days=0)]}), "pipeline 'churn': window_days must be an integer"),
    ],
)
def test_config_file_problems_are_config_errors(tmp_path: Path, content: str | None, expected: str) -> None:
    if content is not None:
        (tmp_path / "pipelines.json").write_text(content)

    with pytest.raises(ConfigError) as raised:
        load_app_config(config_file="pipelines.json", project_root=tmp_path)

    assert str(raised.value).startswith(expected), str(raised.value)


def test_no_pipelines_at_all_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no pipelines configured"):
        load_app_config(project_root=tmp_path)


def test_tags_are_validated(tmp_path: Path) -> None:
    config = load_app_config(pipelines=[churn()], tags={"team": "ml", "cost-center": "42"}, project_root=tmp_path)
    assert dict(config.tags) == {"team": "ml", "cost-center": "42"}

    with pytest.raises(ConfigError, match=r"^tags\.team must be a string"):
        load_app_config(pipelines=[churn()], tags={"team": 1}, project_root=tmp_path)
    with pytest.raises(ConfigError, match=r"^tags: key 'aws:x' is not a valid tag key"):
        load_app_config(pipelines=[churn()], tags={"aws:x": "y"}, project_root=tmp_path)
