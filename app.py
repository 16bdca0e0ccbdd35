"""The CDK app: one retraining stack per pipeline, checked against cdk-nag's AWS Solutions and NIST 800-53 R5 rules."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Tags, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from stacks.config import ConfigError, load_app_config
from stacks.constructs.watermark import UNTAGGED_RESOURCE_TYPES
from stacks.pipeline_stack import STACK_NAME, PipelineStack

PROJECT_ROOT = Path(__file__).resolve().parent
CDK_JSON = PROJECT_ROOT / "cdk.json"


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> App:
    """Build the app from `context` (cdk.json's, merged with CDK_CONTEXT_JSON by App itself).

    Raises ConfigError, naming the pipeline and the field, when the configuration is invalid.
    """
    app = App(context=context, outdir=outdir)
    config = load_app_config(
        pipelines=app.node.try_get_context("pipelines"),
        config_file=app.node.try_get_context("config_file"),
        tags=app.node.try_get_context("tags"),
        project_root=PROJECT_ROOT,
    )
    for pipeline in config.pipelines:
        name = STACK_NAME.format(pipeline=pipeline.name)
        PipelineStack(app, name, stack_name=name, config=pipeline)
    for key, value in config.tags.items():
        Tags.of(app).add(key, value, exclude_resource_types=UNTAGGED_RESOURCE_TYPES)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    return app


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context, which the CDK CLI passes on but `python app.py` must read itself."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text()).get("context", {})
    return context


def main() -> int:
    try:
        app = build_app(cdk_json_context(), outdir=os.environ.get("CDK_OUTDIR"))
    except ConfigError as error:
        # Before synth: no half-written cloud assembly.
        sys.stderr.write(f"config error: {error}\n")
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
