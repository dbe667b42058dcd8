"""A loopback fake of the Azure Resource Manager endpoints `modelfleet quota` reads, over TLS.

The Azure SDK's bearer-token policy refuses plain HTTP, so the fake serves HTTPS with a
self-signed certificate for 127.0.0.1 made on the fly (the `cryptography` package); clients
trust it through `connection_verify=<ca file>`. Routes are (method, path) → (status, JSON body);
every request is recorded with its query string and Authorization header.
Response shapes follow azure-rest-api-specs: Microsoft.Compute `Usage_List` and
`ResourceSkus_List`, Microsoft.MachineLearningServices `Usages_List` and `VirtualMachineSizes_List`.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken


class FakeCredential:
    """A TokenCredential that hands out a fixed token and records the scopes asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("fake-arm-token", int(datetime.datetime.now(datetime.UTC).timestamp()) + 3600)


@dataclass
class FakeArm:
    url: str
    ca_file: str
    routes: dict[tuple[str, str], tuple[int, Any]]
    seen: list[dict[str, Any]] = field(default_factory=list)


def _certificate(directory: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "arm.crt", directory / "arm.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@contextmanager
def fake_arm(directory: Path, routes: dict[tuple[str, str], tuple[int, Any]]) -> Iterator[FakeArm]:
    cert_file, key_file = _certificate(directory)
    state = FakeArm("", cert_file, routes)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            parts = urlsplit(self.path)
            state.seen.append({"method": "GET", "path": parts.path, "query": parse_qs(parts.query),
                               "authorization": self.headers.get("Authorization")})
            status, body = state.routes.get(("GET", parts.path), (404, {"error": {"code": "NotFound", "message": f"no route {parts.path}"}}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", "fake")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
