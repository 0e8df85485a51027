"""The web config is re-read while running: new certificates, CAs and passwords take effect
for new connections; an invalid new version is logged and the previous one kept."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from secsupport import client_context, launch
from support import base_env, wait_for
from tlscerts import Authority, Pair, bcrypt_hash

from exporter.simulator import Simulator, SimulatorOptions, SimulatorThread

RELOAD_TIMEOUT = 20.0
FIRST, SECOND, THIRD = "pw-first-7781", "pw-second-7782", "pw-third-7783"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Simulator]:
    with SimulatorThread(SimulatorOptions(users=1, ghosts=0)) as sim:
        yield sim


def env_for(sim: Simulator) -> dict[str, str]:
    return base_env(sim.base_url, user_ids="1001", refresh_interval=1, request_budget=3600)


def replace(path: Path, data: bytes) -> None:
    """Write a file the way tools and Kubernetes do: a new file renamed over the old one."""
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def tls_config(server: Pair, client_ca: Path, extra: str = "") -> str:
    return (
        f"tls_server_config:\n  cert_file: {server.cert}\n  key_file: {server.key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {client_ca}\n{extra}"
    )


def answers(url: str, context: ssl.SSLContext) -> bool:
    try:
        return httpx.get(url, verify=context, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.slow
def test_server_certificate_and_client_ca_are_rotated(tmp_path: Path, upstream: Simulator) -> None:
    old_ca, new_ca = Authority(tmp_path, "old"), Authority(tmp_path, "new")
    clients_a, clients_b = Authority(tmp_path, "clients-a"), Authority(tmp_path, "clients-b")
    client_a, client_b = clients_a.issue("scraper"), clients_b.issue("scraper")
    serving = old_ca.issue("server", server=True)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    client_ca = tmp_path / "client-ca.crt"
    cert.write_bytes(serving.cert.read_bytes())
    key.write_bytes(serving.key.read_bytes())
    client_ca.write_bytes(clients_a.pem())
    web = tmp_path / "web.yml"
    web.write_text(tls_config(Pair(cert, key), client_ca))
    process = launch(env_for(upstream), ("--web.config.file", str(web)))
    try:
        url = process.url + "/healthz"
        trust_old = client_context(old_ca.cert, client_a.cert, client_a.key)
        trust_new = client_context(new_ca.cert, client_a.cert, client_a.key)
        assert answers(url, trust_old)
        assert not answers(url, trust_new)
        with httpx.Client(verify=trust_old, timeout=5) as kept:
            assert kept.get(url).status_code == 200  # a keep-alive connection opened before

            # cert-manager style rotation: key and certificate files replaced
            rotated = new_ca.issue("server", server=True)
            replace(key, rotated.key.read_bytes())
            replace(cert, rotated.cert.read_bytes())
            wait_for(lambda: answers(url, trust_new), RELOAD_TIMEOUT, what="new certificate")
            assert not answers(url, trust_old)
            assert kept.get(url).status_code == 200  # open connections are not cut

        # client CA rotation: certificates of the old client CA must stop working
        with_b = client_context(new_ca.cert, client_b.cert, client_b.key)
        assert not answers(url, with_b)
        replace(client_ca, clients_b.pem())
        wait_for(lambda: answers(url, with_b), RELOAD_TIMEOUT, what="new client CA")
        assert not answers(url, trust_new)  # client_a's CA was removed, not added to
        assert "web config reloaded" in process.logs()
    finally:
        process.stop()


@pytest.mark.slow
def test_passwords_versions_and_invalid_versions(tmp_path: Path, upstream: Simulator) -> None:
    ca = Authority(tmp_path, "ca")
    server, client = ca.issue("server", server=True), ca.issue("scraper")
    web = tmp_path / "web.yml"
    users = f"basic_auth_users:\n  alice: {bcrypt_hash(FIRST)}\n"
    web.write_text(tls_config(server, ca.cert) + users)
    process = launch(env_for(upstream), ("--web.config.file", str(web)))
    url = process.url + "/healthz"
    context = client_context(ca.cert, client.cert, client.key)

    def status(password: str, tls: ssl.SSLContext = context) -> int:
        return httpx.get(url, verify=tls, auth=("alice", password), timeout=5).status_code

    try:
        assert status(FIRST) == 200
        assert status(SECOND) == 401
        replace(
            web,
            (
                tls_config(server, ca.cert) + f"basic_auth_users:\n  alice: {bcrypt_hash(SECOND)}\n"
            ).encode(),
        )
        wait_for(lambda: status(SECOND) == 200, RELOAD_TIMEOUT, what="new password")
        assert status(FIRST) == 401

        # an invalid version: logged, naming the problem; the previous one stays
        replace(web, web.read_bytes() + b"bogus_section: {}\n")
        wait_for(
            lambda: "the previous one stays in force" in process.logs(),
            RELOAD_TIMEOUT,
            what="rejection logged",
        )
        assert "unknown key(s) bogus_section" in process.logs()
        assert status(SECOND) == 200

        # turning TLS off while running is refused as well
        replace(web, f"basic_auth_users:\n  alice: {bcrypt_hash(THIRD)}\n".encode())
        wait_for(
            lambda: "turning TLS on or off needs a restart" in process.logs(),
            RELOAD_TIMEOUT,
            what="TLS switch refused",
        )
        assert status(SECOND) == 200

        # handshake settings change too: TLS 1.3 only
        tls12 = client_context(ca.cert, client.cert, client.key, maximum=ssl.TLSVersion.TLSv1_2)
        assert status(SECOND, tls12) == 200
        replace(
            web,
            (
                tls_config(server, ca.cert, "  min_version: TLS13\n")
                + f"basic_auth_users:\n  alice: {bcrypt_hash(SECOND)}\n"
            ).encode(),
        )

        def tls12_refused() -> bool:
            try:
                status(SECOND, tls12)
            except httpx.TransportError:
                return True
            return False

        wait_for(tls12_refused, RELOAD_TIMEOUT, what="TLS 1.2 refused")
        assert status(SECOND) == 200
    finally:
        process.stop()
    for password in (FIRST, SECOND, THIRD):
        assert password not in process.logs()
