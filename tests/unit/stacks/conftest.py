"""The app as app.py builds it, synthesized once for every compliance, IAM and encryption test of the templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from aws_cdk.cx_api import CloudAssembly

from app import build_app
from tests.unit.stacks.synth import pipeline, pipeline_template, synth_context

# Both shapes of a pipeline, so every construct and every conditional branch is checked.
PIPELINES = [
    pipeline(
        triggers={
            "new_data": {"quiet_seconds": 300, "max_delay_seconds": 3600},
            "events": [{"name": "features-ready", "pattern": {"source": ["my.etl"], "detail-type": ["Job Succeeded"]}}],
        }
    ),
    pipeline(
        name="churn",
        data_bucket={"name": "existing-data-bucket"},
        data_prefix="raw/churn",
        algorithm={"image_uri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:2.1"},
        slack={
            "channel": "#ml-alerts",
            "token_secret_name": "slack/ml-bot",
            "token_kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        },
        quality_gate={"metric": "validation:auc", "direction": "maximize", "threshold": 0.7},
        registry={"approval": "manual", "approval_timeout_hours": 48},
        rollout={"strategy": "canary", "canary_percent": 25, "wait_seconds": 300},
        # autoscaling: Application Auto Scaling permissions on DeployModel, GetStatus and SmokeTest
        endpoint={"autoscaling": {"min": 1, "max": 4, "target_invocations_per_instance": 200}},
        alerts={"email": ["ml-ops@example.com"]},
        preprocessing={
            "source_dir": "examples/churn/preprocessing",
            "postprocess_entry_point": "postprocess.py",
            "image_uri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/sklearn:1.2",
        },
        batch_transform={"predictions_prefix": "predictions/churn"},
        triggers={
            "events": [
                {"name": "features-ready", "pattern": {"source": ["my.etl"], "detail": {"job": [{"prefix": "feat"}]}}},
                {"name": "labels-ready", "pattern": {"source": ["my.labels"]}},
            ]
        },
    ),
    # A framework's script: its sourcedir.tar.gz asset, the SageMaker role's read of it, metric definitions; spot
    # training, whose checkpoint folders the SageMaker role lists and deletes in.
    pipeline(
        name="fraud",
        training={"max_runtime_seconds": 3_600, "spot": {"max_wait_seconds": 7_200}},
        data_bucket={"name": "existing-data-bucket"},
        data_prefix="raw/fraud",
        algorithm={
            "framework": "sklearn",
            "version": "1.2-1",
            "source_dir": "examples/churn/preprocessing",
            "entry_point": "preprocess.py",
            "metric_definitions": [{"Name": "validation:f1", "Regex": "f1=([0-9.]+)"}],
            "environment": {"MODEL_SERVER_WORKERS": "2"},
        },
        quality_gate={"metric": "validation:f1", "direction": "maximize", "threshold": 0.6},
    ),
]


@dataclass(frozen=True)
class Synthesized:
    app: App
    assembly: CloudAssembly

    @property
    def template_paths(self) -> list[Path]:
        return [Path(stack.template_full_path) for stack in self.assembly.stacks]

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        """Each stack's template by stack name."""
        return {stack.stack_name: stack.template for stack in self.assembly.stacks}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app as app.py builds it (both cdk-nag packs registered), synthesized once without bundling."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(synth_context(pipelines=PIPELINES), outdir=str(outdir))
    # Synth runs the registered cdk-nag plugins too.
    return Synthesized(app=app, assembly=app.synth())


@pytest.fixture(scope="session")
def demo_template() -> Template:
    """The demo pipeline of cdk.json (created bucket, Linear Learner, no Slack), synthesized once for the modules
    that only read it: a synth costs seconds, and a Template is read-only."""
    return pipeline_template(pipeline())
