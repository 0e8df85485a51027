"""Slow or malicious HTTP clients cannot stall other clients or grow memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from faultsupport import Rig, rss_kib, running_rig, timed
from support import InProcessExporter, wait_for

from exporter import web
from exporter.config import load_settings
from exporter.simulator import SimulatorOptions, SimulatorThread

SLOW_CLIENTS = 200


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    with running_rig() as rig:
        yield rig


def raw(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes; return what the server answers before it closes (or times out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.") else 0


def test_slowloris_does_not_stall_other_clients(rig: Rig) -> None:
    port = rig.exporter.port
    pid = rig.exporter.proc.pid
    rss_before = rss_kib(pid)
    sockets = []
    for _ in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(sock)
    stop = threading.Event()

    def drip() -> None:  # one more header byte per connection every 0.2 s
        while not stop.is_set():
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")
            stop.wait(0.2)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        latencies = [timed(rig.exporter.metrics) for _ in range(20)]
        latencies += [timed(lambda: rig.exporter.get("/healthz")) for _ in range(20)]
        assert max(latencies) < 1.0, latencies
        assert rig.up() == 1
        assert rss_kib(pid) - rss_before < 30_000
    finally:
        stop.set()
        dripper.join(5)
        for sock in sockets:
            sock.close()


def test_half_open_connections_are_closed_by_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp closes a connection that has not sent a whole request within the keep-alive
    timeout (counted from the connection's start, not reset by drip-fed bytes)."""
    for key in list(os.environ):
        if key.startswith("TOGGL_FOCUS_"):
            monkeypatch.delenv(key)
    monkeypatch.setattr(web, "KEEPALIVE_SECONDS", 1.0)
    with SimulatorThread(SimulatorOptions(users=1, ghosts=0)) as sim:
        settings = load_settings(
            api_url=sim.base_url,
            api_token="demo-token",
            organization_id=1,
            workspace_id=1,
            user_ids="1001",
            refresh_interval=60,
            listen_address="127.0.0.1:0",
        )
        with InProcessExporter(settings) as running:
            with socket.create_connection(("127.0.0.1", running.exporter.port), timeout=10) as sock:
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                started = time.monotonic()
                closed = False
                sock.settimeout(0.25)
                while time.monotonic() - started < 6:
                    try:
                        sock.sendall(b"X")  # keep dripping
                        if sock.recv(1024) == b"":
                            closed = True
                            break
                    except TimeoutError:
                        continue
                    except OSError:
                        closed = True
                        break
                assert closed, "a drip-feeding client kept its connection"
                assert time.monotonic() - started < 4
            assert running.get("/healthz").status_code == 200


def test_huge_headers_and_request_lines_are_refused(rig: Rig) -> None:
    port = rig.exporter.port
    pid = rig.exporter.proc.pid
    rss_before = rss_kib(pid)
    big_header = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    many_headers = (
        b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(500))
        + b"\r\n"
    )
    long_line = b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(30):
        for request in (big_header, many_headers, long_line):
            reply = raw(port, request)
            assert status_of(reply) in (400, 413, 414, 431), reply[:100]
            assert b"toggl_focus" not in reply
    assert rig.up() == 1
    assert timed(rig.exporter.metrics) < 1.0
    assert rss_kib(pid) - rss_before < 30_000


@pytest.mark.parametrize(
    ("method", "status"),
    [("POST", 405), ("PUT", 405), ("DELETE", 405), ("PATCH", 405), ("TRACE", 405), ("FOO", 400)],
)
def test_unknown_methods_are_refused(rig: Rig, method: str, status: int) -> None:
    """Methods the router does not know get 405; ones HTTP does not know, 400 (parser)."""
    head = f"{method} /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
    reply = raw(rig.exporter.port, head.encode() + b"Connection: close\r\n\r\n")
    assert status_of(reply) == status
    assert b"toggl_focus_capacity" not in reply


def test_head_is_allowed(rig: Rig) -> None:
    assert httpx.head(rig.exporter.url + "/metrics").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        b"/../../etc/passwd",
        b"/metrics/../../../etc/passwd",
        b"/%2e%2e/%2e%2e/etc/passwd",
        b"/%00",
        b"/\xff\xfe",
        b"/" + b"x/" * 3000,
        b"/metrics?" + b"a=1&" * 1500,
        b"*",
        b"/.env",
        b"//metrics",
    ],
)
def test_absurd_paths(rig: Rig, target: bytes) -> None:
    reply = raw(
        rig.exporter.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    status = status_of(reply)
    assert status in (200, 400, 404), reply[:200]
    assert b"root:" not in reply
    if status == 200:  # only a query string on /metrics may still be served
        assert target.startswith(b"/metrics?")
    assert rig.exporter.get("/healthz").status_code == 200


def test_oversized_body_does_not_stall_the_server(rig: Rig) -> None:
    """A body announced but never sent: the answer comes, others are served meanwhile."""

    async def run() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.exporter.port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
        await writer.drain()
        try:
            async with asyncio.timeout(5):
                await reader.readuntil(b"\r\n\r\n")
        finally:
            writer.close()

    async def others() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(10):
                assert (await client.get(rig.exporter.url + "/healthz")).status_code == 200

    async def both() -> None:
        await asyncio.gather(run(), others())

    asyncio.run(both())
    wait_for(lambda: rig.up() == 1, what="exporter still up")
