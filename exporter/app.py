"""Wires config -> client -> collector -> exposition -> HTTP on one event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from . import __version__
from .collector import Collector
from .config import BasicCredentials, Settings, parse_listen_address
from .exposition import Exposition, render
from .focus.client import ClientOptions, FocusClient, basic, bearer
from .focus.quota import QuotaGuard
from .selfmetrics import SelfMetrics
from .snapshot import Snapshot
from .web import make_app, start_server
from .webconfig import WebSecurity

log = logging.getLogger(__name__)

TITLE = "Toggl Focus exporter"
SHUTDOWN_SECONDS = 4.0
SWITCH_INTERVAL_SECONDS = 0.001


def user_agent() -> str:
    """The User-Agent sent upstream."""
    return f"toggl-focus-exporter/{__version__} (+https://github.com/toggl-focus-exporter)"


def client_options(settings: Settings) -> ClientOptions:
    """Connection settings of the Focus client."""
    creds = settings.credentials
    if isinstance(creds, BasicCredentials):
        authorization = basic(creds.email.get_secret_value(), creds.password.get_secret_value())
    else:
        authorization = bearer(creds.token.get_secret_value())
    return ClientOptions(
        base_url=settings.api_url,
        organization_id=settings.organization_id,
        workspace_id=settings.workspace_id,
        authorization=authorization,
        user_agent=user_agent(),
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        max_response_bytes=settings.max_response_bytes,
    )


class Exporter:
    """The running service: holds the current exposition and serves it."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.guard = QuotaGuard(settings.request_budget, settings.quota_pause)
        self.metrics = SelfMetrics(self.guard.state)
        self.client = FocusClient(client_options(settings), self.guard, self.metrics)
        self.collector = Collector(settings, self.client, self.metrics, self.publish, clock)
        self._exposition = render(Snapshot(settings.workspace_id), self.metrics.registry)
        self.port = 0
        self._watcher: asyncio.Task[None] | None = None

    async def publish(self, snapshot: Snapshot) -> None:
        """Render ``snapshot`` off the event loop and swap it in."""
        self._exposition = await asyncio.to_thread(render, snapshot, self.metrics.registry)

    # MetricsSource -------------------------------------------------------------------

    def exposition(self) -> Exposition:
        """The latest rendered exposition."""
        return self._exposition

    def ready(self) -> bool:
        """True once a refresh brought data."""
        return self.collector.ready

    def facts(self) -> Sequence[tuple[str, str]]:
        """Landing page facts; no secret among them."""
        s = self.settings
        status = self.metrics.status
        plan = self.collector.plan
        last = (
            datetime.fromtimestamp(status.last_success, UTC).isoformat(timespec="seconds")
            if status.last_success
            else "never"
        )
        return (
            ("Version", __version__),
            ("Organization / workspace", f"{s.organization_id} / {s.workspace_id}"),
            (
                "Entities",
                f"{len(plan.user_ids)} user(s), {len(plan.ghost_ids)} ghost(s)"
                + (", discovery on" if s.discover else ""),
            ),
            ("Window", f"{plan.first} .. {plan.last} ({s.unit}, {s.timezone})"),
            ("Refresh interval", f"{plan.interval:g} s ({plan.requests} request(s) each)"),
            ("Last successful refresh", last),
            ("Series", str(self.collector.snapshot.series_count)),
            ("Last error", self.collector.last_error or "none"),
        )

    # Lifecycle -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, started: asyncio.Event | None = None) -> None:
        """Serve and refresh until ``stop`` is set; shut down within a few seconds."""
        host, port = parse_listen_address(self.settings.listen_address)
        ssl_context, middlewares = self._security()
        app = make_app(self, TITLE, middlewares)
        runner, self.port = await start_server(app, host, port, ssl_context)
        log.info("listening on %s:%d (version %s)", host, self.port, __version__)
        if started is not None:
            started.set()
        refresher = asyncio.create_task(self.collector.run(stop), name="refresh")
        try:
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({refresher, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if refresher.done() and not stop.is_set():
                refresher.result()
        finally:
            stop.set()
            refresher.cancel()
            await asyncio.gather(refresher, return_exceptions=True)
            await asyncio.wait_for(self._close(runner), SHUTDOWN_SECONDS)
            log.info("stopped")

    async def _close(self, runner: web.AppRunner) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        await runner.cleanup()
        await self.client.aclose()

    def _security(self) -> tuple[ssl.SSLContext | None, list[Middleware]]:
        """TLS and basic auth from ``--web.config.file``, re-read while running."""
        if self.settings.web_config_file is None:
            return None, []
        web_security = WebSecurity(self.settings.web_config_file)
        self._watcher = asyncio.create_task(web_security.watch(), name="web-config")
        return web_security.ssl_context, [web_security.middleware]


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop``."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine on uvloop where available."""
    # A worker thread busy with a refresh hands the GIL back to the event loop after
    # 1 ms instead of 5: /healthz and scrapes stay fast during refreshes (docs/performance.md).
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(main)
        return
    uvloop.run(main)
