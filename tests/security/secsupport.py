"""Helpers of the security tests: an exporter behind TLS/basic auth, TLS clients."""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web
from support import ExporterProcess, start_exporter


def launch(
    env: Mapping[str, str], args: tuple[str, ...] = (), scheme: str = "https"
) -> ExporterProcess:
    """Start the exporter and wait for it to listen (no HTTP probe: it may need a client
    certificate or a password)."""
    return start_exporter(env, args, ready_path=None, scheme=scheme)


def client_context(
    ca: Path | None,
    cert: Path | None = None,
    key: Path | None = None,
    maximum: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A TLS client context trusting ``ca`` (or nothing), optionally with a client cert."""
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if ca is None:
        context.load_default_certs()
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    if maximum is not None:
        context.maximum_version = maximum
    return context


class EchoUpstream:
    """A hostile Focus API double that echoes the request's credentials back.

    Every reply quotes the ``Authorization`` header (and its decoded form) in the places
    the exporter reads: the error description, the trace id and the body. ``mode`` picks
    the reply: ``401``, ``500`` or ``json`` (a 200 whose body is not JSON).
    """

    def __init__(self, mode: str = "401") -> None:
        self.mode = mode
        self.hits = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _reply(self, request: web.Request) -> web.Response:
        self.hits += 1
        header = request.headers.get("Authorization", "")
        decoded = ""
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:]).decode(errors="replace")
        echo = f"bad credentials {header} ({decoded})"
        if self.mode == "json":
            return web.Response(text=f"<html>{echo}</html>", content_type="application/json")
        status = 500 if self.mode == "500" else 401
        body = {"error": "x", "error_description": echo, "trace_id": header}
        return web.json_response(body, status=status)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._reply)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api"

    def __enter__(self) -> EchoUpstream:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._thread is not None
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
