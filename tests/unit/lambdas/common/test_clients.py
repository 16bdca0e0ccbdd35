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


def test_other_credentials_get_their_own_client_signed_with_them(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a client built while one function's credentials are in the environment
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAFIRSTFUNCTION000")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "first-token")
    first = clients().s3

    # WHEN another function runs with its own
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIASECONDFUNCTION00")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "second-token")
    second = clients().s3

    # THEN each client signs with the credentials of the function it was built for
    assert first is not second
    assert first._request_signer._credentials.access_key == "ASIAFIRSTFUNCTION000"
    assert (second._request_signer._credentials.access_key, second._request_signer._credentials.token) == (
        "ASIASECONDFUNCTION00",
        "second-token",
    )
