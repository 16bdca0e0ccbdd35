"""The STS proxy: STS at its AWS address, over TLS the CA bundle trusts, answered by the local AWS."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import certifi
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from local_runtime.server import LocalAws
from local_runtime.sts_proxy import Authority, StsProxy, ca_bundle, is_sts_host

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StsProxy]:
    with LocalAws() as aws:
        sts_proxy = StsProxy(tmp_path_factory.mktemp("sts-proxy"), upstream_port=aws.port).start()
        yield sts_proxy
        sts_proxy.stop()


def sts_through(proxy: StsProxy, endpoint_url: str) -> Any:
    """An STS client as the SageMaker SDK makes it (an explicit AWS endpoint), with the exported proxy and bundle."""
    return boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1").client(
        "sts",
        endpoint_url=endpoint_url,
        verify=proxy.exports()["AWS_CA_BUNDLE"],
        config=Config(proxies={"https": proxy.exports()["HTTPS_PROXY"]}),
    )


@pytest.mark.parametrize("endpoint_url", ["https://sts.us-east-1.amazonaws.com", "https://sts.amazonaws.com"])
def test_the_sdks_sts_endpoint_is_answered_by_the_local_aws(proxy: StsProxy, endpoint_url: str) -> None:
    # GIVEN the proxy in front of a local AWS
    # WHEN an STS client with AWS's own endpoint asks who it is, through the proxy, trusting the bundle
    identity = sts_through(proxy, endpoint_url).get_caller_identity()

    # THEN the local account answers, over TLS verified against the bundle
    assert identity["Account"] == ACCOUNT


def test_only_sts_hosts_are_answered_locally() -> None:
    assert is_sts_host("sts.us-east-1.amazonaws.com")
    assert is_sts_host("sts.amazonaws.com")
    assert is_sts_host("STS.eu-west-1.amazonaws.com")
    assert not is_sts_host("s3.us-east-1.amazonaws.com")
    assert not is_sts_host("sts.us-east-1.amazonaws.com.example.org")
    assert not is_sts_host("pypi.org")


def test_a_plain_request_is_refused_in_one_line(proxy: StsProxy) -> None:
    # GIVEN the proxy
    host, port = proxy.url.removeprefix("http://").split(":")
    # WHEN it gets a plain HTTP request instead of a CONNECT
    with socket.create_connection((host, int(port))) as client:
        client.sendall(b"GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n")
        answer = client.recv(4096).decode()

    # THEN it answers 405 with its reason on one line
    assert answer.startswith("HTTP/1.1 405 Method Not Allowed")
    assert answer.endswith("local AWS STS proxy: this proxy only tunnels HTTPS (CONNECT host:443)\n")


def test_a_host_certificate_is_issued_by_the_authority_for_that_name() -> None:
    # GIVEN an authority
    authority = Authority.create()

    # WHEN it issues a certificate for an STS host
    certificate = x509.load_pem_x509_certificate(authority.issue("sts.us-east-1.amazonaws.com")[0])

    # THEN the name is in the SAN, it is for servers, and the authority's key signed it
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["sts.us-east-1.amazonaws.com"]
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    certificate.verify_directly_issued_by(authority.certificate)


def test_the_bundle_keeps_certifis_authorities_and_adds_the_local_one() -> None:
    # GIVEN an authority
    authority = Authority.create()

    # WHEN the CA bundle is made
    bundle = ca_bundle(authority.pem())

    # THEN every public authority is still there, and the local one last
    assert bundle.startswith(Path(certifi.where()).read_bytes().rstrip(b"\n"))
    assert bundle.endswith(authority.pem())
