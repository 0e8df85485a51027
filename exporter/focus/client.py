"""The Focus API client on ``httpx.AsyncClient``: auth, budget, retries, error mapping.

Nothing here knows about Prometheus: every finished request is reported to a
:class:`RequestObserver` with its endpoint, outcome code and duration.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import httpx

from .batching import Batch, capacity_query_string
from .decoder import ReplyDecoder, decode_json
from .errors import (
    AuthFailed,
    BadReply,
    BudgetSpent,
    QuotaExhausted,
    TransportFailed,
    UpstreamFailed,
)
from .models import CapacityReply, InvalidReply, Person, parse_people
from .query import CapacityQuery
from .quota import QuotaGuard

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0
PAGE_SIZE = 100
MAX_PAGES = 200


class RequestObserver(Protocol):
    """Receives one call per upstream request attempt."""

    def request_done(self, endpoint: str, code: str, seconds: float) -> None:
        """Record an attempt: ``code`` is the HTTP status or a transport error name."""


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Connection-level settings of the client."""

    base_url: str
    organization_id: int
    workspace_id: int
    authorization: str
    user_agent: str
    timeout: float = 30.0
    max_retries: int = 2
    max_response_bytes: int = 64 * 1024 * 1024


def workspace_url(base_url: str, organization_id: int, workspace_id: int) -> str:
    """The URL prefix of one workspace."""
    return f"{base_url}/organizations/{organization_id}/workspaces/{workspace_id}"


def capacities_prefix(base_url: str, organization_id: int, workspace_id: int) -> str:
    """The capacities URL up to and including ``?`` (the group is always ``users``)."""
    return workspace_url(base_url, organization_id, workspace_id) + "/capacities/users?"


def bearer(token: str) -> str:
    """The ``Authorization`` value for an API key."""
    return f"Bearer {token}"


def basic(email: str, password: str) -> str:
    """The ``Authorization`` value for HTTP Basic with e-mail and password."""
    raw = f"{email}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def credential_forms(authorization: str) -> tuple[str, ...]:
    """Every form of the credentials in an ``Authorization`` value, longest first."""
    scheme, _, value = authorization.partition(" ")
    forms = [authorization, value]
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        forms += [decoded, *decoded.split(":", 1)]
    return tuple(sorted({f for f in forms if len(f) >= 4}, key=len, reverse=True))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` (from the upstream, which may echo the request) without the credentials."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _error_fields(body: bytes, secrets: tuple[str, ...] = ()) -> tuple[str, str]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    description = data.get("error_description") or data.get("error") or ""
    trace = data.get("trace_id") or ""
    return scrub(str(description), secrets)[:300], scrub(str(trace), secrets)[:100]


class FocusClient:
    """Calls the capacities and discovery endpoints within the quota."""

    def __init__(
        self,
        options: ClientOptions,
        guard: QuotaGuard,
        observer: RequestObserver,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.options = options
        self.guard = guard
        self._observer = observer
        self._sleep = sleep
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(options.timeout, connect=min(10.0, options.timeout)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            follow_redirects=False,
            trust_env=False,
        )
        self._headers = {
            "Authorization": options.authorization,
            "Accept": "application/json",
            "User-Agent": options.user_agent,
        }
        self.ghosts_supported: bool | None = None
        self._secrets = credential_forms(options.authorization)
        self._decoder = ReplyDecoder()

    @property
    def workspace_url(self) -> str:
        """The URL prefix of the configured workspace."""
        o = self.options
        return workspace_url(o.base_url, o.organization_id, o.workspace_id)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._decoder.aclose()
        await self._http.aclose()

    async def capacities(
        self, query: CapacityQuery, batch: Batch, start: date, end: date
    ) -> CapacityReply:
        """Fetch and parse one batch; parsing runs in a worker thread."""
        o = self.options
        prefix = capacities_prefix(o.base_url, o.organization_id, o.workspace_id)
        url = prefix + capacity_query_string(query, batch, start, end)
        body = await self._get("capacities", url)
        return await self._decoder.capacities(body, query.unit)

    async def users(self, id_field: str = "user_account_id") -> list[Person]:
        """Active users of the workspace, identified by ``id_field``, all pages."""
        people: list[Person] = []
        o = self.options
        for page in range(1, MAX_PAGES + 1):
            url = (
                f"{o.base_url}/organizations/{o.organization_id}/users?"
                f"workspaces={o.workspace_id}&active_status=active&page={page}"
                f"&per_page={PAGE_SIZE}"
            )
            rows = decode_json(await self._get("users", url))
            if not isinstance(rows, list):
                raise BadReply("users: expected a JSON array")
            people += _people(rows, "user", id_field, o.workspace_id)
            if len(rows) < PAGE_SIZE:
                break
        return people

    async def ghosts(self) -> list[Person] | None:
        """Ghosts of the workspace, or ``None`` where the endpoint does not exist (404)."""
        if self.ghosts_supported is False:
            return None
        people: list[Person] = []
        for page in range(1, MAX_PAGES + 1):
            url = f"{self.workspace_url}/ghosts?page={page}&per_page={PAGE_SIZE}"
            try:
                data = decode_json(await self._get("ghosts", url))
            except UpstreamFailed as exc:
                if exc.status in (404, 405, 501):
                    self.ghosts_supported = False
                    log.info(
                        "ghosts endpoint not available (HTTP %s); ghosts not discovered", exc.status
                    )
                    return None
                raise
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise BadReply("ghosts: expected an object with a 'data' array")
            rows = data["data"]
            people += _people(rows, "ghost", "id", None)
            total = data.get("total")
            if not rows or not isinstance(total, int) or len(people) >= total:
                break
        self.ghosts_supported = True
        return people

    async def _get(self, endpoint: str, url: str) -> bytes:
        attempt = 0
        while True:
            if not self.guard.try_acquire():
                paused = self.guard.paused_for()
                if paused:
                    raise BudgetSpent(f"upstream quota paused for {paused:.0f} s more")
                raise BudgetSpent("hourly request budget spent")
            try:
                status, headers, body = await self._send(endpoint, url)
            except TransportFailed:
                if attempt >= self.options.max_retries:
                    raise
            else:
                pause = self.guard.observe(status, headers)
                if status == 200:
                    return body
                description, trace_id = _error_fields(body, self._secrets)
                if pause is not None:
                    raise QuotaExhausted(status, pause)
                if status in (401, 403):
                    raise AuthFailed(status, description, trace_id)
                if status < 500 or attempt >= self.options.max_retries:
                    raise UpstreamFailed(status, description)
            attempt += 1
            backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**attempt)
            await self._sleep(backoff / 2 + random.uniform(0, backoff / 2))

    async def _send(self, endpoint: str, url: str) -> tuple[int, httpx.Headers, bytes]:
        started = time.perf_counter()
        code = "error"
        try:
            async with asyncio.timeout(self.options.timeout):
                status, headers, body = await self._stream(url)
            code = str(status)
            return status, headers, body
        except (TimeoutError, httpx.TimeoutException):
            code = "timeout"
            message = f"{endpoint}: timed out after {self.options.timeout:g} s"
            raise TransportFailed(message) from None
        except httpx.TransportError as exc:
            code = "connection_error"
            raise TransportFailed(f"{endpoint}: {type(exc).__name__}: {exc}") from None
        except BadReply:
            code = "invalid_body"
            raise
        finally:
            self._observer.request_done(endpoint, code, time.perf_counter() - started)

    async def _stream(self, url: str) -> tuple[int, httpx.Headers, bytes]:
        limit = self.options.max_response_bytes
        async with self._http.stream("GET", url, headers=self._headers) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BadReply(f"reply of {declared} bytes exceeds the {limit}-byte cap")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise BadReply(f"reply exceeds the {limit}-byte cap")
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)


def _people(
    rows: list[object], entity_type: str, id_field: str, workspace_id: int | None
) -> list[Person]:
    try:
        return parse_people(rows, entity_type, id_field, workspace_id)
    except InvalidReply as exc:
        raise BadReply(str(exc)) from None
