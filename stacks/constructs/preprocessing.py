"""The pipeline's preprocessing: its source directory shipped as an asset, and the access its processing job needs."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tempfile
from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.algorithms import preprocessing_image
from stacks.config import ConfigError, PipelineConfig, PreprocessingConfig
from stacks.constructs.data_store import DataStore
from stacks.constructs.sagemaker_role import SageMakerExecutionRole
from stacks.paths import PROJECT_ROOT

# Never shipped: caches and bytecode of the host's Python, which the container's Python would not use.
_EXCLUDED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".DS_Store"})


class PreprocessingCode(Construct):
    """The source directory, packed as a tar.gz asset the processing job unpacks and the endpoint serves (code/).

    The archive is byte-for-byte reproducible (sorted entries, no timestamps or owners), so its asset hash, and
    with it the template, changes only when the code does.
    """

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
        archive = Path(tempfile.mkdtemp(prefix="preprocessing-")) / "sourcedir.tar.gz"
        archive.write_bytes(pack_source(source))
        self.asset = s3_assets.Asset(self, "Source", path=str(archive))
        # The one object, without Asset.grant_read's wildcards (s3:GetObject*, s3:List* on the bootstrap bucket).
        sagemaker.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"arn:{Aws.PARTITION}:s3:::{self.asset.s3_bucket_name}/{self.asset.s3_object_key}"],
            )
        )
        # The processing job's code input is an S3Prefix, which SageMaker lists before it downloads: the listing of
        # that one key, as the local runtime's IAM enforcement found (403 on the list otherwise).
        sagemaker.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[f"arn:{Aws.PARTITION}:s3:::{self.asset.s3_bucket_name}"],
                conditions={"StringEquals": {"s3:prefix": self.asset.s3_object_key}},
            )
        )
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
    """The source directory, once it holds the configured scripts; raise ConfigError naming what is missing."""
    source = project_root / preprocessing.source_dir
    where = f"pipeline {pipeline!r}: preprocessing"
    if not source.is_dir():
        raise ConfigError(f"{where}.source_dir {preprocessing.source_dir!r} is not a directory under {project_root}")
    scripts = [("entry_point", preprocessing.entry_point)]
    if preprocessing.postprocess_entry_point:
        scripts.append(("postprocess_entry_point", preprocessing.postprocess_entry_point))
    for field, script in scripts:
        if not (source / script).is_file():
            raise ConfigError(f"{where}.{field} {script!r} is not a file in {preprocessing.source_dir}")
    return source


def pack_source(source: Path) -> bytes:
    """A reproducible tar.gz of the directory's files, paths relative to it."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if _EXCLUDED_NAMES.intersection(relative.parts) or path.suffix == ".pyc" or not path.is_file():
                continue
            info = tarfile.TarInfo(relative.as_posix())
            info.size = path.stat().st_size
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.mtime = 0
            with path.open("rb") as content:
                tar.addfile(info, content)
    return buffer.getvalue()
