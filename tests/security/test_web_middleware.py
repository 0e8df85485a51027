"""The web config's middleware on the real HTTP server: excluded paths, SAN allow-list,
rate limit, headers, and the bcrypt cache."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx
import pytest
from secsupport import client_context
from tlscerts import Authority, bcrypt_hash

from exporter.exposition import Exposition, render
from exporter.focus.quota import QuotaGuard
from exporter.selfmetrics import SelfMetrics
from exporter.snapshot import Snapshot
from exporter.web import make_app, start_server
from exporter.webconfig import WebSecurity, auth

PASSWORD = "s3cret-for-middleware"


class Source:
    """A stand-in for the exporter: an empty exposition, always ready."""

    def __init__(self) -> None:
        self._exposition = render(Snapshot(1), SelfMetrics(QuotaGuard(10, 60).state).registry)

    def exposition(self) -> Exposition:
        return self._exposition

    def ready(self) -> bool:
        return True

    def facts(self) -> Sequence[tuple[str, str]]:
        return (("Version", "test"),)


def serve(
    config: Path, client: Callable[[str, ssl.SSLContext | None], Awaitable[None]]
) -> WebSecurity:
    security = WebSecurity(config)

    async def main() -> None:
        app = make_app(Source(), "test", [security.middleware])
        runner, port = await start_server(app, "127.0.0.1", 0, security.ssl_context)
        scheme = "https" if security.ssl_context else "http"
        try:
            await client(f"{scheme}://127.0.0.1:{port}", security.ssl_context)
        finally:
            await runner.cleanup()

    asyncio.run(main())
    return security


def test_excluded_paths_rate_limit_and_headers(tmp_path: Path) -> None:
    web = tmp_path / "web.yml"
    web.write_text(
        f"basic_auth_users:\n  prom: {bcrypt_hash(PASSWORD)}\n"
        "auth_excluded_paths: [/healthz]\n"
        "rate_limit:\n  interval: 200ms\n  burst: 4\n"
        "http_server_config:\n  headers:\n    Content-Security-Policy: default-src 'none'\n"
    )

    async def client(url: str, _: ssl.SSLContext | None) -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(url + "/healthz")).status_code == 200  # no password needed
            denied = await http.get(url + "/metrics")
            assert denied.status_code == 401
            assert denied.headers["Content-Security-Policy"] == "default-src 'none'"
            assert (await http.get(url + "/metrics", auth=("prom", PASSWORD))).status_code == 200
            statuses = [(await http.get(url + "/healthz")).status_code for _ in range(6)]
            assert statuses.count(429) >= 2  # the burst of 4 is spent
            await asyncio.sleep(0.5)  # tokens come back at 5 per second
            assert (await http.get(url + "/healthz")).status_code == 200

    serve(web, client)


def test_bcrypt_runs_once_per_good_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  prom: {bcrypt_hash(PASSWORD, rounds=10)}\n")
    calls: list[bytes] = []
    real = auth._checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(password)
        return real(password, hashed)

    monkeypatch.setattr(auth, "_checkpw", counting)

    async def client(url: str, _: ssl.SSLContext | None) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            started = time.perf_counter()
            for _ in range(20):
                response = await http.get(url + "/metrics", auth=("prom", PASSWORD))
                assert response.status_code == 200
            assert time.perf_counter() - started < 2  # cost 10 is ~50 ms a check
            for _ in range(3):
                wrong = await http.get(url + "/metrics", auth=("prom", PASSWORD + "!"))
                assert wrong.status_code == 401
            unknown = await http.get(url + "/metrics", auth=("nobody", PASSWORD))
            assert unknown.status_code == 401

    serve(web, client)
    assert calls.count(PASSWORD.encode()) == 2  # the first good one, and "nobody" (stand-in)
    assert calls.count((PASSWORD + "!").encode()) == 3  # failures are never cached


def test_client_allowed_sans(tmp_path: Path) -> None:
    ca = Authority(tmp_path, "ca")
    server = ca.issue("server", server=True)
    allowed = ca.issue("allowed", sans=("prometheus.monitoring.svc",))
    other = ca.issue("other", sans=("intruder.example", "10.0.0.9"))
    by_ip = ca.issue("byip", sans=("192.0.2.7",))
    web = tmp_path / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {server.cert}\n  key_file: {server.key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca.cert}\n"
        "  client_allowed_sans: [prometheus.monitoring.svc, 192.0.2.7]\n"
        "auth_excluded_paths: [/healthz]\n"
    )

    async def client(url: str, _: ssl.SSLContext | None) -> None:
        async def get(pair_cert: Path, pair_key: Path, path: str) -> int:
            context = client_context(ca.cert, pair_cert, pair_key)
            async with httpx.AsyncClient(verify=context, timeout=5) as http:
                return (await http.get(url + path)).status_code

        assert await get(allowed.cert, allowed.key, "/metrics") == 200
        assert await get(by_ip.cert, by_ip.key, "/metrics") == 200
        assert await get(other.cert, other.key, "/metrics") == 403
        assert await get(other.cert, other.key, "/") == 403
        assert await get(other.cert, other.key, "/healthz") == 200  # excluded from auth

    serve(web, client)
