"""The cold-start benchmark's reading of the cloud assembly and its Lambda-like interpreter layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.cold_start import asset_directory, check_origins, functions_of, top_level_modules, tree_size
from stacks.constructs.lambda_assets import RUNTIME_PROVIDED_DISTRIBUTIONS


def staged(outdir: Path, digest: str, files: dict[str, bytes]) -> None:
    for name, body in files.items():
        path = outdir / f"asset.{digest}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def template(handler: str = "lambdas.check_data.handler.lambda_handler") -> dict[str, Any]:
    return {
        "Resources": {
            "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Key": "bbb.zip"}}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": handler,
                    "Code": {"S3Bucket": {"Fn::Sub": "cdk-assets"}, "S3Key": "aaa.zip"},
                    "Layers": [{"Ref": "Layer"}],
                    "MemorySize": 1024,
                    "Environment": {
                        "Variables": {"POWERTOOLS_SERVICE_NAME": "retraining", "DATA_BUCKET": {"Ref": "B"}}
                    },
                },
            },
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        }
    }


def test_functions_are_read_with_their_code_and_layer_directories(tmp_path: Path) -> None:
    staged(tmp_path, "aaa", {"lambdas/__init__.py": b"", "lambdas/check_data/handler.py": b"x = 1\n"})
    staged(tmp_path, "bbb", {"python/slack_sdk/__init__.py": b"#" * 1000})

    (function,) = functions_of(template(), tmp_path)

    assert function.step == "check_data"
    assert function.module == "lambdas.check_data.handler"
    assert function.code == tmp_path / "asset.aaa"
    assert function.layers == (tmp_path / "asset.bbb",)
    assert function.bundle_bytes() == 6 + 1000
    assert function.memory_mb == 1024
    assert function.environment["POWERTOOLS_SERVICE_NAME"] == "retraining"
    assert function.environment["DATA_BUCKET"] == "bench-data_bucket"  # an intrinsic: a placeholder at import


def test_a_function_whose_asset_is_not_staged_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not staged"):
        list(functions_of(template(), tmp_path))
    with pytest.raises(ValueError, match="not a file asset"):
        asset_directory(tmp_path, {"Fn::Sub": "x"})


def test_tree_size_counts_files_only(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one").write_bytes(b"123")
    (tmp_path / "a" / "b" / "two").write_bytes(b"45")

    assert tree_size(tmp_path) == 5


def test_runtime_packages_are_boto3_and_its_dependencies_by_import_name() -> None:
    modules = top_level_modules(RUNTIME_PROVIDED_DISTRIBUTIONS)

    assert {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"} <= set(modules)
    assert "aws_lambda_powertools" not in modules
    assert "moto" not in modules


def test_origins_must_be_where_lambda_loads_them(tmp_path: Path) -> None:
    roots = {"code": tmp_path / "code", "layer": tmp_path / "layer", "runtime": tmp_path / "runtime"}
    origins = {
        "lambdas": str(tmp_path / "code/lambdas/__init__.py"),
        "aws_lambda_powertools": str(tmp_path / "layer/aws_lambda_powertools/__init__.py"),
        "boto3": str(tmp_path / "runtime/boto3/__init__.py"),
    }

    check_origins(origins, roots)
    with pytest.raises(RuntimeError, match="aws_lambda_powertools was imported from /elsewhere"):
        check_origins({**origins, "aws_lambda_powertools": "/elsewhere/aws_lambda_powertools/__init__.py"}, roots)
    with pytest.raises(RuntimeError, match="boto3 was imported from None"):
        check_origins({**origins, "boto3": None}, roots)  # type: ignore[dict-item]
