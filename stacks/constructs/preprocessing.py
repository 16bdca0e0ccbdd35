"""The pipeline's preprocessing: its source directory shipped as an asset, and the access its processing job needs."""

from __future__ import annotations

import json
from pathlib import Path

from constructs import Construct

from stacks.algorithms import preprocessing_image
from stacks.config import PipelineConfig, PreprocessingConfig
from stacks.constructs.data_store import DataStore
from stacks.constructs.sagemaker_role import SageMakerExecutionRole
from stacks.constructs.source_archive import check_code_dir, pack_source, source_asset
from stacks.paths import PROJECT_ROOT


class PreprocessingCode(Construct):
    """The source directory, packed as a tar.gz asset the processing job unpacks and the endpoint serves (code/)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        data: DataStore,
        sagemaker: SageMakerExecutionRole,
        project_root: Path = PROJECT_ROOT,
    ) -> None:
        super().__init__(scope, construct_id)
        preprocessing = config.preprocessing
        if preprocessing is None:
            raise ValueError(f"pipeline {config.name!r} has no preprocessing")
        self.settings = preprocessing
        source = check_source_dir(preprocessing, project_root=project_root, pipeline=config.name)
        # The processing job's code input is an S3Prefix, which SageMaker lists before it downloads.
        self.asset = source_asset(self, "Source", source=source, reader=sagemaker.role, listed=True)
        self.image = preprocessing_image(scope, config)
        # The job writes each run's train/ and model/; training reads train/, the endpoint model/model.tar.gz.
        data.grant_put(sagemaker.role, preprocessing.output_prefix)
        data.grant_get(sagemaker.role, preprocessing.output_prefix)
        data.grant_list(sagemaker.role, preprocessing.output_prefix)

    def spec_json(self) -> str:
        """The PREPROCESSING environment variable of the steps that start, train on, or serve the preprocessing."""
        settings = self.settings
        return json.dumps(
            {
                "code_uri": self.asset.s3_object_url,
                "entry_point": settings.entry_point,
                "postprocess_entry_point": settings.postprocess_entry_point,
                "image": self.image,
                "instance_type": settings.instance_type,
                "volume_size_gb": settings.volume_size_gb,
                "max_runtime_seconds": settings.max_runtime_seconds,
                "output_prefix": settings.output_prefix,
            },
            sort_keys=True,
        )


def check_source_dir(preprocessing: PreprocessingConfig, *, project_root: Path, pipeline: str) -> Path:
    """The source directory, once it is inside the project and holds the configured scripts; raise ConfigError
    naming what is missing."""
    scripts = [("entry_point", preprocessing.entry_point)]
    if preprocessing.postprocess_entry_point:
        scripts.append(("postprocess_entry_point", preprocessing.postprocess_entry_point))
    where = f"pipeline {pipeline!r}: preprocessing"
    return check_code_dir(preprocessing.source_dir, scripts, where=where, project_root=project_root)


__all__ = ["PreprocessingCode", "check_source_dir", "pack_source"]
