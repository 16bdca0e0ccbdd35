"""A source directory shipped as a reproducible `sourcedir.tar.gz` file asset that only SageMaker's role may read.

No Docker and no bundling: the archive is written at synth time and CDK uploads it as a file asset. It is
byte-for-byte reproducible (sorted entries, mtime 0, uid/gid 0 and no owner names, no gzip timestamp), so its asset
hash, and with it the template, changes only when the code does.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.config import ConfigError

# The archive's name the SageMaker Python SDK gives the code it uploads (sagemaker/fw_utils.py, tar_and_upload_dir).
ARCHIVE_NAME = "sourcedir.tar.gz"
# Never shipped: caches and bytecode of the host's Python, which the container's Python would not use.
_EXCLUDED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".DS_Store"})


def check_code_dir(source_dir: str, scripts: Sequence[tuple[str, str]], *, where: str, project_root: Path) -> Path:
    """The source directory, once it is inside the project and holds each (field, script) of `scripts`; raise
    ConfigError naming the field otherwise (`where` is the config section: `pipeline 'churn': preprocessing`)."""
    root = project_root.resolve()
    source = (project_root / source_dir).resolve()
    if not source.is_relative_to(root):
        raise ConfigError(f"{where}.source_dir {source_dir!r} resolves to {source}, outside the project {root}")
    if not source.is_dir():
        raise ConfigError(f"{where}.source_dir {source_dir!r} is not a directory under {root}")
    for field, script in scripts:
        if not (source / script).is_file():
            raise ConfigError(f"{where}.{field} {script!r} is not a file in {source_dir}")
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


def source_asset(
    scope: Construct, construct_id: str, *, source: Path, reader: iam.IRole, listed: bool = False
) -> s3_assets.Asset:
    """The directory packed as an asset, and s3:GetObject on that one object for `reader`; with `listed`, also the
    listing of that one key (an S3Prefix input, as a processing job's, is listed before it is downloaded: the local
    runtime's IAM enforcement showed the 403 without it)."""
    archive = Path(tempfile.mkdtemp(prefix="sourcedir-")) / ARCHIVE_NAME
    archive.write_bytes(pack_source(source))
    asset = s3_assets.Asset(scope, construct_id, path=str(archive))
    # The one object, without Asset.grant_read's wildcards (s3:GetObject*, s3:List* on the bootstrap bucket).
    reader.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[f"arn:{Aws.PARTITION}:s3:::{asset.s3_bucket_name}/{asset.s3_object_key}"],
        )
    )
    if listed:
        reader.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[f"arn:{Aws.PARTITION}:s3:::{asset.s3_bucket_name}"],
                conditions={"StringEquals": {"s3:prefix": asset.s3_object_key}},
            )
        )
    return asset
