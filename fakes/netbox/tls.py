"""Throw-away TLS material for the fake NetBox: a CA and a server certificate for 127.0.0.1.

Why: the NetBox capability must work with self-signed certificates (verify off, or a custom CA
bundle) and must refuse a certificate it cannot verify; tests prove all three against a real TLS
handshake. Made with the `openssl` command line (the `cryptography` package is not installed in
the project's environment), EC P-256 keys so it takes milliseconds.
"""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

_SERVER_EXTENSIONS = """\
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
"""


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA certificate: what a client's `verify=` / ca_bundle points at
    cert: Path  # the server certificate (signed by the CA, for 127.0.0.1 and localhost)
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """What `FakeNetBox(tls=...)` takes."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def make_certificates(directory: Path, common_name: str = "netbot test CA") -> Certificates:
    """A new CA and a server certificate it signed, as PEM files in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    extensions = directory / "server.ext"
    extensions.write_text(_SERVER_EXTENSIONS)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
             "-subj", f"/CN={common_name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    _openssl("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extensions))  # fmt: skip
    return Certificates(ca, cert, key)
