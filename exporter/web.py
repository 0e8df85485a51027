"""HTTP: ``/metrics``, ``/healthz``, ``/readyz`` and ``/`` on aiohttp.

Serves bytes rendered elsewhere; knows nothing of the Focus API. A scrape never waits
on the upstream or on a refresh: it reads the current :class:`Exposition` reference.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from typing import Protocol

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload
from aiohttp.typedefs import Middleware

from .exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, Exposition
from .landing import landing_page

#: Limits that keep hostile clients from growing memory (aiohttp's request parser).
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190
MAX_HEADERS = 64
KEEPALIVE_SECONDS = 30.0


class MetricsSource(Protocol):
    """What the HTTP layer needs from the rest of the exporter."""

    def exposition(self) -> Exposition:
        """The latest rendered exposition."""

    def ready(self) -> bool:
        """True once the first refresh brought data."""

    def facts(self) -> Sequence[tuple[str, str]]:
        """Label/value pairs shown on the landing page (never secrets)."""


def wants_openmetrics(accept: str) -> bool:
    """True when the Accept header lists OpenMetrics (as prometheus_client decides)."""
    return any(
        part.split(";")[0].strip() == "application/openmetrics-text" for part in accept.split(",")
    )


def accepts_gzip(accept_encoding: str) -> bool:
    """True when Accept-Encoding allows gzip (``gzip;q=0`` refuses it)."""
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().replace(" ", "")
            return q not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class ChunksPayload(Payload):
    """Pre-rendered body chunks, written in order as they are: no copy, no per-series work."""

    def __init__(self, parts: Sequence[bytes]) -> None:
        super().__init__(tuple(parts))
        self._size = sum(map(len, parts))

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The whole body as text (a copy; not used when serving)."""
        return b"".join(self._value).decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write every chunk; the writer applies back-pressure between them."""
        for part in self._value:
            await writer.write(part)


def make_app(
    source: MetricsSource, title: str, middlewares: Sequence[Middleware] = ()
) -> web.Application:
    """The aiohttp application with the four endpoints."""

    async def metrics(request: web.Request) -> web.Response:
        exposition = source.exposition()
        openmetrics = wants_openmetrics(request.headers.get("Accept", ""))
        compressed = accepts_gzip(request.headers.get("Accept-Encoding", ""))
        if compressed and not exposition.gzip_ready:
            # Compressed in the background right after a refresh: a fraction of a second.
            await asyncio.wrap_future(exposition.gzip_bodies)
        headers = {
            "Content-Type": OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE,
            "Vary": "Accept, Accept-Encoding",
            "Cache-Control": "no-store",
        }
        if compressed:
            headers["Content-Encoding"] = "gzip"
        body = ChunksPayload(exposition.parts(openmetrics, compressed))
        return web.Response(body=body, headers=headers)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        if source.ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready: no successful refresh yet\n")

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            body=landing_page(title, source.facts()),
            content_type="text/html",
            charset="utf-8",
        )

    app = web.Application(middlewares=list(middlewares), client_max_size=1024)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/", index)
    return app


async def start_server(
    app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    """Start serving; return the runner and the bound port (useful with port 0)."""
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=2.0,
        keepalive_timeout=KEEPALIVE_SECONDS,
        max_line_size=MAX_LINE_SIZE,
        max_field_size=MAX_FIELD_SIZE,
        max_headers=MAX_HEADERS,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_address=True)
    await site.start()
    addresses = runner.addresses
    bound = int(addresses[0][1]) if addresses else port
    return runner, bound
