"""The user's evaluation script: its source directory shipped as an asset, and the access its processing job needs."""

from __future__ import annotations

import json
from pathlib import Path

from constructs import Construct

from stacks.algorithms import evaluation_script_image
from stacks.config import PipelineConfig
from stacks.constructs.sagemaker_role import SageMakerExecutionRole
from stacks.constructs.source_archive import check_code_dir, source_asset
from stacks.paths import PROJECT_ROOT


class EvaluationScriptCode(Construct):
    """The source directory, packed as a tar.gz asset the evaluation's processing job unpacks and runs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        sagemaker: SageMakerExecutionRole,
        project_root: Path = PROJECT_ROOT,
    ) -> None:
        super().__init__(scope, construct_id)
        script = config.evaluation_script
        if script is None:
            raise ValueError(f"pipeline {config.name!r} has no evaluation script")
        self.config = config
        source = check_code_dir(
            script.source_dir,
            [("entry_point", script.entry_point)],
            where=f"pipeline {config.name!r}: evaluation.script",
            project_root=project_root,
        )
        # The processing job's code input is an S3Prefix, which SageMaker lists before it downloads.
        self.asset = source_asset(self, "Source", source=source, reader=sagemaker.role, listed=True)
        self.image = evaluation_script_image(scope, config)

    def env_json(self) -> str:
        """The EVALUATION variable of the steps that start, wait for, read and clean up the script's evaluation."""
        config = self.config
        script = config.evaluation_script
        assert script is not None
        return json.dumps(
            {
                "kind": "script",
                "task": config.model_task,  # how flat metrics are grouped in the model-quality statistics
                "instance_type": config.evaluation.instance_type,
                "output_prefix": config.evaluation_prefix,
                "max_wait_seconds": config.evaluation.max_wait_seconds,
                "script": {
                    "code_uri": self.asset.s3_object_url,
                    "entry_point": script.entry_point,
                    "image": self.image,
                    "volume_size_gb": script.volume_size_gb,
                },
            },
            sort_keys=True,
        )
