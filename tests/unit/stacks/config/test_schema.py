"""The JSON Schema of a pipelines file: committed up to date, and true to every pipelines file the repository ships."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from stacks.config import ConfigError, load_app_config
from stacks.config.schema import REGENERATE_COMMAND, SCHEMA_PATH, render
from tests.unit.stacks.config.raw import churn

PROJECT_ROOT = SCHEMA_PATH.parents[1]
# Not the project's own files: dependencies, build output; and hidden directories (virtualenvs, caches, git).
_SKIPPED_DIRECTORIES = {"node_modules", "cdk.out", "__pycache__"}


def _pipelines_files() -> Iterator[Path]:
    """Every JSON file of the project holding a pipelines document (`{"pipelines": [...]}`)."""
    for directory, subdirectories, files in os.walk(PROJECT_ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in _SKIPPED_DIRECTORIES and not d.startswith(".")]
        for name in sorted(files):
            path = Path(directory) / name
            if name.endswith(".json") and path != SCHEMA_PATH:
                document = json.loads(path.read_text())
                if isinstance(document, dict) and "pipelines" in document:
                    yield path


def _shipped_documents() -> list[Any]:
    cdk_json = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    documents = [pytest.param({"pipelines": cdk_json["context"]["pipelines"]}, id="cdk.json")]
    for path in _pipelines_files():
        documents.append(pytest.param(json.loads(path.read_text()), id=str(path.relative_to(PROJECT_ROOT))))
    return documents


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_committed_schema_is_generated_from_the_models() -> None:
    assert SCHEMA_PATH.read_text() == render(), f"{SCHEMA_PATH.name} is stale: run `{REGENERATE_COMMAND}` (make schema)"


def test_the_repository_ships_the_example_and_demo_pipelines_files() -> None:
    shipped = {str(path.relative_to(PROJECT_ROOT)) for path in _pipelines_files()}

    assert {
        "examples/churn/pipelines.json",
        "examples/churn-xgboost/pipelines.json",
        "demo/pipelines.json",
        "demo/review_pipelines.json",
    } <= shipped


@pytest.mark.parametrize("document", _shipped_documents())
def test_every_shipped_pipelines_file_validates_against_the_schema(
    validator: Draft202012Validator, document: dict[str, Any]
) -> None:
    errors = validator.iter_errors(document)

    assert [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors] == []


@pytest.mark.parametrize(
    "pipeline",
    [
        churn(window_days=0),
        churn(windows_days=7),
        churn(data_prefix="/data"),
        churn(training={"instance_type": "m5.large"}),
        churn(endpoint={"name": "churn_endpoint"}),
        churn(algorithm={"image_uri": "docker.io/trainer"}),
        churn(rollout={"strategy": "blue_green"}),
        churn(log_retention_days=31),
        churn(alerts={"email": []}),
        {"data_prefix": "data/churn"},
    ],
    ids=[
        "bounds",
        "unknown-field",
        "prefix",
        "instance-type",
        "endpoint-name",
        "ecr-uri",
        "choice",
        "retention",
        "empty-list",
        "no-name",
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(
    validator: Draft202012Validator, pipeline: dict[str, Any], tmp_path: Path
) -> None:
    document = {"pipelines": [pipeline]}
    (tmp_path / "pipelines.json").write_text(json.dumps(document))

    assert not validator.is_valid(document)
    with pytest.raises(ConfigError):
        load_app_config(config_file="pipelines.json", project_root=tmp_path)


def test_a_pipelines_file_may_name_its_schema(validator: Draft202012Validator, tmp_path: Path) -> None:
    # GIVEN a file that points editors at the schema, as the README suggests
    document = {"$schema": "../schema/pipelines.schema.json", "pipelines": [churn()]}
    (tmp_path / "pipelines.json").write_text(json.dumps(document))

    # WHEN validated and loaded THEN both accept it
    assert validator.is_valid(document)
    config = load_app_config(config_file="pipelines.json", project_root=tmp_path)
    assert [pipeline.name for pipeline in config.pipelines] == ["churn"]
