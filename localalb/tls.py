"""The HTTPS listener's certificate and TLS settings, made locally.

A local certificate authority (trustme, on cryptography) is created once per stack under
``.localalb/<stack>/`` and reused, so trusting its ``ca.pem`` once is enough; the server's own
certificate is issued from it at every start, for the names the listener is reached by.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class LocalTls:
    """The server's TLS context and the CA file a client must trust."""

    context: ssl.SSLContext
    ca_file: Path


def minimum_version(ssl_policy: str) -> ssl.TLSVersion:
    """The oldest TLS version an ELB security policy accepts.

    The policies the settings allow are ELB's TLS 1.3 policies: ``...-TLS13-1-3-...`` accepts TLS
    1.3 only, every other one TLS 1.2 and 1.3 (TLS 1.0 and 1.1 are refused by all of them).
    """
    return ssl.TLSVersion.TLSv1_3 if "-TLS13-1-3-" in ssl_policy else ssl.TLSVersion.TLSv1_2


def local_ca(folder: Path) -> trustme.CA:
    """The stack's local CA: read from ``folder`` when it exists, created there otherwise."""
    cert, key = folder / CA_FILE, folder / CA_KEY_FILE
    if cert.is_file() and key.is_file():
        return trustme.CA.from_pem(cert.read_bytes(), key.read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="localalb development CA")
    # The key can sign certificates your machine trusts once you trust the CA: only you may read it.
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(ca.private_key_pem.bytes())
    cert.write_bytes(ca.cert_pem.bytes())
    return ca


def server_tls(folder: Path, host: str, ssl_policy: str) -> LocalTls:
    """A server context for ``host`` (plus localhost names) with the policy's TLS versions."""
    ca = local_ca(folder)
    names = list(LOCAL_NAMES)
    if host not in names and not _unspecified(host):
        names.append(host)
    leaf = ca.issue_cert(*names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = minimum_version(ssl_policy)
    context.set_alpn_protocols(["http/1.1"])
    leaf.configure_cert(context)
    return LocalTls(context, folder / CA_FILE)


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False
