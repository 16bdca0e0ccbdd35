"""app.py: one stack per pipeline, and a config error that stops before anything is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template

from app import PROJECT_ROOT, build_app, cdk_json_context
from stacks.config import ConfigError
from tests.unit.stacks.synth import SKIP_BUNDLING, pipeline, synth_context


def run_app(context: dict[str, Any], outdir: Path) -> subprocess.CompletedProcess[str]:
    """Run cdk.json's "app" the way the CDK CLI does: through the shell, in the project's folder, context and output
    directory in the environment; and as `npx cdk` runs it for someone who never activated the virtualenv: no
    virtualenv on PATH and none in VIRTUAL_ENV."""
    command = json.loads((PROJECT_ROOT / "cdk.json").read_text())["app"]
    virtualenv = str(Path(sys.prefix))
    path = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if not entry.startswith(virtualenv)
    )
    environ = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    environ |= {"PATH": path, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    return subprocess.run(
        command, shell=True, cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def stacks_of(app: Any) -> dict[str, Stack]:
    return {child.stack_name: child for child in app.node.children if isinstance(child, Stack)}


def test_bad_config_exits_1_naming_pipeline_and_field_and_writes_no_template(tmp_path: Path) -> None:
    # GIVEN a pipeline whose window is empty
    context = {"pipelines": [pipeline(name="churn", data_prefix="data/churn", window_days=0)]}

    # WHEN the app runs
    result = run_app(context, tmp_path)

    # THEN it fails before synth, saying which pipeline and which field
    assert result.returncode == 1, result.stderr
    assert "config error: pipeline 'churn': window_days must be an integer between 1 and 366, got 0" in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_default_context_synthesizes_the_demo_stack(tmp_path: Path) -> None:
    # GIVEN cdk.json's context as the CLI would pass it, bundling skipped
    result = run_app({**cdk_json_context(), **SKIP_BUNDLING}, tmp_path)

    assert result.returncode == 0, result.stderr
    assert [path.name for path in tmp_path.glob("*.template.json")] == ["SageMakerRetraining-demo.template.json"]


def test_cdk_json_holds_one_demo_pipeline() -> None:
    document = json.loads((PROJECT_ROOT / "cdk.json").read_text())

    # The project's virtualenv (made by `make setup`), so `npx cdk synth|deploy` needs nothing activated.
    assert document["app"] == ".venv/bin/python app.py"
    assert [raw["name"] for raw in document["context"]["pipelines"]] == ["demo"]
    assert "slack" not in document["context"]["pipelines"][0]


def test_two_pipelines_make_two_named_stacks() -> None:
    app = build_app(
        synth_context(
            pipelines=[pipeline(name="churn", data_prefix="d/churn"), pipeline(name="fraud", data_prefix="d/fraud")]
        )
    )

    assert sorted(stacks_of(app)) == ["SageMakerRetraining-churn", "SageMakerRetraining-fraud"]


def test_config_file_replaces_the_context_list(tmp_path: Path) -> None:
    config_file = tmp_path / "prod.json"
    config_file.write_text(json.dumps({"pipelines": [pipeline(name="fraud", data_prefix="data/fraud")]}))

    app = build_app(synth_context(config_file=os.path.relpath(config_file, PROJECT_ROOT)))

    assert list(stacks_of(app)) == ["SageMakerRetraining-fraud"]


def test_invalid_config_raises_before_any_stack_is_built() -> None:
    with pytest.raises(ConfigError, match=r"^pipelines\[0\]: name is required$"):
        build_app(synth_context(pipelines=[{"data_prefix": "data/x"}]))


def test_app_tags_reach_every_stack() -> None:
    app = build_app(synth_context(tags={"team": "ml-platform"}))

    template = Template.from_stack(stacks_of(app)["SageMakerRetraining-demo"])
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Tags": Match.array_with([{"Key": "team", "Value": "ml-platform"}])}
    )


def test_tags_reach_resources_but_never_the_watermark_parameter() -> None:
    # CloudFormation rewrites a parameter's Value on any update, a tag change included: that would reset it.
    from aws_cdk.assertions import Match, Template

    from app import build_app, cdk_json_context

    app = build_app({**cdk_json_context(), "aws:cdk:bundling-stacks": [], "tags": {"team": "ml"}})
    template = Template.from_stack(app.node.find_child("SageMakerRetraining-demo"))  # type: ignore[arg-type]

    template.has_resource_properties("AWS::SSM::Parameter", {"Tags": Match.absent()})
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Tags": Match.array_with([{"Key": "team", "Value": "ml"}])}
    )
