"""The simulated Focus API: an aiohttp application that speaks real HTTP on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import BasicAuth, web
from aiohttp.typedefs import Handler

from . import params
from .control import control_routes
from .corrupt import corrupt
from .data import CapacityModel, Figure, Generator
from .directory import envelope, ghost_name, ghost_record, team_records, user_name, user_record
from .faults import DATA_FAULTS, ENDPOINTS, ArmedFault, Fault, FaultSwitch, arm
from .options import FIRST_GHOST_ID, FIRST_USER_ID, SimulatorOptions
from .params import ApiError, CapacityQuery, ValidationError
from .quota import SlidingQuota
from .records import RecordedRequest
from .replies import error_reply, fault_reply, json_reply

API_PREFIX = "/api"
CONTROL_PREFIX = "/_simulator"
ENTITY_TYPES = ("user", "ghost")
EXTRA_ENTITY_FIELD = "workspace_id"  # unknown to clients: must be ignored
_FAULT_KEY = web.RequestKey("simulator_fault", ArmedFault)
_ORG = API_PREFIX + "/organizations/{organization_id}"
_WORKSPACE = _ORG + "/workspaces/{workspace_id}"


class Simulator:
    """A test double of the Toggl Focus API (see docs/simulator.md)."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        opts = self.options
        self._zone = ZoneInfo(opts.timezone)
        self.requests: list[RecordedRequest] = []
        self.base_url = ""
        self.host = ""
        self.port = 0
        self._faults = FaultSwitch()
        self._quota = SlidingQuota(opts.hourly_quota, opts.quota_window_seconds)
        overbooked = {("user", i) for i in opts.user_ids()[: opts.overbooked_users]}
        overbooked |= {("ghost", i) for i in opts.ghost_ids()[: opts.overbooked_ghosts]}
        self._model = CapacityModel(
            Generator(opts.seed, overbooked, FIRST_USER_ID),
            opts.fields,
            opts.zero_past,
            opts.extra_fields,
        )
        self._users: tuple[int, ...] = ()
        self._ghosts: tuple[int, ...] = ()
        self._user_set: frozenset[int] = frozenset()
        self._ghost_set: frozenset[int] = frozenset()
        self.set_entities(opts.user_ids(), opts.ghost_ids())
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._traces = itertools.count(1)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0: any free port) on the running loop; returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        self._closing = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(control_routes(self, CONTROL_PREFIX))
        app.router.add_get(_WORKSPACE + "/capacities/{group}", self._capacities, name="capacities")
        app.router.add_get(_ORG + "/users", self._users_listing, name="users")
        app.router.add_get(_ORG + "/teams", self._teams_listing, name="teams")
        app.router.add_get(_WORKSPACE + "/ghosts", self._ghosts_listing, name="ghosts")
        app.router.add_route("*", "/{tail:.*}", self._not_found, name="other")
        runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=True,
            max_line_size=self.options.max_request_line,
            shutdown_timeout=0.5,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.host, self.port = str(address[0]), int(address[1])
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{url_host}:{self.port}{API_PREFIX}"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening and end hung replies; connections are refused until start() again."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()
        await runner.cleanup()

    @property
    def running(self) -> bool:
        """Whether the simulator is listening."""
        return self._runner is not None

    # --- control ---------------------------------------------------------------------------

    def count(self, endpoint: str | None = None) -> int:
        """Number of API requests received (for one endpoint, or all)."""
        return sum(1 for r in list(self.requests) if endpoint is None or r.endpoint == endpoint)

    def set_fault(
        self, fault: Fault | str | None, *, count: int | None = None, **params: Any
    ) -> None:
        """Arm a fault for the next count API requests (None: until cleared); None clears."""
        self._faults.set(None if fault is None else arm(fault, params), count)

    def set_values(
        self,
        entity_type: str,
        entity_id: int,
        date: datetime.date | None = None,
        **fields: float | None,
    ) -> None:
        """Override figures (minutes) of one entity, on one date or all; None omits a field."""
        self._check_type(entity_type)
        values: dict[str, Figure | None] = dict(fields)
        self._model.set_values(entity_type, entity_id, date, values)

    def set_load(self, entity_type: str, entity_id: int, factor: float) -> None:
        """Scale the planned minutes of one entity (0.5 removes overbooking)."""
        self._check_type(entity_type)
        self._model.set_load(entity_type, entity_id, factor)

    def set_entities(self, users: list[int] | None = None, ghosts: list[int] | None = None) -> None:
        """Replace the known users and/or ghosts; requested unknown ids are not returned."""
        if users is not None:
            self._users = tuple(dict.fromkeys(users))
            self._user_set = frozenset(self._users)
        if ghosts is not None:
            self._ghosts = tuple(dict.fromkeys(ghosts))
            self._ghost_set = frozenset(self._ghosts)

    def entity_names(self) -> dict[tuple[str, int], str]:
        """Names of the known entities, as the discovery endpoints report them."""
        names = {("user", i): user_name(i, FIRST_USER_ID) for i in self._users}
        names.update({("ghost", i): ghost_name(i, FIRST_GHOST_ID) for i in self._ghosts})
        return names

    def reset_quota(self) -> None:
        """Forget the requests counted against the hourly quota."""
        self._quota.reset()

    def reset(self) -> None:
        """Back to the initial state: no fault, overrides, loads or recorded requests."""
        self._faults.set(None)
        self._model.clear()
        self._quota.reset()
        self.requests.clear()
        self.set_entities(self.options.user_ids(), self.options.ghost_ids())

    def today(self) -> datetime.date:
        """Today in the configured time zone (or the fixed date of the options)."""
        if self.options.today is not None:
            return self.options.today
        return datetime.datetime.now(self._zone).date()

    @staticmethod
    def _check_type(entity_type: str) -> None:
        if entity_type not in ENTITY_TYPES:
            raise ValueError(f"entity_type must be one of {ENTITY_TYPES}")

    # --- request pipeline ------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            return await handler(request)
        name = request.match_info.route.name
        endpoint = name if name in ENDPOINTS else "other"
        record = RecordedRequest(
            request.method, request.path, list(request.query.items()), endpoint, 0, time.monotonic()
        )
        self.requests.append(record)
        armed = self._faults.take(endpoint)
        delay = self.options.latency_seconds
        if armed is not None and armed.fault is Fault.LATENCY:
            delay += float(armed.params["seconds"])
        if armed is not None and armed.fault is Fault.HANG:
            await self._pause(float(armed.params["seconds"]))
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=504)  # never sent: the connection is closed
        await self._pause(delay)
        reply = await self._serve(request, handler, armed)
        record.status = reply.status
        return reply

    async def _serve(
        self, request: web.Request, handler: Handler, armed: ArmedFault | None
    ) -> web.StreamResponse:
        if not self._quota.admit():
            values = {"limit": self._quota.limit}
            return error_reply(402, "quota exceeded", self._trace(), values, self._quota.headers())
        quota_headers = self._quota.headers()
        if armed is not None and armed.fault in DATA_FAULTS:
            request[_FAULT_KEY] = armed
        elif armed is not None and armed.fault is not Fault.LATENCY:
            return await fault_reply(
                request,
                armed,
                quota_headers,
                self._trace(),
                self.options.response_shape,
                lambda: self._answer(request, handler, quota_headers),
                self._closing,
            )
        return await self._answer(request, handler, quota_headers)

    async def _answer(
        self, request: web.Request, handler: Handler, quota_headers: dict[str, str]
    ) -> web.Response:
        """Authenticate, then the endpoint's own reply (or its error reply)."""
        if not self._authorized(request.headers.get("Authorization")):
            scheme = "Bearer" if self.options.token is not None else 'Basic realm="Toggl Focus"'
            headers = {**quota_headers, "WWW-Authenticate": scheme}
            return error_reply(401, "invalid or missing credentials", self._trace(), {}, headers)
        try:
            reply = await handler(request)
        except ApiError as exc:
            return error_reply(
                exc.status, exc.description, self._trace(), exc.values, quota_headers
            )
        if not isinstance(reply, web.Response):
            raise TypeError("API handlers must return a complete web.Response")
        reply.headers.update(quota_headers)
        return reply

    def _authorized(self, header: str | None) -> bool:
        opts = self.options
        if not header:
            return False
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and opts.token is not None:
            return hmac.compare_digest(credentials.strip().encode(), opts.token.encode())
        if scheme.lower() == "basic" and opts.email is not None and opts.password is not None:
            try:
                auth = BasicAuth.decode(header, encoding="utf-8")
            except ValueError:
                return False
            login_ok = hmac.compare_digest(auth.login.encode(), opts.email.encode())
            password_ok = hmac.compare_digest(auth.password.encode(), opts.password.encode())
            return login_ok and password_ok
        return False

    async def _pause(self, seconds: float) -> None:
        """Sleep, but end early when the server stops."""
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _trace(self) -> str:
        """A deterministic trace id for an error body."""
        seed = f"{self.options.seed}:{next(self._traces)}".encode()
        return hashlib.blake2b(seed, digest_size=16).hexdigest()

    # --- endpoints -------------------------------------------------------------------------

    def _scope(self, request: web.Request, workspace: bool) -> None:
        """403 for another organization, 404 for another workspace."""
        organization_id = _path_id(request, "organization_id")
        if organization_id != self.options.organization_id:
            raise ApiError(
                403,
                "user does not have access to this organization",
                {"organization_id": organization_id},
            )
        if workspace:
            workspace_id = _path_id(request, "workspace_id")
            if workspace_id != self.options.workspace_id:
                raise ApiError(404, "workspace not found", {"workspace_id": workspace_id})

    async def _capacities(self, request: web.Request) -> web.Response:
        self._scope(request, workspace=True)
        group = request.match_info["group"]
        if group != "users":
            raise ValidationError("group must be users", {"field": "group", "value": group})
        query = params.capacity_query(request.query, self.options.accept_repeated_ids)
        today = self.today()
        wanted = [("user", i) for i in query.user_ids if i in self._user_set]
        wanted += [("ghost", i) for i in query.ghost_ids if i in self._ghost_set]
        armed = request.get(_FAULT_KEY)
        if armed is None:
            parts = [self._entity_json(kind, i, query, today) for kind, i in wanted]
        else:
            parts = [json.dumps(e) for e in self._corrupted(wanted, query, today, armed)]
        inner = ",".join(parts)
        body = (
            '{"items":[' + inner + "]}"
            if self.options.response_shape == "items"
            else ("[" + inner + "]")
        )
        return json_reply(body)

    def _entity_head(self, entity_type: str, entity_id: int) -> dict[str, object]:
        head: dict[str, object] = {"id": entity_id, "type": entity_type}
        if self.options.extra_fields:
            head[EXTRA_ENTITY_FIELD] = self.options.workspace_id
        return head

    def _entity_json(
        self, entity_type: str, entity_id: int, query: CapacityQuery, today: datetime.date
    ) -> str:
        """One entity as JSON: the encoded head with the (cached) computations spliced in."""
        computations = self._model.computations_json(
            entity_type, entity_id, query.start, query.end, query.unit, today
        )
        head = json.dumps(self._entity_head(entity_type, entity_id), separators=(",", ":"))
        return head[:-1] + ',"computations":' + computations + "}"

    def _corrupted(
        self,
        wanted: list[tuple[str, int]],
        query: CapacityQuery,
        today: datetime.date,
        armed: ArmedFault,
    ) -> list[dict[str, object]]:
        def computations(entity_type: str, entity_id: int) -> list[dict[str, object]]:
            return self._model.computations(
                entity_type, entity_id, query.start, query.end, query.unit, today
            )

        entities = [
            {**self._entity_head(kind, i), "computations": computations(kind, i)}
            for kind, i in wanted
        ]
        return corrupt(
            entities, armed, query.start, query.end, query.unit, lambda i: computations("user", i)
        )

    async def _users_listing(self, request: web.Request) -> web.Response:
        self._scope(request, workspace=False)
        query = request.query
        page, per_page = params.paging(query)
        workspaces = params.id_list(query, "workspaces")
        statuses = [s for s in params.csv_values(query, "active_status") if s]
        accounts = params.id_list(query, "user_account_ids")
        users = list(self._users)
        if (workspaces and self.options.workspace_id not in workspaces) or (
            statuses and "active" not in statuses
        ):
            users = []
        if accounts:
            users = [u for u in users if u in accounts]
        if _descending(query):
            users.reverse()
        opts = self.options
        records = [
            user_record(
                opts.organization_id,
                opts.workspace_id,
                u,
                user_name(u, FIRST_USER_ID),
                self._model.generator.daily_minutes("user", u),
            )
            for u in users[(page - 1) * per_page : page * per_page]
        ]
        return json_reply(json.dumps(records))

    async def _teams_listing(self, request: web.Request) -> web.Response:
        self._scope(request, workspace=False)
        query = request.query
        workspace = params.single(query, "workspace_id")
        if not workspace:
            raise ValidationError("workspace_id is required", {"field": "workspace_id"})
        if workspace != str(self.options.workspace_id):
            raise ApiError(403, "user does not have permission to view groups", {})
        page, per_page = params.paging(query)
        members = [(u, user_name(u, FIRST_USER_ID)) for u in self._users]
        teams = team_records(self.options.organization_id, self.options.workspace_id, members)
        return json_reply(json.dumps(envelope(teams, page, per_page)))

    async def _ghosts_listing(self, request: web.Request) -> web.Response:
        self._scope(request, workspace=True)
        page, per_page = params.paging(request.query)
        ghosts = [
            ghost_record(self.options.workspace_id, g, ghost_name(g, FIRST_GHOST_ID))
            for g in self._ghosts
        ]
        return json_reply(json.dumps(envelope(ghosts, page, per_page)))

    async def _not_found(self, request: web.Request) -> web.Response:
        return error_reply(404, "not found", self._trace(), {"path": request.path})


def _path_id(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ValidationError(f"{name} must be an integer", {"field": name, "value": text})
    return int(text)


def _descending(query: params.Query) -> bool:
    direction = (params.single(query, "sort_dir") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise ValidationError("sort_dir must be asc or desc", {"field": "sort_dir"})
    return direction == "desc"
