"""The stack's HTTPS listener, locally: a certificate from a local CA, HTTP redirected as the stack's
port 80 does, the listener told to the function, and TLS versions as the stack's sslPolicy allows."""

from __future__ import annotations

import http.client
import json
import shlex
import ssl
from pathlib import Path

import pytest

from localalb.config import load_stack
from localalb.server import make_server
from tests.test_localalb_cli import copy_test_project, serving


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_test_project(tmp_path_factory.mktemp("https"))


@pytest.fixture(scope="module")
def tls(project):
    with serving(project, "tls") as server:
        yield server


def client_context(server, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(server.tls.ca_file))
    if version is not None:
        context.minimum_version = context.maximum_version = version
    return context


def https_get(server, path: str, context: ssl.SSLContext | None = None):
    conn = http.client.HTTPSConnection(
        "localhost", server.https_port, timeout=10, context=context or client_context(server)
    )
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def test_https_serves_the_rules_with_a_certificate_the_local_ca_signed(tls):
    status, _, body = https_get(tls, "/echo?a=1")
    assert status == 200
    headers = json.loads(body)["headers"]
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-port"] == str(tls.https_port)


def test_http_answers_as_port_80_does_a_301_to_https_with_the_same_host_path_and_query(tls):
    conn = http.client.HTTPConnection("127.0.0.1", tls.port, timeout=10)
    conn.request("GET", "/some/path?q=1&r=%20x", headers={"Host": f"app.localhost:{tls.port}"})
    response = conn.getresponse()
    assert response.status == 301
    assert response.getheader("location") == f"https://app.localhost:{tls.https_port}/some/path?q=1&r=%20x"
    conn.close()


def test_the_access_log_names_the_listener_and_the_tls_session(tls):
    https_get(tls, "/echo?logged=1")
    tls.app.access_log.flush()
    line = next(line for line in tls.app.access_log.path.read_text().splitlines() if "logged=1" in line)
    fields = shlex.split(line)  # quoted fields hold spaces
    assert fields[0] == "https"
    assert fields[15] in ("TLSv1.2", "TLSv1.3") and fields[14] != "-"  # ssl_protocol, ssl_cipher


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_1_2_is_accepted_and_1_1_refused_by_the_default_policy(tls):
    assert https_get(tls, "/state", client_context(tls, ssl.TLSVersion.TLSv1_2))[0] == 200
    old = client_context(tls, ssl.TLSVersion.TLSv1_1)
    old.set_ciphers("ALL:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    with pytest.raises(ssl.SSLError):
        https_get(tls, "/", old)


def test_a_tls_1_3_policy_refuses_1_2_and_without_http_redirect_there_is_no_port_80(project):
    with serving(project, "tls13", logs="logs13") as server:
        assert server.port is None
        assert https_get(server, "/state", client_context(server, ssl.TLSVersion.TLSv1_3))[0] == 200
        with pytest.raises(ssl.SSLError):
            https_get(server, "/", client_context(server, ssl.TLSVersion.TLSv1_2))


def test_the_local_ca_is_kept_so_it_is_trusted_once(project, tls):
    assert tls.tls is not None
    ca = tls.tls.ca_file.read_bytes()
    again = make_server(load_stack(project, "tls"), log_dir=project / "logs2", quiet=True)
    try:
        assert again.tls is not None
        assert again.tls.ca_file.read_bytes() == ca
        assert oct(again.tls.ca_file.with_name("ca-key.pem").stat().st_mode & 0o777) == "0o600"
    finally:
        again.stop()  # never started: closes its sockets
