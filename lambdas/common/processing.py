"""What the steps that start SageMaker Processing jobs (the preprocessing, the evaluation script) share."""

from __future__ import annotations

from typing import Any


def s3_input(name: str, uri: str, data_type: str, local_path: str) -> dict[str, Any]:
    """A ProcessingInput downloading `uri` (an S3Prefix or a ManifestFile) to `local_path` before the job starts."""
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "S3DataType": data_type,
            "LocalPath": local_path,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }
