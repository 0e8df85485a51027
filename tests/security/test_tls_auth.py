"""TLS and basic auth of the running exporter, checked with real TLS clients.

One exporter process requires a client certificate and a password; clients built with
Python's ssl module, httpx and ``openssl s_client`` try the doors.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from secsupport import client_context, launch
from support import ExporterProcess, base_env, wait_for
from tlscerts import Authority, Pair, bcrypt_hash

from exporter.simulator import SimulatorOptions, SimulatorThread

PASSWORD = "correct horse battery staple"
ENDPOINTS = ("/metrics", "/healthz", "/readyz", "/", "/no-such-page")


@dataclass
class Door:
    """The exporter under test and the keys to it."""

    exporter: ExporterProcess
    ca: Authority
    client: Pair
    rogue: Pair  # a client certificate from another CA
    other_ca: Authority

    def good(self) -> ssl.SSLContext:
        return client_context(self.ca.cert, self.client.cert, self.client.key)


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    directory = tmp_path_factory.mktemp("mtls")
    ca = Authority(directory, "trusted")
    other = Authority(directory, "rogue")
    server = ca.issue("server", server=True)
    web = directory / "web.yml"
    web.write_text(
        f"""
tls_server_config:
  cert_file: {server.cert}
  key_file: {server.key}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {ca.cert}
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: {bcrypt_hash(PASSWORD)}
"""
    )
    with SimulatorThread(SimulatorOptions(users=2, ghosts=0)) as sim:
        env = base_env(sim.base_url, user_ids="1001,1002", refresh_interval=1, request_budget=3600)
        process = launch(env, ("--web.config.file", str(web)))
        try:
            yield Door(process, ca, ca.issue("scraper"), other.issue("scraper"), other)
        finally:
            process.stop()


def test_right_certificate_and_password_open_every_endpoint(door: Door) -> None:
    with httpx.Client(verify=door.good(), auth=("prometheus", PASSWORD), timeout=10) as client:
        wait_for(
            lambda: client.get(door.exporter.url + "/readyz").status_code == 200,
            what="first refresh",
        )
        for path in ENDPOINTS[:4]:
            response = client.get(door.exporter.url + path)
            assert response.status_code == 200, path
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "toggl_focus_up 1" in client.get(door.exporter.url + "/metrics").text
        assert client.get(door.exporter.url + "/no-such-page").status_code == 404


@pytest.mark.parametrize("auth", [None, ("prometheus", "wrong"), ("root", PASSWORD)])
def test_wrong_or_missing_password_gets_401_everywhere(
    door: Door, auth: tuple[str, str] | None
) -> None:
    with httpx.Client(verify=door.good(), auth=auth, timeout=10) as client:
        for path in ENDPOINTS:
            response = client.get(door.exporter.url + path)
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
            assert "toggl_focus" not in response.text
            assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_malformed_and_oversized_credentials_are_refused(door: Door) -> None:
    url = door.exporter.url + "/metrics"
    long_password = base64.b64encode(b"prometheus:" + b"x" * 200).decode()
    with httpx.Client(verify=door.good(), timeout=10) as client:
        for header in ("Basic", "Basic !!!", "Bearer abc", f"Basic {long_password}"):
            assert client.get(url, headers={"Authorization": header}).status_code == 401


def test_client_that_does_not_trust_the_server_ca_refuses(door: Door) -> None:
    wrong_ca = client_context(door.other_ca.cert, door.client.cert, door.client.key)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(door.exporter.url + "/healthz", verify=wrong_ca, auth=("prometheus", PASSWORD))


def _refused(context: ssl.SSLContext, url: str) -> None:
    # TLS 1.3 reports a refused client certificate after the handshake, on the first read.
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(url, verify=context, auth=("prometheus", PASSWORD), timeout=10)


def test_no_client_certificate_is_refused(door: Door) -> None:
    _refused(client_context(door.ca.cert), door.exporter.url + "/healthz")


def test_client_certificate_from_another_ca_is_refused(door: Door) -> None:
    _refused(
        client_context(door.ca.cert, door.rogue.cert, door.rogue.key),
        door.exporter.url + "/healthz",
    )


def test_tls_12_client_is_accepted(door: Door) -> None:
    context = client_context(
        door.ca.cert, door.client.cert, door.client.key, maximum=ssl.TLSVersion.TLSv1_2
    )
    response = httpx.get(
        door.exporter.url + "/healthz", verify=context, auth=("prometheus", PASSWORD)
    )
    assert response.status_code == 200


def test_plain_http_to_the_tls_port_gets_nothing(door: Door) -> None:
    url = door.exporter.url.replace("https://", "http://") + "/metrics"
    try:
        response = httpx.get(url, timeout=5)
    except httpx.TransportError:
        return
    assert response.status_code == 400
    assert "toggl_focus" not in response.text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_s_client(door: Door) -> None:
    address = f"127.0.0.1:{door.exporter.port}"
    token = base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode()
    request = (
        f"GET /healthz HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {token}\r\n"
        "Connection: close\r\n\r\n"
    )

    def s_client(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "openssl",
                "s_client",
                "-connect",
                address,
                "-CAfile",
                str(door.ca.cert),
                "-verify_return_error",
                "-ign_eof",
                *extra,
            ],
            input=request,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )

    good = s_client("-cert", str(door.client.cert), "-key", str(door.client.key))
    assert "Verify return code: 0 (ok)" in good.stdout
    assert "HTTP/1.1 200 OK" in good.stdout
    bare = s_client()
    assert "Verify return code: 0 (ok)" in bare.stdout  # the server is fine...
    assert "HTTP/1.1" not in bare.stdout  # ...but answers nothing without a client cert
    old = s_client("-tls1_1", "-cert", str(door.client.cert), "-key", str(door.client.key))
    assert old.returncode != 0
    assert "HTTP/1.1" not in old.stdout
