"""The control endpoint (/_simulator/...) for tests that run the simulator out of process.

Control requests need no credentials, are not counted against the quota, are not recorded
and are never hit by faults.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .server import Simulator

_Action = Callable[[dict[str, Any]], object]


def control_routes(simulator: Simulator, prefix: str) -> list[web.RouteDef]:
    """Routes of the control endpoint."""

    def fault(body: dict[str, Any]) -> object:
        name = body.pop("fault", None)
        count = body.pop("count", None)
        simulator.set_fault(name, count=count, **body)
        return None

    def values(body: dict[str, Any]) -> object:
        day = body.get("date")
        fields = body.get("fields", {})
        if not isinstance(fields, dict):
            raise ValueError("fields must be an object of field name to minutes (or null)")
        simulator.set_values(
            str(body["entity_type"]),
            int(body["entity_id"]),
            datetime.date.fromisoformat(day) if day else None,
            **fields,
        )
        return None

    def load(body: dict[str, Any]) -> object:
        simulator.set_load(str(body["entity_type"]), int(body["entity_id"]), float(body["factor"]))
        return None

    def entities(body: dict[str, Any]) -> object:
        simulator.set_entities(body.get("users"), body.get("ghosts"))
        return None

    def reset(body: dict[str, Any]) -> object:
        simulator.reset()
        return None

    def reset_quota(body: dict[str, Any]) -> object:
        simulator.reset_quota()
        return None

    async def requests(request: web.Request) -> web.Response:
        return web.json_response([r.to_json() for r in list(simulator.requests)])

    async def names(request: web.Request) -> web.Response:
        listing = [
            {"type": kind, "id": entity_id, "name": name}
            for (kind, entity_id), name in simulator.entity_names().items()
        ]
        return web.json_response(listing)

    return [
        web.post(prefix + "/fault", _posted(fault)),
        web.post(prefix + "/values", _posted(values)),
        web.post(prefix + "/load", _posted(load)),
        web.post(prefix + "/entities", _posted(entities)),
        web.post(prefix + "/reset", _posted(reset)),
        web.post(prefix + "/quota/reset", _posted(reset_quota)),
        web.get(prefix + "/requests", requests),
        web.get(prefix + "/entities", names),
    ]


def _posted(action: _Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler that runs action on the JSON object posted; 400 with the reason on error."""

    async def handler(request: web.Request) -> web.Response:
        text = await request.text()
        try:
            body = json.loads(text) if text.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            action(body)
        except (ValueError, KeyError, TypeError) as exc:
            error = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            return web.json_response({"ok": False, "error": error}, status=400)
        return web.json_response({"ok": True})

    return handler
