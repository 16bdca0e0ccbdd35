"""STS at its AWS address, answered by the local runtime: the SageMaker SDK's own STS calls.

The SageMaker Python SDK (v2's sagemaker.utils and v3's sagemaker.core.helper.session_helper,
`sts_regional_endpoint`) creates its STS client with an explicit `endpoint_url="https://sts.<region>.amazonaws.com"`,
which beats AWS_ENDPOINT_URL: `get_caller_identity_arn()`, `account_id()` (an unnamed `default_bucket()`) and
`get_execution_role()` go to AWS whatever the user exports. The hostname comes from botocore's endpoints.json
through `botocore.loaders.create_loader()` without a search path, so AWS_DATA_PATH does not reach it (only
~/.aws/models would, for every client of the user's).

What botocore does honour for any client is an HTTPS proxy (botocore.endpoint: `get_environ_proxies`, the standard
HTTPS_PROXY/NO_PROXY variables) and AWS_CA_BUNDLE. This proxy answers a CONNECT to an STS host itself: it ends TLS
with a certificate for that host from an authority made at start, which AWS_CA_BUNDLE adds to certifi's, and
relays the requests to the local AWS. A CONNECT to any other host is tunnelled to that host unchanged.
`cryptography` comes with moto.
"""

from __future__ import annotations

import datetime
import re
import select
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# sts.amazonaws.com and sts.<region>.amazonaws.com (the SDK's regional endpoint, sts_regional_endpoint).
STS_HOST = re.compile(r"^sts(\.[a-z0-9-]+)?\.amazonaws\.com$")
CERTIFICATE_DAYS = 30  # the authority and its certificates are made anew at every start
RELAY_BYTES = 65536


def is_sts_host(host: str) -> bool:
    return STS_HOST.fullmatch(host.lower()) is not None


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local AWS (sagemaker-retraining serve)")])
        certificate = (
            _builder(name, name, key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signs_certificates=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, host: str) -> tuple[bytes, bytes]:
        """A server certificate for `host` (its DNS name in the SAN, which clients check) and its key, PEM."""
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]), self.certificate.subject, key)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signs_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def ca_bundle(authority_pem: bytes) -> bytes:
    """certifi's authorities and the local one: botocore still verifies any real host it reaches."""
    return Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n" + authority_pem


class StsProxy:
    """An HTTPS proxy on a loopback port: STS hosts answered by the local AWS at `upstream_port`."""

    def __init__(self, directory: Path, upstream_port: int, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = directory
        self.upstream = (host, upstream_port)
        self.authority = Authority.create()
        self.bundle = directory / "ca-bundle.pem"
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._server = _Server((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def exports(self) -> dict[str, str]:
        """What a shell exports for the SDK's STS calls to reach the local AWS."""
        return {"HTTPS_PROXY": self.url, "AWS_CA_BUNDLE": str(self.bundle)}

    def start(self) -> StsProxy:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.bundle.write_bytes(ca_bundle(self.authority.pem()))
        self._thread = threading.Thread(target=self._server.serve_forever, name="sts-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def context(self, host: str) -> ssl.SSLContext:
        """The TLS context for `host`, its certificate issued on first use (ssl loads chains from files only)."""
        with self._lock:
            if host not in self._contexts:
                certificate, key = self.authority.issue(host)
                certificate_file, key_file = self.directory / f"{host}.pem", self.directory / f"{host}.key"
                certificate_file.write_bytes(certificate)
                key_file.touch(mode=0o600)
                key_file.write_bytes(key)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(certificate_file, key_file)
                self._contexts[host] = context
            return self._contexts[host]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], proxy: StsProxy) -> None:
        self.proxy = proxy
        super().__init__(address, handler)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        request_line = self.rfile.readline(8192).decode("latin-1").split()
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass  # the CONNECT request's headers: nothing in them matters here
        if len(request_line) != 3 or request_line[0] != "CONNECT":
            self._answer("405 Method Not Allowed", "this proxy only tunnels HTTPS (CONNECT host:443)")
            return
        host, _, port = request_line[1].rpartition(":")
        try:
            upstream = socket.create_connection(self.server.proxy.upstream if is_sts_host(host) else (host, int(port)))
        except (OSError, ValueError) as error:
            self._answer("502 Bad Gateway", f"cannot reach {request_line[1]}: {error}")
            return
        with upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            client = self.connection
            if is_sts_host(host):  # ended here, relayed in clear to the local AWS
                client = self.server.proxy.context(host).wrap_socket(client, server_side=True)
            _relay(client, upstream)

    def _answer(self, status: str, reason: str) -> None:
        body = f"local AWS STS proxy: {reason}\n".encode()
        head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode() + body)


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Both directions until either side closes (a TLS socket may hold decrypted bytes select does not see)."""
    sockets: list[socket.socket] = [client, upstream]
    while True:
        ready: list[socket.socket] = [client] if isinstance(client, ssl.SSLSocket) and client.pending() else []
        if not ready:
            ready, _, _ = select.select(sockets, [], [], 60)
            if not ready:
                return
        for source in ready:
            data = source.recv(RELAY_BYTES)
            if not data:
                return
            (upstream if source is client else client).sendall(data)


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
    )


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )
