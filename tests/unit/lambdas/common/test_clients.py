"""The handlers' cached clients: one per service, region and endpoint."""

from __future__ import annotations

import pytest

from lambdas.common.clients import clients


def test_a_client_is_built_once_for_the_same_service_region_and_endpoint(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")

    assert clients().s3 is clients().s3
    assert clients().s3 is not clients().ssm


def test_another_endpoint_or_region_gets_its_own_client(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a client built for one local server
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    first = clients().sagemaker

    # WHEN the handlers run against another server, then in another region
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4567")
    other_server = clients().sagemaker
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):  # Lambda sets both
        monkeypatch.setenv(name, "eu-west-1")
    other_region = clients().sagemaker

    # THEN each call goes where the environment says (a client keeps the endpoint and region it was built with)
    assert first.meta.endpoint_url == "http://127.0.0.1:4566"
    assert other_server.meta.endpoint_url == "http://127.0.0.1:4567"
    assert (other_region.meta.endpoint_url, other_region.meta.region_name) == ("http://127.0.0.1:4567", "eu-west-1")
