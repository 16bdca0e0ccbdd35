"""Which containers a model's worker chain runs: a container naming a model package runs the package's."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from local_runtime.sagemaker.workers import DeploymentError, model_containers, package_containers

PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/group/1"
PACKAGED = {"Image": "xgboost:1.7-1", "ModelDataUrl": "s3://bucket/model.tar.gz", "Environment": {"A": "1", "B": "1"}}


def describe(name: str) -> Any:
    if name != PACKAGE_ARN:
        raise ValueError(f"Model package {name} not found")
    return SimpleNamespace(inference_specification={"Containers": [PACKAGED]})


@pytest.mark.compatibility("sagemaker:model-packages")
def test_a_container_naming_a_package_runs_the_packages_image_and_artifact() -> None:
    # GIVEN a model created by ModelPackage.deploy: its one container names the package, with an Environment
    model = SimpleNamespace(
        model_name="m",
        primary_container={"ModelPackageName": PACKAGE_ARN, "Environment": {"B": "2"}},
        containers=[],
    )

    # WHEN its containers are resolved
    containers = model_containers(model, describe)

    # THEN the package's container runs, the model's Environment over the package's
    assert containers == [{**PACKAGED, "Environment": {"A": "1", "B": "2"}}]


def test_a_container_with_an_image_runs_as_given() -> None:
    container = {"Image": "linear-learner:1", "ModelDataUrl": "s3://bucket/ll.tar.gz"}

    assert package_containers(container, describe) == [container]


@pytest.mark.parametrize(
    ("name", "describer", "reason"),
    [
        ("missing", describe, "Could not find model package missing"),
        (PACKAGE_ARN, lambda _: SimpleNamespace(inference_specification=None), "has no InferenceSpecification"),
    ],
)
def test_a_package_that_cannot_be_served_fails_the_deployment_saying_why(
    name: str, describer: Any, reason: str
) -> None:
    with pytest.raises(DeploymentError, match=reason):
        package_containers({"ModelPackageName": name}, describer)
