"""The web config in force: TLS context, the request middleware, and reloading.

TLS reloads use one listening context whose SNI callback (called on every handshake,
with or without SNI) hands the handshake to the context built from the newest file: new
connections get the new certificate and client CAs; open connections are not touched.
Settings OpenSSL copies when a connection starts (client-certificate mode, versions,
ciphers) are also applied to the listening context.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..config import ConfigError
from .auth import REALM, BasicAuthenticator, TokenBucket
from .model import WebConfig, WebConfigError
from .parse import load_web_config
from .tls import apply_handshake_settings, make_ssl_context, peer_sans, same_san

log = logging.getLogger("exporter.webconfig")

#: How often the file and the files it names are looked at (seconds).
RELOAD_SECONDS = 2.0

Stamp = tuple[tuple[str, int, int, int] | None, ...]


def _stamp(paths: tuple[Path, ...]) -> Stamp:
    """What identifies the current version of each file (None: missing)."""
    stamps: list[tuple[str, int, int, int] | None] = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            stamps.append(None)
        else:
            stamps.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(stamps)


class WebSecurity:
    """The web config in force: TLS context, middleware, and the reload watcher."""

    def __init__(self, path: Path, config: WebConfig | None = None) -> None:
        self.path = path
        self.config = config if config is not None else load_web_config(path)
        self._stamp = _stamp(self.config.watched)
        self._auth = BasicAuthenticator(self.config.users)
        self._bucket = self._make_bucket(self.config)
        self.ssl_context: ssl.SSLContext | None = None
        self._current: ssl.SSLContext | None = None
        if self.config.tls is not None:
            self._current = make_ssl_context(self.config.tls)
            self.ssl_context = make_ssl_context(self.config.tls)
            self.ssl_context.sni_callback = self._select_context
        for note in self.config.notes:
            log.warning("web config: %s", note)
        log.info("web config %s: %s", path, self.config.describe())

    @staticmethod
    def _make_bucket(config: WebConfig) -> TokenBucket | None:
        if config.rate_interval <= 0:
            return None
        return TokenBucket(config.rate_interval, config.rate_burst)

    def _select_context(
        self, connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext
    ) -> None:
        if self._current is not None:
            connection.context = self._current

    # --- requests ---------------------------------------------------------------------------

    @property
    def middleware(self) -> Middleware:
        """The aiohttp middleware that enforces the config in force."""

        @web.middleware
        async def secure(request: web.Request, handler: Handler) -> web.StreamResponse:
            config = self.config
            try:
                if self._bucket is not None and not self._bucket.take():
                    raise web.HTTPTooManyRequests(text="too many requests\n")
                if request.path not in config.excluded_paths:
                    await self._authenticate(request, config)
                response = await handler(request)
            except web.HTTPException as exc:
                exc.headers.update(config.headers)
                raise
            response.headers.update(config.headers)
            return response

        return secure

    async def _authenticate(self, request: web.Request, config: WebConfig) -> None:
        tls = config.tls
        if tls is not None and tls.allowed_sans is not None:
            seen = peer_sans(request)
            if not any(same_san(a, s) for a in tls.allowed_sans for s in seen):
                raise web.HTTPForbidden(text="client certificate not allowed\n")
        if self._auth.enabled and not await self._auth.check(request.headers.get("Authorization")):
            raise web.HTTPUnauthorized(text="unauthorized\n", headers={"WWW-Authenticate": REALM})

    # --- reloading --------------------------------------------------------------------------

    def reload_if_changed(self) -> bool:
        """Re-read the file when it or a file it names changed; True if a new one is in force."""
        stamp = _stamp(self.config.watched)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            config = load_web_config(self.path)
            if (config.tls is None) != (self.config.tls is None):
                raise WebConfigError(
                    [f"--web.config.file {self.path}: turning TLS on or off needs a restart"]
                )
            context = make_ssl_context(config.tls) if config.tls is not None else None
        except (WebConfigError, ssl.SSLError, ValueError) as exc:
            problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
            log.error(
                "web config changed but is invalid; the previous one stays in force: %s",
                "; ".join(problems),
            )
            return False
        if context is not None and config.tls is not None and self.ssl_context is not None:
            apply_handshake_settings(self.ssl_context, config.tls)
            self._current = context
        self.config = config
        self._stamp = _stamp(config.watched)
        self._auth = BasicAuthenticator(config.users)
        self._bucket = self._make_bucket(config)
        for note in config.notes:
            log.warning("web config: %s", note)
        log.info("web config reloaded: %s", config.describe())
        return True

    async def watch(self, interval: float = RELOAD_SECONDS) -> None:
        """Poll for changes until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.reload_if_changed()
            except Exception:  # never let a reload bug stop the server
                log.exception("web config reload failed; the previous one stays in force")
